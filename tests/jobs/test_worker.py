"""End to end through a real Celery worker and broker: retrain from the admin, a killed worker, batch files."""

import csv
import json
import os
import signal

import pytest
from django.urls import reverse

from recommender.models import BatchJob, ModelVersion
from recommender.vectorstore import get_vector_store

from .conftest import tiny_config_file, wait_for_version, wait_until

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.slow(reason="a real Celery worker trains tiny models and writes batch files"),
]
DONE = {"active", "inactive", "failed"}


def retrain_click(client):
    return client.post(reverse("admin:recommender_modelversion_retrain"), follow=True)


def test_retrain_from_admin_activates_a_new_version_and_switches_the_alias(worker, staff_client):
    first, second = retrain_click(staff_client), retrain_click(staff_client)  # a double click

    assert first.status_code == second.status_code == 200
    assert "is queued for training" in first.content.decode()
    assert "Retrain refused: model version 1 is" in second.content.decode()
    version = wait_for_version(1, DONE)
    assert version.status == "active", version.error or version.gate_reason
    assert ModelVersion.objects.count() == 1  # two clicks, one training
    assert get_vector_store().live_version() == 1
    assert version.worker and version.metrics["model"]["ndcg@10"] > 0
    assert [row["epoch"] for row in version.curve] == list(range(1, len(version.curve) + 1))

    page = staff_client.get(reverse("admin:recommender_modelversion_change", args=[version.pk]))
    assert page.status_code == 200 and "MostPop" in page.content.decode()
    assert staff_client.get(reverse("admin:recommender_modelversion_curve", args=[version.pk]))["Content-Type"] == (
        "image/png"
    )


def test_worker_killed_mid_training_leaves_the_old_version_serving(worker, staff_client, settings):
    retrain_click(staff_client)
    old = wait_for_version(1, DONE)
    assert old.status == "active", old.error or old.gate_reason
    settings.RETRAIN_CONFIG_FILE = tiny_config_file(epochs=400)  # long enough to be killed half-way
    retrain_click(staff_client)

    def training_epoch_2():
        version = ModelVersion.objects.get(number=2)
        return version if version.status == "training" and version.progress.get("epoch", 0) >= 2 else None

    version = wait_until(training_epoch_2, 120, "version 2 to be training")
    os.kill(int(version.worker.rsplit(":", 1)[1]), signal.SIGKILL)  # the pool child running the pipeline

    failed = wait_for_version(2, DONE, timeout=60)
    assert failed.status == "failed"
    assert "WorkerLostError" in failed.error
    assert ModelVersion.objects.get(number=1).status == "active"
    assert get_vector_store().live_version() == 1
    # the lock is free again: the next click starts version 3 (and the worker replaced its dead child)
    settings.RETRAIN_CONFIG_FILE = tiny_config_file(epochs=2)
    assert "queued for training" in retrain_click(staff_client).content.decode()
    third = wait_for_version(3, DONE)
    assert third.status in {"active", "inactive"}, third.error


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_batch_job_from_the_admin_writes_the_file_and_offers_it(worker, staff_client, fmt):
    retrain_click(staff_client)
    assert wait_for_version(1, DONE).status == "active"

    url = reverse("admin:recommender_batchjob_run")
    response = staff_client.post(url, {"k": 5, "fmt": fmt, "users": "1, 2 3"}, follow=True)
    assert "is queued" in response.content.decode()
    job = wait_until(
        lambda: BatchJob.objects.filter(status__in=["done", "failed"]).first(), 60, "the batch job to finish"
    )
    assert job.status == "done", job.error
    download = staff_client.get(reverse("admin:recommender_batchjob_download", args=[job.pk]))
    body = b"".join(download.streaming_content).decode()
    if fmt == "jsonl":
        rows = [json.loads(line) for line in body.splitlines()]
        assert [r["user_id"] for r in rows] == [1, 2, 3]
        assert all(len(r["items"]) == 5 and len(set(r["items"])) == 5 for r in rows)
    else:
        rows = list(csv.DictReader(body.splitlines()))
        assert list(rows[0]) == ["user_id", "rank", "movie_id"]
        assert [(r["user_id"], r["rank"]) for r in rows] == [(str(u), str(k)) for u in (1, 2, 3) for k in range(1, 6)]
    assert job.progress == {"done": 3, "total": 3} and job.model_number == 1
