"""While no model serves and one is being built, every page says so with its progress; it goes away once live."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from recommender.models import ModelVersion

Status = ModelVersion.Status


def running(status, progress):
    return ModelVersion.objects.create(number=1, status=status, progress=progress)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "progress", "text"),
    [
        (Status.QUEUED, {}, "Waiting for the training worker"),
        (Status.TRAINING, {"stage": "training", "epoch": 0}, "Preparing the ratings"),
        (Status.TRAINING, {"stage": "refitting", "epoch": 1, "epochs": 3, "eta_s": 4}, "33 %, less than a minute left"),
        (Status.TRAINING, {"stage": "training", "epoch": 7, "epochs": 30, "elapsed_s": 250}, "epoch 7"),
        (Status.EVALUATING, {"stage": "evaluating"}, "against the classical baselines"),
        (Status.TRAINING, {"stage": "refitting", "epoch": 3, "epochs": 4, "eta_s": 130}, "75 %, about 2 min left"),
        (Status.INDEXING, {"stage": "indexing"}, "Writing the movie vectors"),
    ],
)
def test_every_stage_is_shown_to_anyone(client, movies, status, progress, text):
    running(status, progress)
    page = client.get(reverse("home")).content.decode()
    assert "Personal suggestions are being trained" in page and text in page
    assert "Personal suggestions are being trained" in client.get(reverse("movie_browse")).content.decode()
    status_json = client.get(reverse("training_status")).json()
    assert status_json["training"] is True and status_json["number"] == 1
    assert status_json["stage"] == progress.get("stage", "queued")


@pytest.mark.django_db
def test_the_notice_goes_away_once_a_model_is_live(client, movies):
    version = running(Status.TRAINING, {"stage": "training", "epoch": 1, "epochs": 30})
    assert client.get(reverse("training_status")).json()["training"] is True
    version.status = Status.ACTIVE
    version.save()
    cache.clear()  # the banner is cached for NOTICE_CACHE_SECONDS per process: let that time pass
    assert "being trained" not in client.get(reverse("home")).content.decode()
    assert client.get(reverse("training_status")).json() == {"training": False}


@pytest.mark.django_db
def test_a_retrain_behind_a_live_model_shows_no_notice(client, movies):
    ModelVersion.objects.create(number=1, status=Status.ACTIVE)
    ModelVersion.objects.create(number=2, status=Status.TRAINING, progress={"stage": "training", "epoch": 2})
    assert "being trained" not in client.get(reverse("home")).content.decode()
    assert client.get(reverse("training_status")).json() == {"training": False}


@pytest.mark.django_db
def test_the_banner_costs_no_query_while_cached(client, movies, django_assert_num_queries):
    running(Status.TRAINING, {"stage": "training", "epoch": 1, "epochs": 30})
    client.get(reverse("training_status"))
    with django_assert_num_queries(0):
        assert client.get(reverse("training_status")).json()["training"] is True
