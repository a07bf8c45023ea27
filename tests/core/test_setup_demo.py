"""setup_demo (the main command's set-up step): import from a local path, train, and working demo logins."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from movies.models import Rating
from recommender.models import ModelVersion
from recommender.serving import registry
from recommender.vectorstore import get_vector_store
from scripts.make_synthetic_movielens import generate
from tests.support import wait_until

pytestmark = [
    pytest.mark.slow(reason="imports a synthetic MovieLens and trains a tiny model through setup_demo"),
    pytest.mark.django_db(transaction=True),
]


def test_setup_demo_imports_trains_and_prints_working_logins(tmp_path):
    generate(tmp_path / "ml-1m", users=50, movies=60, ratings=2500, seed=3)
    out = StringIO()
    try:
        call_command(
            "setup_demo", "--path", str(tmp_path / "ml-1m"), "--epochs", "2", "--foreground", stdout=out, verbosity=0
        )
        text = out.getvalue()
        assert Rating.objects.count() == 2500
        version = ModelVersion.objects.get()
        assert version.status in {ModelVersion.Status.ACTIVE, ModelVersion.Status.INACTIVE}, version.error
        user_match = re.search(r"MovieLens user with (\d+) ratings: (ml\d+) / (\S+)", text)
        admin_match = re.search(r"staff \(admin panel .*\): (admin) / (\S+)", text)
        assert user_match and admin_match, text
        assert Client().login(username=user_match[2], password=user_match[3])
        assert Client().login(username=admin_match[1], password=admin_match[2])

        again = StringIO()  # a second run imports and trains nothing more
        call_command("setup_demo", "--path", str(tmp_path / "ml-1m"), stdout=again, verbosity=0)
        assert "already imported" in again.getvalue() and ModelVersion.objects.count() == 1
        if version.status == ModelVersion.Status.INACTIVE:  # random synthetic data may not beat MostPop: say so
            assert f"no model is active ({version.gate_reason})" in again.getvalue()
    finally:
        get_vector_store().drop_all()
        registry.reset()


def test_setup_demo_queues_the_training_so_the_site_serves_at_once(tmp_path):
    """By default nothing is trained in the foreground: one version is queued for the training worker (once).

    In CI's second pass a real worker shares the broker and may pick the version up at once: then it is waited
    for, so no training outlives the test.
    """
    from recommender.selectors import training_notice
    from recsite.celery import app

    generate(tmp_path / "ml-1m", users=20, movies=30, ratings=400, seed=4)
    running = {ModelVersion.Status.QUEUED, ModelVersion.Status.TRAINING, ModelVersion.Status.EVALUATING,
               ModelVersion.Status.INDEXING}  # fmt: skip
    try:
        out = StringIO()
        call_command("setup_demo", "--path", str(tmp_path / "ml-1m"), stdout=out, verbosity=0)
        version = ModelVersion.objects.get()
        assert version.task_id and f"model v{version.number} is queued" in out.getvalue()
        notice = training_notice()
        if version.status == ModelVersion.Status.QUEUED:  # no worker took it (yet): what the site shows meanwhile
            assert notice is not None and notice["stage"] == "queued"
        again = StringIO()
        call_command("setup_demo", "--path", str(tmp_path / "ml-1m"), stdout=again, verbosity=0)
        assert ModelVersion.objects.count() == 1  # never a second training
    finally:
        app.control.purge()  # no worker here: the queued message must not reach a later test's worker
        busy = ModelVersion.objects.filter(status__in=running - {ModelVersion.Status.QUEUED})
        wait_until(lambda: not busy.exists(), 180, "a worker's training of the queued version to finish", interval=1)
        get_vector_store().drop_all()
