"""Strict input fields: JSON integers must be integers (no bool, string or float), query integers plain digits."""

import math
import re
from collections.abc import Mapping

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from movies.movielens import SCORE_MAX, SCORE_MIN, SCORE_STEP, SCORES
from movies.selectors import genre_names
from recommender.presentation import fallback_reason_for

INT32_MAX = 2**31 - 1
YEAR_MIN, YEAR_MAX = 1800, 2100  # the range the vector store's filter builder accepts
_DIGITS = re.compile(r"^[+-]?\d{1,18}$")


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: true/false, "5" and 5.0 are refused (they signal a client bug, not a value)."""

    default_error_messages = {"invalid": "A JSON integer is required (not a string, float or boolean)."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return data


class QueryIntegerField(serializers.IntegerField):
    """An integer from a query string: decimal digits only ("1.0", "1e3" and "true" are refused)."""

    default_error_messages = {"invalid": "An integer (decimal digits) is required."}

    def to_internal_value(self, data):
        if not isinstance(data, str) or not _DIGITS.match(data.strip()):
            self.fail("invalid")
        return int(data)


class FiniteFloatField(serializers.FloatField):
    """A finite number; NaN, infinities and booleans are refused (NaN slips past min/max comparisons)."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if math.isnan(value) or math.isinf(value):
            self.fail("invalid")
        return value


SCORE_SCHEMA = {
    "type": "number", "minimum": SCORE_MIN, "maximum": SCORE_MAX, "multipleOf": SCORE_STEP,
    "description": f"Stars from {SCORE_MIN:g} to {SCORE_MAX:g} in half steps (4 and 4.0 are the same score).",
}  # fmt: skip


@extend_schema_field(SCORE_SCHEMA)
class ScoreField(serializers.FloatField):
    """A rating's score: a JSON number in SCORES (movies/movielens.py; 3, 3.0 and 3.5; not "3", true or 3.25)."""

    default_error_messages = {
        "invalid": f"A JSON number from {SCORE_MIN:g} to {SCORE_MAX:g} in steps of {SCORE_STEP:g} is required.",
    }

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        try:
            value = float(data)
        except OverflowError:  # an integer of hundreds of digits
            self.fail("invalid")
        if value not in SCORES:
            self.fail("invalid")
        return value

    def to_representation(self, value):
        return float(value)


class GenreField(serializers.CharField):
    """A genre name that exists in the catalogue (unknown names are a 400 here, not a ValueError in Milvus)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value and value not in genre_names():
            raise serializers.ValidationError(f"unknown genre {value!r}")
        return value


def year_query_field() -> QueryIntegerField:
    return QueryIntegerField(required=False, min_value=YEAR_MIN, max_value=YEAR_MAX)


def k_query_field(default: int = 10, maximum: int = 100) -> QueryIntegerField:
    return QueryIntegerField(required=False, default=default, min_value=1, max_value=maximum)


def years_check(attrs: dict) -> dict:
    """year_min must not exceed year_max (shared by every serializer with a year range)."""
    low, high = attrs.get("year_min"), attrs.get("year_max")
    if low is not None and high is not None and low > high:
        raise serializers.ValidationError({"year_min": ["year_min must not be greater than year_max."]})
    return attrs


@extend_schema_field(OpenApiTypes.STR)
class FallbackReasonField(serializers.Field):
    """fallback_reason as the requesting user may see it (recommender.presentation): the detail for staff, a
    generic sentence for others (it can name internal addresses). The serializer needs context={"request": ...}."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "help_text",
            "Why popular movies were served: the detail for staff, a general sentence for others; empty when not.",
        )
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value):
        get = value.get if isinstance(value, Mapping) else lambda name: getattr(value, name, None)
        user = getattr(self.context.get("request"), "user", None)
        return fallback_reason_for(user, fallback=bool(get("fallback")), reason=get("fallback_reason") or "")
