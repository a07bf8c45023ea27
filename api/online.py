"""The ``online`` block of a model version (GET /api/models/<n>/): what users did after its lists were shown."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from recommender.impressions.selectors import online_figures, version_impressions


class RateSerializer(serializers.Serializer):
    successes = serializers.IntegerField(help_text="Users who did it at least once after being shown the lists.")
    trials = serializers.IntegerField(help_text="Users shown at least one list (= users).")
    rate = serializers.FloatField(allow_null=True, help_text="successes / trials; null without users.")
    ci95 = serializers.ListField(
        child=serializers.FloatField(),
        min_length=2,
        max_length=2,
        allow_null=True,
        help_text="[low, high]: the 95% Wilson score interval of the rate; null without users.",
    )


class RatesSerializer(serializers.Serializer):
    click = RateSerializer(help_text="Share of users with at least one attributed click.")
    rated = RateSerializer(help_text="Share of users who rated at least one movie a list had shown them.")
    hidden = RateSerializer(help_text='Share of users who said "not interested" to a movie a list had shown them.')


class OnlineFiguresSerializer(serializers.Serializer):
    impressions = serializers.IntegerField(help_text="Lists this version served to signed-in users (kept for "
                                           "IMPRESSION_RETENTION_DAYS).")  # fmt: skip
    users = serializers.IntegerField(help_text="Distinct users those lists were shown to.")
    clicks = serializers.IntegerField(help_text="Click-throughs from those lists within the attribution window.")
    rated_after_shown = serializers.IntegerField(
        help_text="Ratings of a movie whose latest showing to that user (within the window before the rating) was "
        "in one of this version's lists."
    )
    hidden_after_shown = serializers.IntegerField(help_text='The same for "not interested".')
    rates = RatesSerializer(
        help_text="Per user, not per list or movie: each user shown this version's lists is one trial, a success "
        "when they clicked / rated / hid at least once after (users are independent, one user's lists are not)."
    )
    window_days = serializers.IntegerField(help_text="ATTRIBUTION_WINDOW_DAYS: how long after a list counts.")


@extend_schema_field(OnlineFiguresSerializer)
class OnlineFiguresField(serializers.Field):
    """The version's online figures, computed when read (attribution is never written)."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, version) -> dict:
        return OnlineFiguresSerializer(online_figures(version_impressions(version))).data
