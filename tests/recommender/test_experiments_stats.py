"""The experiments' pure parts: the stable split of users into arms and Newcombe's interval for a difference."""

import os
import subprocess
import sys

import pytest

from recommender.experiments.split import CANDIDATE, CONTROL, arm_of, bucket
from recommender.experiments.stats import difference, newcombe_interval


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "low", "high"),
    [  # Newcombe (1998), Stat Med 17:873-890, Table II, method 10 (hybrid score): three of its examples
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (5, 56, 0, 29, -0.0381, 0.1926),
    ],
)
def test_newcombe_hybrid_interval_matches_the_published_cases(x1, n1, x2, n2, low, high):
    got = newcombe_interval(x1, n1, x2, n2)
    assert got == (pytest.approx(low, abs=1e-4), pytest.approx(high, abs=1e-4))


def test_the_difference_is_candidate_minus_control_and_null_without_users():
    assert difference(56, 70, 48, 80)["value"] == pytest.approx(0.2)
    assert difference(48, 80, 56, 70)["ci95"] == [pytest.approx(-0.3339, abs=1e-4), pytest.approx(-0.0524, abs=1e-4)]
    assert difference(3, 10, 0, 0) == {"value": None, "ci95": None, "method": "newcombe_hybrid_wilson"}


def test_the_split_is_near_the_share_and_differs_between_experiments():
    users = range(1, 20001)
    for share in (0.5, 0.2):
        on_candidate = sum(arm_of(7, u, share) == CANDIDATE for u in users) / len(users)
        assert on_candidate == pytest.approx(share, abs=0.015)
    first = [arm_of(1, u, 0.5) for u in range(1, 1001)]
    second = [arm_of(2, u, 0.5) for u in range(1, 1001)]
    assert 400 < sum(a != b for a, b in zip(first, second, strict=True)) < 600  # a fresh split per experiment
    assert {arm_of(1, u, 0.5) for u in range(1, 50)} == {CONTROL, CANDIDATE}


def test_the_split_is_the_same_in_another_process():
    """sha256, not hash(): another process with another PYTHONHASHSEED puts every user in the same arm."""
    code = "from recommender.experiments.split import bucket; print([bucket(3, u) for u in range(1, 200)])"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.strip() == str([bucket(3, u) for u in range(1, 200)])
