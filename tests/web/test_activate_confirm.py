"""Activate in the admin asks first (issue #27): the version page's button opens a question that says what goes
live and what it replaces; only its "Yes" (a POST) activates. The API's activation stays one call."""

import pytest
from django.urls import reverse

from recommender.models import ModelVersion
from tests.factories import token_client

pytestmark = pytest.mark.django_db
Status = ModelVersion.Status


def test_activate_asks_first_and_activates_only_after_the_yes(staff_client, live_and_candidate, activation):
    candidate = live_and_candidate[1]
    url = reverse("admin:recommender_modelversion_activate", args=[candidate.pk])

    page = staff_client.get(reverse("admin:recommender_modelversion_change", args=[candidate.pk])).content.decode()
    assert f'<form method="get" action="{url}">' in page  # the button asks; it does not POST

    question = staff_client.get(url)
    body = question.content.decode()
    assert question.status_code == 200 and "Activate model version 2?" in body
    assert "It replaces <b>v1</b>" in body and 'value="Yes, activate v2"' in body and "No, take me back" in body
    assert f'<form method="post" action="{url}">' in body and "csrfmiddlewaretoken" in body
    assert activation == [] and ModelVersion.objects.get(number=2).status == Status.INACTIVE  # asked, not done

    answer = staff_client.post(url, follow=True)
    assert answer.redirect_chain == [(reverse("admin:recommender_modelversion_changelist"), 302)]
    assert "Model version 2 is now serving." in answer.content.decode()
    assert activation == [2] and ModelVersion.objects.get(number=2).status == Status.ACTIVE


def test_the_question_offers_no_yes_for_a_version_that_cannot_go_live(staff_client, live_and_candidate):
    live = live_and_candidate[0]
    body = staff_client.get(reverse("admin:recommender_modelversion_activate", args=[live.pk])).content.decode()
    assert 'value="Yes, activate v1" disabled' in body and "v1 is active" in body


def test_the_question_is_for_staff_only(alice_client, live_and_candidate):
    url = reverse("admin:recommender_modelversion_activate", args=[live_and_candidate[1].pk])
    assert alice_client.get(url).status_code == 302  # to the admin's login
    assert alice_client.post(url).status_code == 302
    assert ModelVersion.objects.get(number=2).status == Status.INACTIVE


def test_the_api_activation_stays_one_call(staff, live_and_candidate, activation):
    answer = token_client(staff).post(reverse("api-model-activate", args=[2]))
    assert answer.status_code == 200, answer.content
    assert activation == [2]
