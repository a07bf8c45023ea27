"""The difference of two independent proportions with a 95% interval (pure Python, no Django)."""

import math

from recommender.impressions.stats import Z95, wilson_interval


def newcombe_interval(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> tuple[float, float] | None:
    """Newcombe's hybrid score interval (method 10 of Newcombe 1998, Stat Med 17:873-890) for p1 - p2, from the
    Wilson intervals of each proportion; None when either has no trials. Unlike the Wald interval it behaves at
    0 or n successes and small n."""
    first, second = wilson_interval(x1, n1, z), wilson_interval(x2, n2, z)
    if first is None or second is None:
        return None
    p1, p2 = x1 / n1, x2 / n2
    (l1, u1), (l2, u2) = first, second
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(-1.0, low), min(1.0, high)


def difference(x1: int, n1: int, x2: int, n2: int) -> dict:
    """{"value": p1 - p2, "ci95": [lo, hi], "method"} (value and ci95 null when an arm has no trials)."""
    interval = newcombe_interval(x1, n1, x2, n2)
    return {
        "value": round(x1 / n1 - x2 / n2, 6) if n1 and n2 else None,
        "ci95": [round(interval[0], 6), round(interval[1], 6)] if interval else None,
        "method": "newcombe_hybrid_wilson",
    }
