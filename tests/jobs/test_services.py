"""Service logic of the jobs without a worker: the training lock, stale detection, JSON task args, admin guards."""

import json
from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone
from kombu.utils.json import dumps, loads

from core.exceptions import ApplicationError
from recommender import tasks
from recommender.models import BatchJob, ModelVersion
from recommender.services import batch_jobs, schedules, training_jobs, vector_jobs

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sent():
    """Capture what would be published, instead of a broker (the worker tests use a real one)."""
    with (
        mock.patch.object(tasks.model_version_pipeline, "apply_async") as pipeline,
        mock.patch.object(tasks.batch_job_task, "apply_async") as batch,
        mock.patch.object(tasks.vectors_sync_task, "apply_async") as sync,
    ):
        yield {"pipeline": pipeline, "batch": batch, "sync": sync}


def test_two_retrains_enqueue_one_and_task_args_are_plain_json(sent):
    version = training_jobs.model_version_train_enqueue(config={"epochs": 1})

    with pytest.raises(ApplicationError, match="model version 1 is already queued"):
        training_jobs.model_version_train_enqueue()
    assert ModelVersion.objects.count() == 1
    sent["pipeline"].assert_called_once()
    call = sent["pipeline"].call_args
    assert call.kwargs["args"] == [version.pk] and call.kwargs["task_id"] == version.task_id
    assert loads(dumps(call.kwargs["args"])) == [version.pk]  # what kombu's JSON serializer sends


def test_nothing_is_published_when_the_transaction_rolls_back(sent):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        training_jobs.model_version_train_enqueue()
        raise RuntimeError("the request failed after the click")
    sent["pipeline"].assert_not_called()
    assert not ModelVersion.objects.exists()


def test_bad_config_is_refused_before_anything_is_queued(sent):
    with pytest.raises(ApplicationError, match="bad training config"):
        training_jobs.model_version_train_enqueue(config={"no_such_knob": 1})
    sent["pipeline"].assert_not_called()


def test_a_silent_version_is_failed_and_frees_the_lock(sent, settings):
    settings.JOBS_STALE_SECONDS = 60
    old = timezone.now() - timedelta(minutes=5)
    ModelVersion.objects.create(number=1, status="training", heartbeat_at=old, started_at=old)
    ModelVersion.objects.create(number=2, status="active")

    with mock.patch.object(training_jobs, "_alias_reconcile") as reconcile:
        version = training_jobs.model_version_train_enqueue()  # the click runs the stale check first

    dead = ModelVersion.objects.get(number=1)
    assert dead.status == "failed" and "no heartbeat for 60 s" in dead.error
    reconcile.assert_called_once()
    assert version.number == 3 and ModelVersion.objects.get(number=2).status == "active"


def test_fresh_heartbeats_and_young_queued_versions_are_left_alone(settings):
    settings.JOBS_STALE_SECONDS = 60
    ModelVersion.objects.create(number=1, status="training", heartbeat_at=timezone.now())
    assert training_jobs.versions_stale_fail() == []
    assert ModelVersion.objects.get(number=1).status == "training"


def test_a_restarted_worker_fails_only_its_own_versions():
    ModelVersion.objects.create(number=1, status="evaluating", worker="training@box:123", heartbeat_at=timezone.now())
    with mock.patch.object(training_jobs, "_alias_reconcile"):
        assert training_jobs.versions_fail_for_worker(hostname="other@box") == []
        assert training_jobs.versions_fail_for_worker(hostname="training@box") == [1]
    assert "restarted" in ModelVersion.objects.get(number=1).error


def test_a_redelivered_message_does_not_train_again():
    version = ModelVersion.objects.create(number=1, status="failed")
    with mock.patch.object(training_jobs, "model_version_pipeline_run") as run:
        assert tasks.model_version_pipeline.apply(args=[version.pk]).get() is None
        assert tasks.model_version_pipeline.apply(args=[999]).get() is None  # row gone
    run.assert_not_called()


def test_worker_lost_signal_records_the_failure():
    version = ModelVersion.objects.create(number=1, status="training")
    with mock.patch.object(training_jobs, "_alias_reconcile"):
        tasks._pipeline_failure(
            task_id="t", exception=RuntimeError("Worker exited prematurely: signal 9"), args=[version.pk]
        )
    version.refresh_from_db()
    assert version.status == "failed" and "signal 9" in version.error


def test_activate_sync_and_retrain_are_refused_while_training(sent):
    ModelVersion.objects.create(number=1, status="inactive", artifact_path="/nowhere")
    running = ModelVersion.objects.create(number=2, status="training", heartbeat_at=timezone.now())
    with pytest.raises(ApplicationError, match="while model version 2 is training"):
        training_jobs.model_version_activate_checked(version=ModelVersion.objects.get(number=1))
    with pytest.raises(ApplicationError, match="while model version 2 is training"):
        vector_jobs.vectors_sync_enqueue()
    assert running.is_running
    sent["sync"].assert_not_called()


def test_batch_job_enqueue_validates_and_runs_in_eager_mode(sent, settings, tmp_path):
    settings.BATCH_DIR = tmp_path
    with pytest.raises(ApplicationError, match="no active model version"):
        batch_jobs.batch_job_enqueue(k=5)
    ModelVersion.objects.create(number=1, status="active")
    with pytest.raises(ApplicationError, match="unknown format"):
        batch_jobs.batch_job_enqueue(k=5, fmt="xml")
    job = batch_jobs.batch_job_enqueue(k=5, user_ids=[3, 1, 3], fmt="csv")
    assert job.user_ids == [1, 3] and sent["batch"].call_args.kwargs["args"] == [job.pk]

    def fake_write(*, k, output, movielens_ids, fmt, on_progress):
        output.write_text("user_id,rank,movie_id\n1,1,10\n")
        on_progress(2, 2)
        return 2

    with mock.patch.object(batch_jobs, "batch_recommend_write", side_effect=fake_write):
        tasks.batch_job_task.apply(args=[job.pk]).get()
    job.refresh_from_db()
    assert (job.status, job.progress, job.model_number) == ("done", {"done": 2, "total": 2}, 1)
    assert job.result_path.endswith(f"batch-{job.pk}.csv")


def test_schedules_are_created_only_when_asked(settings):
    from django_celery_beat.models import PeriodicTask

    settings.RETRAIN_SCHEDULE = ""
    assert schedules.schedules_ensure() == ["Fail stale trainings"]
    assert not PeriodicTask.objects.filter(name="Scheduled retraining").exists()
    settings.RETRAIN_SCHEDULE = "0 3 * * 0"
    assert schedules.schedules_ensure() == ["Scheduled retraining"]
    task = PeriodicTask.objects.get(name="Scheduled retraining")
    assert (task.task, str(task.crontab.hour), str(task.crontab.day_of_week)) == (
        "recommender.tasks.model_version_train_scheduled",
        "3",
        "0",
    )
    assert schedules.schedules_ensure() == []  # never overwrites what the admin edited


def test_admin_job_pages_are_staff_only(client, django_user_model):
    urls = [
        reverse("admin:recommender_modelversion_progress"),
        reverse("admin:recommender_modelversion_history"),
        reverse("admin:recommender_batchjob_run"),
    ]
    user = django_user_model.objects.create_user("plain", password="pw-plain-123")
    client.force_login(user)
    assert [client.get(url).status_code for url in urls] == [302, 302, 302]  # to the admin login
    assert client.post(reverse("admin:recommender_modelversion_retrain")).status_code == 302
    assert not ModelVersion.objects.exists()


def test_progress_json_and_refusal_message_for_staff(admin_client, sent):
    ModelVersion.objects.create(
        number=1, status="training", heartbeat_at=timezone.now(), progress={"stage": "training", "epoch": 2}
    )
    data = json.loads(admin_client.get(reverse("admin:recommender_modelversion_progress")).content)
    assert data["training_running"] is True and data["version"]["progress"] == {"stage": "training", "epoch": 2}
    page = admin_client.post(reverse("admin:recommender_modelversion_retrain"), follow=True).content.decode()
    assert "Retrain refused: model version 1 is already training" in page
    assert "disabled" in admin_client.get(reverse("admin:recommender_modelversion_changelist")).content.decode()
    assert admin_client.get(reverse("admin:recommender_modelversion_history"))["Content-Type"] == "image/png"
    assert BatchJob.objects.count() == 0
