"""The quality gate: when may a newly trained version replace the live one?

Both sides are measured on the same split of today's data (NDCG@10, relevant = all held-out movies):
the candidate's holdout model, and the active version's holdout model re-scored on this split (it was fitted
on an earlier, smaller train part, so it never saw these held-out ratings). Rule:
1. the candidate must beat MostPop computed in the same run on the same split: ndcg > mostpop_ndcg;
2. it must not be worse than the active version beyond noise: ndcg >= active_ndcg - 2 * sqrt(se_new^2 + se_active^2),
   where se is the standard error of the per-user NDCG@10 (two standard errors of the difference ~ 95%).
When the active version cannot be re-scored (its holdout model is gone or from an older design), only rule 1
applies and the reason says so.
"""

import math

METRIC = "ndcg@10"


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def gate_decide(*, candidate: dict, active: dict | None, active_note: str = "no active version") -> tuple[bool, str]:
    """(passed, reason) for candidate metrics {"model": {...}, "baselines": {...}} against the active version's
    metrics on the same split (a flat metric dict, or None when there is none to compare with)."""
    model = candidate.get("model", {})
    ndcg = model.get(METRIC)
    if ndcg is None or math.isnan(ndcg):
        return False, f"no {METRIC} was measured"
    mostpop = candidate.get("baselines", {}).get("MostPop", {}).get(METRIC)
    if mostpop is not None and not ndcg > mostpop:
        return False, f"{METRIC} {ndcg:.4f} does not beat MostPop ({mostpop:.4f})"
    if not active or METRIC not in active:
        return True, f"{METRIC} {ndcg:.4f} beats MostPop ({_fmt(mostpop)}); {active_note}"
    old = active[METRIC]
    noise = 2 * math.sqrt(model.get(f"{METRIC}_se", 0.0) ** 2 + active.get(f"{METRIC}_se", 0.0) ** 2)
    if ndcg < old - noise:
        return (
            False,
            f"{METRIC} {ndcg:.4f} is worse than the active version's {old:.4f} on the same split "
            f"by more than noise ({noise:.4f})",
        )
    same = f"{METRIC} {ndcg:.4f} vs active {old:.4f} on the same split"
    return True, f"{same} (noise {noise:.4f}); MostPop {_fmt(mostpop)}"
