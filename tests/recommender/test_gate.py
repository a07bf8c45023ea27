"""The quality gate's decisions (table-driven)."""

import pytest

from recommender.services.gate import gate_decide


def metrics(ndcg, se=0.01, mostpop=0.10):
    return {"model": {"ndcg@10": ndcg, "ndcg@10_se": se}, "baselines": {"MostPop": {"ndcg@10": mostpop}}}


def rescored(ndcg, se=0.01):
    """The active version's holdout model re-scored on the candidate's split (a flat metric dict)."""
    return {"version": 1, "ndcg@10": ndcg, "ndcg@10_se": se}


@pytest.mark.parametrize(
    ("candidate", "active", "passed", "fragment"),
    [
        (metrics(0.20), None, True, "no active version"),
        (metrics(0.09), None, False, "does not beat MostPop"),
        (metrics(0.10), None, False, "does not beat MostPop"),  # a tie is not a win
        (metrics(0.19), rescored(0.20), True, "on the same split"),  # worse, but within 2 SE of the difference
        (metrics(0.15, se=0.005), rescored(0.20, se=0.005), False, "worse than the active version"),
        (metrics(0.25), rescored(0.20), True, "vs active"),
        ({"model": {}, "baselines": {}}, None, False, "no ndcg@10"),
        ({"model": {"ndcg@10": float("nan")}, "baselines": {}}, None, False, "no ndcg@10"),
    ],
)
def test_gate_decisions(candidate, active, passed, fragment):
    ok, reason = gate_decide(candidate=candidate, active=active)
    assert ok is passed
    assert fragment in reason


def test_noise_band_is_two_standard_errors_of_the_difference():
    # se 0.03 and 0.04 -> sqrt(0.0009 + 0.0016) = 0.05 -> band 0.10
    assert gate_decide(candidate=metrics(0.101, se=0.03, mostpop=0.0), active=rescored(0.20, se=0.04))[0] is True
    assert gate_decide(candidate=metrics(0.099, se=0.03, mostpop=0.0), active=rescored(0.20, se=0.04))[0] is False


def test_active_that_cannot_be_rescored_is_named_in_the_reason():
    ok, reason = gate_decide(candidate=metrics(0.20), active=None, active_note="active v3 cannot be re-scored (gone)")
    assert ok is True
    assert "active v3 cannot be re-scored" in reason
