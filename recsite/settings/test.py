"""Test settings: the base settings with fast hashing and an isolated var/ folder per run."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403

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
