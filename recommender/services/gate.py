"""The quality gate: when may a newly trained version replace the live one?

Rule (NDCG@10, relevant = all held-out movies, same protocol for every version):
1. it must beat MostPop computed in the same run on the same split: ndcg > mostpop_ndcg;
2. it must not be worse than the active version beyond noise: ndcg >= active_ndcg - 2 * sqrt(se_new^2 + se_active^2),
   where se is the standard error of the per-user NDCG@10 (two standard errors of the difference ~ 95%).
   (The two were measured on their own splits of the data as it was then; with growing data this is the
   honest comparison available without re-scoring the old model.)
"""

import math

METRIC = "ndcg@10"


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def gate_decide(*, candidate: dict, active: dict | None) -> tuple[bool, str]:
    """(passed, reason) for candidate metrics {"model": {...}, "baselines": {...}} against the active version's."""
    model = candidate.get("model", {})
    ndcg = model.get(METRIC)
    if ndcg is None or math.isnan(ndcg):
        return False, f"no {METRIC} was measured"
    mostpop = candidate.get("baselines", {}).get("MostPop", {}).get(METRIC)
    if mostpop is not None and not ndcg > mostpop:
        return False, f"{METRIC} {ndcg:.4f} does not beat MostPop ({mostpop:.4f})"
    if not active or METRIC not in active.get("model", {}):
        return (
            True,
            f"{METRIC} {ndcg:.4f} beats MostPop ({_fmt(mostpop)}); no active version",
        )
    old = active["model"][METRIC]
    noise = 2 * math.sqrt(model.get(f"{METRIC}_se", 0.0) ** 2 + active["model"].get(f"{METRIC}_se", 0.0) ** 2)
    if ndcg < old - noise:
        return (
            False,
            f"{METRIC} {ndcg:.4f} is worse than the active version's {old:.4f} by more than noise ({noise:.4f})",
        )
    return True, f"{METRIC} {ndcg:.4f} vs active {old:.4f} (noise {noise:.4f}) and MostPop {_fmt(mostpop)}"
