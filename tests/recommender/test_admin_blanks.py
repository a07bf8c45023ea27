"""The model-version admin shows nothing, not "-", for a time that has not happened yet (a queued version)."""

import re

import pytest
from django.urls import reverse

from recommender.models import ModelVersion

pytestmark = pytest.mark.django_db


def test_a_queued_version_shows_blank_start_finish_and_duration(admin_client):
    version = ModelVersion.objects.create(number=1, status=ModelVersion.Status.QUEUED)
    page = admin_client.get(reverse("admin:recommender_modelversion_change", args=[version.pk])).content.decode()
    for field in ("started_at", "finished_at", "activated_at", "duration"):
        shown = re.search(r'<div class="readonly">(.*?)</div>', page[page.index(f"field-{field}") :], re.S)
        assert shown is not None and shown.group(1).strip() == "", (field, shown and shown.group(1))
