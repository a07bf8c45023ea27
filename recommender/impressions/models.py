"""Impressions: every list of recommendations shown to a signed-in user, its movies in order, and click-throughs.

Registered with the recommender app through recommender/models.py (the last line imports this module).
Attribution is computed when read (selectors.py): ratings and "not interested" write nothing here.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Surface(models.TextChoices):
    """Where a list was shown."""

    SITE_HOME = "site_home", "Site: home, recommended for you (the cards say 'because you rated')"
    SITE_HOME_GENRE = "site_home_genre", "Site: home, a '<genre> for you' row"
    SITE_FOR_YOU = "site_for_you", "Site: recommended for you (onboarding, refreshed after a rating)"
    SITE_SIMILAR = "site_similar", "Site: similar movies on a movie page"
    API_RECOMMENDATIONS = "api_recommendations", "API: /api/me/recommendations/"
    API_RANK = "api_rank", "API: /api/rank/"
    API_SIMILAR = "api_similar", "API: /api/movies/<id>/similar/"


class Impression(models.Model):
    """One list shown to one user. The id is made in Python, so the answer carries it before the row is written."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="impressions")
    surface = models.CharField(max_length=24, choices=Surface.choices)
    # null: popularity (cold start or fallback), not a model's list
    model_version = models.ForeignKey(
        "recommender.ModelVersion", null=True, blank=True, on_delete=models.CASCADE, related_name="impressions"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["model_version", "created_at"], name="impr_version_time")]

    def __str__(self) -> str:
        return f"{self.surface} for {self.user_id} at {self.created_at:%Y-%m-%d %H:%M}"


class ImpressionItem(models.Model):
    """One movie of an impression. ``user`` and ``shown_at`` repeat the impression's so that "the latest impression
    that showed movie m to user u before t" is one index range read (impr_item_user_movie_time)."""

    impression = models.ForeignKey(Impression, on_delete=models.CASCADE, related_name="items")
    # no index of its own: impr_item_user_movie_time starts with the user (a second index only cost every write)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    movie_id = models.IntegerField()  # no foreign key: a movie removed later leaves its history
    position = models.PositiveSmallIntegerField()  # 0 = first shown
    shown_at = models.DateTimeField()

    class Meta:
        ordering = ["impression", "position"]
        indexes = [
            models.Index(fields=["user", "movie_id", "shown_at"], name="impr_item_user_movie_time"),
            models.Index(fields=["shown_at"], name="impr_item_time"),
        ]

    def __str__(self) -> str:
        return f"{self.movie_id} at {self.position} of {self.impression_id}"


class ImpressionClick(models.Model):
    """A click-through from an impression to one of its movies (the site's ?imp= link, or the API's click event)."""

    impression = models.ForeignKey(Impression, on_delete=models.CASCADE, related_name="clicks")
    movie_id = models.IntegerField()
    clicked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-clicked_at"]
        constraints = [
            models.UniqueConstraint(fields=["impression", "movie_id"], name="impression_click_once_per_movie")
        ]

    def __str__(self) -> str:
        return f"click on {self.movie_id} from {self.impression_id}"
