"""The Wilson score interval (recommender/impressions/stats.py) on known cases."""

import pytest

from recommender.impressions.stats import rate, wilson_interval


def test_half_of_ten_gives_the_textbook_interval():
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-4) and high == pytest.approx(0.7634, abs=1e-4)


def test_none_and_all_stay_inside_zero_and_one():
    assert wilson_interval(0, 10) == pytest.approx((0.0, 3.8415 / 13.8415), abs=1e-4)  # upper z²/(n+z²)
    low, high = wilson_interval(10, 10)
    assert high == pytest.approx(1.0) and low == pytest.approx(1 - 3.8415 / 13.8415, abs=1e-4)


def test_a_larger_sample_matches_the_formula_worked_by_hand():
    # 81 of 263 (p = 0.308): centre 0.3118, half-width 0.0558 (z = 1.96)
    low, high = wilson_interval(81, 263)
    assert low == pytest.approx(0.2553, abs=2e-4) and high == pytest.approx(0.3662, abs=2e-4)


def test_no_trials_has_no_rate_and_bad_counts_are_refused():
    assert wilson_interval(0, 0) is None
    assert rate(0, 0) == {"successes": 0, "trials": 0, "rate": None, "ci95": None}
    assert rate(1, 4)["rate"] == 0.25 and len(rate(1, 4)["ci95"]) == 2
    with pytest.raises(ValueError):
        wilson_interval(5, 4)
