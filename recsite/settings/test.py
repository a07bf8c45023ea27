"""Test settings: the local (development) settings with fast hashing and an isolated var/ folder per run."""

import os
import tempfile
from pathlib import Path

from .local import *  # noqa: F403

# Each test run writes artifacts and Milvus Lite files into its own temporary folder.
TEST_VAR_DIR = Path(os.environ.get("RECSITE_TEST_VAR_DIR") or tempfile.mkdtemp(prefix="recsite-test-"))
MODEL_DIR = TEST_VAR_DIR / "models"
MILVUS_URI = os.environ.get("MILVUS_URI") or str(TEST_VAR_DIR / "milvus.db")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "10000/minute", "user": "10000/minute"}}  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Celery worker tests (tests/jobs) start a real worker process: it must open the same database, so SQLite
# tests use a file (not :memory:), and the embedded broker is a SQLite file in this run's folder.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(TEST_VAR_DIR / "test-db.sqlite3")}  # noqa: F405
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or f"sqla+sqlite:///{TEST_VAR_DIR / 'celery-broker.sqlite3'}"
BATCH_DIR = TEST_VAR_DIR / "batch"
TRAINING_CONFIG_DIR = TEST_VAR_DIR / "configs"

# The limits' store (base.py: files under var/limits without REDIS_URL) is, in the test process, the default cache's
# local memory itself (the same LOCATION is the same store), so that tests/conftest.py's cache.clear() also clears
# the log-in failures and throttle counts between tests. Tests with real gunicorn processes use the base settings.
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache":  # noqa: F405
    CACHES = {**CACHES, LIMITS_CACHE: dict(CACHES["default"])}  # noqa: F405
