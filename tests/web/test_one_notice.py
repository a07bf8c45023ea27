"""While the first model trains, the home page (and onboarding's preview) shows one notice, the training one, which
already says that popular movies stand in until then; without a training the fallback keeps its own banner."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from recommender.models import ModelVersion
from tests.factories import RatingFactory

pytestmark = pytest.mark.django_db
Status = ModelVersion.Status
TRAINING = "Personal suggestions are being trained"
FALLBACK = "Popular picks for now"


@pytest.fixture(autouse=True)
def fresh_notice_cache():
    cache.clear()  # the training notice is cached for a few seconds per process
    yield
    cache.clear()


def test_home_while_the_first_model_trains_shows_one_notice(alice_client, alice, movies):
    RatingFactory(user=alice, movie=movies[0], score=5)
    ModelVersion.objects.create(number=1, status=Status.TRAINING, progress={"stage": "training", "epoch": 2})
    response = alice_client.get(reverse("home"))
    body = response.content.decode()
    assert response.context["for_you"].fallback is True  # popular movies stand in...
    assert response.context["for_you"].items
    assert body.count(TRAINING) == 1 and FALLBACK not in body  # ...and one notice says so
    assert body.count('class="banner') + body.count('class="notice ') == 1  # one box, not two stacked


def test_onboarding_preview_while_training_shows_one_notice(alice_client, alice, movies):
    for movie in movies[:5]:
        RatingFactory(user=alice, movie=movie, score=4)
    ModelVersion.objects.create(number=1, status=Status.QUEUED)
    body = alice_client.get(reverse("onboarding")).content.decode()
    assert "Your suggestions so far" in body
    assert body.count(TRAINING) == 1 and FALLBACK not in body


def test_without_a_training_the_fallback_keeps_its_banner(alice_client, alice, movies):
    RatingFactory(user=alice, movie=movies[0], score=5)
    ModelVersion.objects.create(number=1, status=Status.FAILED)  # nothing runs, nothing serves
    body = alice_client.get(reverse("home")).content.decode()
    assert TRAINING not in body and body.count(FALLBACK) == 1


def test_a_retrain_behind_a_live_model_shows_neither_training_notice(alice_client, alice, movies):
    RatingFactory(user=alice, movie=movies[0], score=5)
    ModelVersion.objects.create(number=1, status=Status.ACTIVE)
    ModelVersion.objects.create(number=2, status=Status.TRAINING, progress={"stage": "training", "epoch": 1})
    body = alice_client.get(reverse("home")).content.decode()
    assert TRAINING not in body  # the live model serves (here it is unreachable, so the fallback says so)
