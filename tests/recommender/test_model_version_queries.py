"""ModelVersion's query vocabulary: running() and active(), RUNNING_STATUSES, and the selectors built on them."""

import pytest

from recommender.models import ModelVersion
from recommender.selectors import model_version_active, model_version_running

Status = ModelVersion.Status
pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("status", "running", "active"),
    [
        (Status.QUEUED, True, False),
        (Status.TRAINING, True, False),
        (Status.EVALUATING, True, False),
        (Status.INDEXING, True, False),
        (Status.ACTIVE, False, True),
        (Status.INACTIVE, False, False),
        (Status.FAILED, False, False),
        (Status.RETIRED, False, False),
    ],
)
def test_each_status_is_running_active_or_neither(status, running, active):
    version = ModelVersion.objects.create(number=1, status=status)
    assert ModelVersion.objects.running().exists() is running
    assert version.is_running is running  # the row and the query agree
    assert ModelVersion.objects.active().exists() is active
    assert (status in ModelVersion.RUNNING_STATUSES) is running


def test_the_selectors_read_through_the_queryset():
    assert model_version_active() is None and model_version_running() is None
    for number, status in [(1, Status.INACTIVE), (2, Status.ACTIVE), (3, Status.FAILED), (4, Status.EVALUATING)]:
        ModelVersion.objects.create(number=number, status=status)
    ModelVersion.objects.create(number=5, status=Status.QUEUED)  # only a race could leave two running
    assert model_version_active().number == 2
    assert model_version_running().number == 4  # the oldest holds the lock
    assert list(ModelVersion.objects.running().order_by("number").values_list("number", flat=True)) == [4, 5]


def test_the_querysets_chain_with_other_filters():
    ModelVersion.objects.create(number=1, status=Status.ACTIVE)
    ModelVersion.objects.create(number=2, status=Status.TRAINING, worker="training@box:1")
    assert ModelVersion.objects.filter(number=2).running().get().worker == "training@box:1"
    assert ModelVersion.objects.running().filter(worker__startswith="other@").count() == 0
    assert ModelVersion.objects.exclude(number=1).active().count() == 0
