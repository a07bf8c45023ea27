"""Enqueueing is atomic: when the broker cannot be reached, the version or batch job is failed at once with the
reason and the training lock is free again (it used to stay "queued", blocking retrains for 6 hours).

A real process with CELERY_BROKER_URL at a closed loopback port (no mock of the broker) clicks Retrain in the
admin and calls the API on this run's test database; this test then reads what it left in the database.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from recommender.models import BatchJob, ModelVersion
from recommender.selectors import model_version_running
from tests.support import child_database_url, free_port

pytestmark = [
    pytest.mark.slow(reason="real Django processes enqueue against a closed broker port"),
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]
CLICKS = """
import json, time
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

staff = get_user_model().objects.get(username="boss")
api, site = APIClient(), Client()
api.force_authenticate(staff)
site.force_login(staff)
seen = {}

def timed(name, call):
    started = time.monotonic()
    response = call()
    seen[name] = {"status": response.status_code, "seconds": time.monotonic() - started,
                  "content": response.content.decode()[-20000:]}

timed("api train", lambda: api.post("/api/models/train/", {}, format="json"))
timed("api train again", lambda: api.post("/api/models/train/", {}, format="json"))
timed("admin retrain", lambda: site.post(reverse("admin:recommender_modelversion_retrain"), follow=True))
timed("api batch job", lambda: api.post("/api/batch-jobs/", {"all": True, "k": 5}, format="json"))
timed("api vector sync", lambda: api.post("/api/vectors/sync/"))
print("SEEN", json.dumps(seen))
"""


@pytest.fixture
def clicks_with_the_broker_down(tmp_path):
    """Runs CLICKS in a process whose broker is a closed port; returns (what it saw, the broker address)."""
    get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-boss-123")
    ModelVersion.objects.create(number=1, status=ModelVersion.Status.ACTIVE)  # batch jobs and sync need one
    broker = f"127.0.0.1:{free_port()}"  # nothing listens there
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "RECSITE_", "DJANGO_", "REDIS_"))}
    env = {
        **keep,
        "DJANGO_SETTINGS_MODULE": "recsite.settings.local",
        "RECSITE_ENV_FILE": os.devnull,
        "RECSITE_VAR_DIR": str(tmp_path),
        "DATABASE_URL": child_database_url(),
        "CELERY_BROKER_URL": f"redis://{broker}/0",
        "ALLOWED_HOSTS": "testserver",
    }
    argv = [sys.executable, "manage.py", "shell", "-v", "0", "-c", CLICKS]
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("SEEN "))
    return json.loads(line.split(" ", 1)[1]), broker


def test_a_retrain_the_broker_never_got_is_failed_at_once_and_frees_the_lock(clicks_with_the_broker_down):
    seen, broker = clicks_with_the_broker_down

    for name, number in [("api train", 2), ("api train again", 3)]:  # the second is not refused by the lock
        assert seen[name]["status"] == 503, seen[name]
        answer = json.loads(seen[name]["content"])
        assert answer["extra"] == {"model_version": number}
        assert f"model version {number} was not queued" in answer["message"] and broker in answer["message"]
    assert seen["admin retrain"]["status"] == 200
    assert "Retrain refused: model version 4 was not queued" in seen["admin retrain"]["content"]

    failed = ModelVersion.objects.filter(number__in=[2, 3, 4]).order_by("number")
    assert [v.status for v in failed] == ["failed"] * 3
    assert all("could not be reached" in v.error and broker in v.error and v.finished_at for v in failed)
    assert model_version_running() is None  # nothing holds the training lock
    assert ModelVersion.objects.get(number=1).status == "active"  # what serves is untouched
    # kombu retries a few times (well under a second on a refused connection): the click answers at once
    assert max(seen[name]["seconds"] for name in seen) < 10, {name: seen[name]["seconds"] for name in seen}


def test_a_batch_job_the_broker_never_got_is_failed_and_a_sync_says_why(clicks_with_the_broker_down):
    seen, broker = clicks_with_the_broker_down

    job = BatchJob.objects.get()
    assert seen["api batch job"]["status"] == 503
    assert json.loads(seen["api batch job"]["content"])["extra"] == {"batch_job": job.pk}
    assert job.status == "failed" and broker in job.error and job.finished_at is not None
    sync = json.loads(seen["api vector sync"]["content"])
    assert seen["api vector sync"]["status"] == 503 and "the vector re-sync was not queued" in sync["message"]
