"""Binomial proportions with an honest interval (pure Python, no Django)."""

import math

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of successes/trials (95% by default); None when there are no trials.

    Unlike the normal approximation it stays inside [0, 1] and is sensible at 0 or n successes and small n.
    """
    if trials <= 0:
        return None
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must lie in 0..{trials}, got {successes}")
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def rate(successes: int, trials: int) -> dict:
    """{"successes", "trials", "rate", "ci95": [lo, hi]} (rate and ci95 null without trials)."""
    interval = wilson_interval(successes, trials)
    return {
        "successes": successes,
        "trials": trials,
        "rate": successes / trials if trials else None,
        "ci95": [round(interval[0], 6), round(interval[1], 6)] if interval else None,
    }
