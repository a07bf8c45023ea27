"""/healthz and /readyz, in-process and in real processes whose database, cache or Milvus is unreachable."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import django, json
django.setup()
from django.test import Client
response = Client().get("/readyz")
print(json.dumps({"code": response.status_code, **response.json()}))
"""


def probe(tmp_path: Path, **environment) -> dict:
    """GET /readyz in a fresh process with these settings (a real failure, no mock)."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "MILVUS_URI"}}
    env.update(DJANGO_SETTINGS_MODULE="recsite.settings.local", RECSITE_VAR_DIR=str(tmp_path),
               ALLOWED_HOSTS="testserver", MILVUS_TIMEOUT="2", **environment)  # fmt: skip
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_healthz_answers_without_touching_the_database(client):
    response = client.get("/healthz")  # no django_db mark: any database access would raise here
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_readyz_reports_each_check(client):
    body = client.get("/readyz").json()
    assert body["status"] == "ok" and set(body["checks"]) == {"database", "cache", "vectors"}
    assert all(check["ok"] and check["ms"] >= 0 for check in body["checks"].values())
    assert body["checks"]["vectors"]["live_version"] is None  # nothing indexed in this test database


@pytest.mark.slow(reason="a real process waits out an unreachable database")
def test_readyz_is_503_when_the_database_does_not_answer(tmp_path):
    body = probe(tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:1/recsite")
    assert body["code"] == 503 and body["status"] == "unavailable"
    assert not body["checks"]["database"]["ok"] and "OperationalError" in body["checks"]["database"]["error"]


@pytest.mark.slow(reason="a real process waits out unreachable Redis and Milvus")
def test_readyz_stays_200_degraded_without_redis_and_milvus(tmp_path):
    body = probe(tmp_path, REDIS_URL="redis://127.0.0.1:1/0", MILVUS_URI="http://127.0.0.1:1")
    assert body["code"] == 200 and body["status"] == "degraded"  # the site still serves (popularity, no cache)
    assert body["checks"]["database"]["ok"]
    assert not body["checks"]["cache"]["ok"] and not body["checks"]["vectors"]["ok"]
