"""Production settings refuse unsafe defaults and pass `check --deploy`; the environment picks the backends."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def manage(*args, **env):
    chosen_by_env = {"SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "MILVUS_URI"}
    full_env = {k: v for k, v in os.environ.items() if k not in chosen_by_env}  # CI's second run sets some
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120
    )


STRONG_KEY = "k" * 20 + "-Zq8#x2!vR7pL0mN4wS9tY6uE3iO1aB5cD"  # 55 characters, 32 distinct
HOW_TO_MAKE_ONE = "get_random_secret_key"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "django-insecure-abc"}, "published example or development key"),
        ({"SECRET_KEY": "django-insecure-embedded-mode-only-not-for-production"}, "published example"),
        ({"SECRET_KEY": "change-me-to-50-random-characters"}, "published example"),  # .env.example's
        ({"SECRET_KEY": "Zq8#x2!vR7pL0mN4wS9tY6uE3iO1aB5cD"}, "too short (33 characters, at least 50)"),
        ({"SECRET_KEY": "x" * 60}, "too few distinct characters (1, at least 10)"),
        ({"SECRET_KEY": "abcdefgh" * 8}, "too few distinct characters (8, at least 10)"),
        ({"SECRET_KEY": STRONG_KEY}, "ALLOWED_HOSTS must list"),  # the key passes: the next check speaks
    ],
)
def test_production_refuses_to_start_without_secrets(env, message, tmp_path):
    result = manage("check", DJANGO_SETTINGS_MODULE="recsite.settings.production", RECSITE_VAR_DIR=str(tmp_path), **env)
    assert result.returncode != 0
    assert message in result.stderr
    if "SECRET_KEY" in message or "characters" in message or "example" in message:
        assert HOW_TO_MAKE_ONE in result.stderr  # the message says how to make a key
        assert not env.get("SECRET_KEY") or env["SECRET_KEY"] not in result.stderr  # and never prints the key


def test_a_generated_key_is_accepted_by_production(tmp_path):
    """Keys made as the message says pass, every time (their distinct characters are far above the floor)."""
    from django.core.management.utils import get_random_secret_key

    keys = [get_random_secret_key() for _ in range(2000)]
    assert min(len(set(key)) for key in keys) >= 20  # the floor of 10 distinct characters never refuses one
    result = manage("check", "--deploy", DJANGO_SETTINGS_MODULE="recsite.settings.production",
                    SECRET_KEY=keys[0], ALLOWED_HOSTS="recsite.example.org", RECSITE_VAR_DIR=str(tmp_path))  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]


def test_production_passes_check_deploy(tmp_path):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SETTINGS_MODULE="recsite.settings.production",
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="recsite.example.org",
        RECSITE_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_environment_selects_database_and_cache(tmp_path):
    code = (
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'], s.CACHES['default']['BACKEND'])"
    )
    base = {"DJANGO_SETTINGS_MODULE": "recsite.settings.local", "RECSITE_VAR_DIR": str(tmp_path)}
    default = manage("shell", "-c", code, **base)
    assert "sqlite3" in default.stdout and str(tmp_path) in default.stdout and "LocMemCache" in default.stdout
    env = {
        **base,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/recsite",
        "REDIS_URL": "redis://127.0.0.1:6379/3",
    }
    scaled = manage("shell", "-c", code, **env)
    assert "django.db.backends.postgresql recsite core.cache.ResilientRedisCache" in scaled.stdout


def test_the_limits_count_in_a_store_every_web_process_shares(tmp_path):
    """LIMITS_CACHE (log-in failures, API throttles): files under var/limits on the embedded default, the same Redis
    with REDIS_URL; never local memory, which is per process (tests/faults/test_shared_limits.py runs gunicorn)."""
    code = "from django.conf import settings as s; c = s.CACHES[s.LIMITS_CACHE]; print(c['BACKEND'], c['LOCATION'])"
    base = {"DJANGO_SETTINGS_MODULE": "recsite.settings.local", "RECSITE_VAR_DIR": str(tmp_path)}
    default = manage("shell", "-c", code, **base)
    assert default.stdout.splitlines()[-1].split() == ["core.cache.SharedFileCache", str(tmp_path / "limits")], (
        default.stderr
    )
    scaled = manage("shell", "-c", code, **base, REDIS_URL="redis://127.0.0.1:6379/3")
    assert scaled.stdout.splitlines()[-1].split() == [
        "core.cache.ResilientRedisCache",
        "redis://127.0.0.1:6379/3",
    ], scaled.stderr


def test_sqlite_queues_concurrent_writers_and_postgres_options_are_unchanged(tmp_path):
    code = (
        "import json; from django.conf import settings as s; from django.db import connection as c;"
        "mode = c.cursor().execute('PRAGMA journal_mode').fetchone()[0] if c.vendor == 'sqlite' else None;"
        "print(json.dumps({'options': s.DATABASES['default'].get('OPTIONS', {}), 'journal_mode': mode}))"
    )
    base = {"DJANGO_SETTINGS_MODULE": "recsite.settings.local", "RECSITE_VAR_DIR": str(tmp_path)}
    default = json.loads(manage("shell", "-c", code, **base).stdout.strip().splitlines()[-1])
    assert default["options"]["transaction_mode"] == "IMMEDIATE"
    assert default["options"]["timeout"] >= 5
    assert "synchronous=NORMAL" in default["options"]["init_command"]
    assert default["journal_mode"] == "wal"
    scaled = manage("shell", "-c", code, **base, DATABASE_URL="postgres://postgres@127.0.0.1:5432/recsite")
    assert json.loads(scaled.stdout.strip().splitlines()[-1])["options"] == {}, scaled.stderr[-2000:]


def test_base_is_safe_by_default_and_local_adds_the_development_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv("DEBUG", raising=False)
    code = "import json; from django.conf import settings as s; print(json.dumps([s.DEBUG, s.ALLOWED_HOSTS]))"
    quiet = {"RECSITE_VAR_DIR": str(tmp_path), "RECSITE_ENV_FILE": "/dev/null"}  # no .env file either
    base = manage("shell", "-c", code, DJANGO_SETTINGS_MODULE="recsite.settings.base", **quiet)
    assert json.loads(base.stdout.strip().splitlines()[-1]) == [False, []], base.stderr[-2000:]
    signing = manage("shell", "-c", "from django.core import signing; signing.dumps(1)",
                     DJANGO_SETTINGS_MODULE="recsite.settings.base", **quiet)  # fmt: skip
    assert signing.returncode != 0 and "SECRET_KEY" in signing.stderr  # no key to sign with
    local = manage("shell", "-c", code, DJANGO_SETTINGS_MODULE="recsite.settings.local", **quiet)
    assert json.loads(local.stdout.strip().splitlines()[-1]) == [True, ["127.0.0.1", "localhost", "testserver"]]
