"""The figures of an experiment's arms, from the impressions recorded while it ran (read-time attribution).

An arm's impressions are the model lists (not popularity: cold-start users stay on control and are shown
popularity) shown between the start and the end: the candidate arm's are the candidate version's; the control
arm's are those of any other version (the live one, a retrained one activated meanwhile included) shown to users
the split puts in the control arm. A rating counts when its latest showing of the movie to that user (within
ATTRIBUTION_WINDOW_DAYS) is one of the arm's impressions and it came before the end. Conversion is per user: users
who rated a movie shown to them / users shown a list in that arm, with its 95% Wilson interval; the difference
(candidate - control) with Newcombe's hybrid score interval.
"""

from django.utils import timezone

from recommender.impressions.models import Impression
from recommender.impressions.selectors import attributed_events, impression_counts, per_user_rate

from .models import Experiment
from .split import CANDIDATE, CONTROL, arm_of
from .stats import difference


def arm_impressions(experiment: Experiment) -> dict[str, object]:
    """{"control": queryset, "candidate": queryset} of the impressions each arm was shown during the experiment."""
    during = Impression.objects.filter(created_at__gte=experiment.started_at, model_version__isnull=False)
    if experiment.ended_at is not None:
        during = during.filter(created_at__lte=experiment.ended_at)
    others = during.exclude(model_version_id=experiment.candidate_id)
    users = others.values_list("user_id", flat=True).distinct()
    control_users = [u for u in users if arm_of(experiment.pk, u, experiment.share) == CONTROL]
    return {
        CONTROL: others.filter(user_id__in=control_users),
        CANDIDATE: during.filter(model_version_id=experiment.candidate_id),
    }


def _arm(name: str, version: int, impressions, end) -> dict:
    counts = impression_counts(impressions)
    rated = [e for e in attributed_events("rated", impressions) if e["at"] <= end]
    conversion = per_user_rate(rated, counts["users"])
    return {
        "arm": name,
        "version": version,
        "users": conversion["trials"],
        "impressions": counts["impressions"],
        "rated_after_shown": len(rated),
        "converted_users": conversion["successes"],
        "conversion": conversion["rate"],
        "ci95": conversion["ci95"],
    }


def experiment_figures(experiment: Experiment) -> dict:
    """{"arms": [control, candidate], "difference": {"value", "ci95", "method"}}."""
    end = experiment.ended_at or timezone.now()
    parts = arm_impressions(experiment)
    control = _arm(CONTROL, experiment.control.number, parts[CONTROL], end)
    candidate = _arm(CANDIDATE, experiment.candidate.number, parts[CANDIDATE], end)
    diff = difference(candidate["converted_users"], candidate["users"], control["converted_users"], control["users"])
    return {"arms": [control, candidate], "difference": diff}
