"""Activate in the admin asks first (issue #27): the version page's button opens a question that says what goes
live and what it replaces; only its "Yes" (a POST) activates. The API's activation stays one call."""

import pytest
from django.urls import reverse

from recommender.models import ModelVersion
from tests.factories import ModelVersionFactory, token_client

pytestmark = pytest.mark.django_db
Status = ModelVersion.Status


@pytest.fixture
def activation(monkeypatch):
    """The database half of an activation (the vector store is not under test here); records the version."""
    from recommender.api import model_versions as api_views
    from recommender.services import training_jobs as jobs

    done = []

    def activate(*, version):
        ModelVersion.objects.filter(status=Status.ACTIVE).update(status=Status.INACTIVE)
        ModelVersion.objects.filter(pk=version.pk).update(status=Status.ACTIVE)
        done.append(version.number)
        return version

    monkeypatch.setattr(jobs, "model_version_activate_checked", activate)
    monkeypatch.setattr(api_views, "model_version_activate_checked", activate)
    return done


@pytest.fixture
def live_and_candidate(db):
    return ModelVersionFactory(number=1, status=Status.ACTIVE), ModelVersionFactory(number=2, quality=1.1)


def test_activate_asks_first_and_activates_only_after_the_yes(client, staff, live_and_candidate, activation):
    client.force_login(staff)
    candidate = live_and_candidate[1]
    url = reverse("admin:recommender_modelversion_activate", args=[candidate.pk])

    page = client.get(reverse("admin:recommender_modelversion_change", args=[candidate.pk])).content.decode()
    assert f'<form method="get" action="{url}">' in page  # the button asks; it does not POST

    question = client.get(url)
    body = question.content.decode()
    assert question.status_code == 200 and "Activate model version 2?" in body
    assert "It replaces <b>v1</b>" in body and 'value="Yes, activate v2"' in body and "No, take me back" in body
    assert f'<form method="post" action="{url}">' in body and "csrfmiddlewaretoken" in body
    assert activation == [] and ModelVersion.objects.get(number=2).status == Status.INACTIVE  # asked, not done

    answer = client.post(url, follow=True)
    assert answer.redirect_chain == [(reverse("admin:recommender_modelversion_changelist"), 302)]
    assert "Model version 2 is now serving." in answer.content.decode()
    assert activation == [2] and ModelVersion.objects.get(number=2).status == Status.ACTIVE


def test_the_question_offers_no_yes_for_a_version_that_cannot_go_live(client, staff, live_and_candidate):
    client.force_login(staff)
    live = live_and_candidate[0]
    body = client.get(reverse("admin:recommender_modelversion_activate", args=[live.pk])).content.decode()
    assert 'value="Yes, activate v1" disabled' in body and "v1 is active" in body


def test_the_question_is_for_staff_only(client, alice, live_and_candidate):
    client.force_login(alice)
    url = reverse("admin:recommender_modelversion_activate", args=[live_and_candidate[1].pk])
    assert client.get(url).status_code == 302  # to the admin's login
    assert client.post(url).status_code == 302
    assert ModelVersion.objects.get(number=2).status == Status.INACTIVE


def test_the_api_activation_stays_one_call(staff, live_and_candidate, activation):
    answer = token_client(staff).post(reverse("api-model-activate", args=[2]))
    assert answer.status_code == 200, answer.content
    assert activation == [2]
