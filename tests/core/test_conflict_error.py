"""ConflictError: a refusal by the current state is its own type, mapped to 409 by the API's one handler."""

import pytest

from api.exceptions import api_exception_handler
from core.exceptions import ApplicationError, ConflictError
from recommender.models import ModelVersion
from recommender.services.training import model_version_create
from recommender.services.training_jobs import training_lock_check


def test_the_handler_answers_409_with_message_and_extra():
    response = api_exception_handler(ConflictError("model version 3 is already training", {"number": 3}), {})
    assert response.status_code == 409
    assert response.data == {"message": "model version 3 is already training", "extra": {"number": 3}}


def test_a_plain_application_error_stays_a_400_whatever_its_extra():
    response = api_exception_handler(ApplicationError("bad training config: x", {"field": "config"}), {})
    assert response.status_code == 400


@pytest.mark.django_db
def test_creating_a_version_while_one_runs_raises_conflict_error():
    ModelVersion.objects.create(number=3, status=ModelVersion.Status.TRAINING)
    with pytest.raises(ConflictError, match="model version 3 is already training") as raised:
        model_version_create()
    assert raised.value.extra == {"number": 3}


@pytest.mark.django_db
def test_the_training_lock_refuses_with_conflict_error():
    ModelVersion.objects.create(number=4, status=ModelVersion.Status.EVALUATING)
    with pytest.raises(ConflictError, match="cannot activate a version while model version 4 is evaluating") as raised:
        training_lock_check(action="activate a version")
    assert raised.value.extra == {"number": 4}
