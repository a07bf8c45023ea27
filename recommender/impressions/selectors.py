"""Attribution at read time, and the online figures of a model version.

A rating or a "not interested" is attributed to the latest impression that showed that movie to that user no
later than the event and no earlier than ATTRIBUTION_WINDOW_DAYS before it: one correlated subquery per event on
the (user, movie_id, shown_at) index of the impression items. Nothing is written when people rate or hide.
A click names its impression (the link or the API call carries it) and counts when it comes within the window.

Rates are per user (each user a Bernoulli trial: did they do it at least once after being shown the version's
lists?), with the 95% Wilson interval: users' lists within one user are not independent, users are.
"""

from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, DateTimeField, ExpressionWrapper, F, Min, OuterRef, Subquery, UUIDField, Value
from django.db.models.functions import TruncDate

from movies.models import HiddenMovie, Rating

from .models import Impression, ImpressionClick, ImpressionItem
from .stats import rate

EVENTS = {"rated": (Rating, "rated_at"), "hidden": (HiddenMovie, "created_at")}


def window() -> timedelta:
    return timedelta(days=settings.ATTRIBUTION_WINDOW_DAYS)


def attributed_events(kind: str, impressions) -> list[dict]:
    """Ratings (kind "rated") or "not interested" (kind "hidden") attributed to one of ``impressions`` (a queryset),
    each {"user_id", "movie_id", "impression_id", "surface", "model_version_id", "at"}.

    The latest impression of the user that showed the movie within the window wins, whichever queryset it is in;
    an event is returned when that winner is one of ``impressions``."""
    model, time_field = EVENTS[kind]
    first = impressions.aggregate(first=Min("created_at"))["first"]
    if first is None:
        return []
    latest = ImpressionItem.objects.filter(
        user_id=OuterRef("user_id"),
        movie_id=OuterRef("movie_id"),
        shown_at__lte=OuterRef(time_field),
        shown_at__gte=ExpressionWrapper(OuterRef(time_field) - Value(window()), output_field=DateTimeField()),
    ).order_by("-shown_at", "-pk")
    events = (
        model.objects.filter(user_id__in=impressions.values("user_id"), **{f"{time_field}__gte": first})
        .annotate(impression_id=Subquery(latest.values("impression_id")[:1], output_field=UUIDField()))
        .filter(impression_id__isnull=False)
        .values("user_id", "movie_id", "impression_id", time_field)
    )
    events = list(events)
    winners = {
        row["pk"]: row
        for row in impressions.filter(pk__in={e["impression_id"] for e in events}).values(
            "pk", "surface", "model_version_id"
        )
    }
    return [
        {**e, "at": e.pop(time_field), **{k: winners[e["impression_id"]][k] for k in ("surface", "model_version_id")}}
        for e in events
        if e["impression_id"] in winners
    ]


def attributed_clicks(impressions) -> list[dict]:
    """Clicks on ``impressions`` within the window of their impression: {"user_id", "movie_id", "impression_id",
    "surface", "model_version_id", "at"}."""
    rows = ImpressionClick.objects.filter(
        impression__in=impressions,
        clicked_at__lte=ExpressionWrapper(F("impression__created_at") + Value(window()), output_field=DateTimeField()),
    ).values(
        "movie_id", "impression_id", "clicked_at", user_id=F("impression__user_id"),
        surface=F("impression__surface"), model_version_id=F("impression__model_version_id"),
    )  # fmt: skip
    return [{**r, "at": r.pop("clicked_at")} for r in rows]


COUNTS = {"impressions": Count("pk"), "users": Count("user_id", distinct=True)}


def impression_counts(impressions) -> dict:
    """{"impressions": lists, "users": distinct users} of ``impressions`` (a queryset), counted in SQL."""
    return impressions.order_by().aggregate(**COUNTS)


def per_user_rate(events: list[dict], users: int) -> dict:
    """The share of ``users`` with at least one of ``events``, with its 95% Wilson interval (stats.rate)."""
    return rate(len({e["user_id"] for e in events}), users)


def _figures(counts: dict, clicks: list[dict], rated: list[dict], hidden: list[dict]) -> dict:
    users = counts["users"]
    return {
        "impressions": counts["impressions"],
        "users": users,
        "clicks": len(clicks),
        "rated_after_shown": len(rated),
        "hidden_after_shown": len(hidden),
        "rates": {
            "click": per_user_rate(clicks, users),
            "rated": per_user_rate(rated, users),
            "hidden": per_user_rate(hidden, users),
        },
    }


def online_figures(impressions, *, by_surface: bool = False) -> dict:
    """The online figures of ``impressions`` (a queryset: one version's, one experiment arm's): counts and per-user
    rates with 95% Wilson intervals; with ``by_surface`` also "surfaces": {surface: the same figures}."""
    clicks = attributed_clicks(impressions)
    rated, hidden = attributed_events("rated", impressions), attributed_events("hidden", impressions)
    out = {**_figures(impression_counts(impressions), clicks, rated, hidden)}
    out["window_days"] = settings.ATTRIBUTION_WINDOW_DAYS
    if by_surface:
        per_surface = impressions.order_by().values("surface").annotate(**COUNTS)
        out["surfaces"] = {
            row["surface"]: _figures(row, *[[e for e in part if e["surface"] == row["surface"]]
                                            for part in (clicks, rated, hidden)])
            for row in sorted(per_surface, key=lambda row: row["surface"])
        }  # fmt: skip
    return out


def version_impressions(version):
    """The impressions a model version served (``version`` None: popularity lists)."""
    if version is None:
        return Impression.objects.filter(model_version__isnull=True)
    return Impression.objects.filter(model_version=version)


def online_daily(impressions) -> list[dict]:
    """Per day: {"day", "impressions", "users", "rated_after_shown", "clicks"} (the admin's plot over time; events
    on the day they happened)."""
    days: dict = defaultdict(lambda: {"impressions": 0, "users": 0, "rated_after_shown": 0, "clicks": 0})
    for row in impressions.order_by().annotate(day=TruncDate("created_at")).values("day").annotate(**COUNTS):
        days[row["day"]].update(impressions=row["impressions"], users=row["users"])
    for event in attributed_events("rated", impressions):
        days[event["at"].date()]["rated_after_shown"] += 1
    for click in attributed_clicks(impressions):
        days[click["at"].date()]["clicks"] += 1
    return [{"day": day, **v} for day, v in sorted(days.items())]
