"""The quality gate's decisions (table-driven)."""

import pytest

from recommender.services.gate import gate_decide


def metrics(ndcg, se=0.01, mostpop=0.10):
    return {"model": {"ndcg@10": ndcg, "ndcg@10_se": se}, "baselines": {"MostPop": {"ndcg@10": mostpop}}}


@pytest.mark.parametrize(
    ("candidate", "active", "passed", "fragment"),
    [
        (metrics(0.20), None, True, "no active version"),
        (metrics(0.09), None, False, "does not beat MostPop"),
        (metrics(0.10), None, False, "does not beat MostPop"),  # a tie is not a win
        (metrics(0.19), metrics(0.20), True, "vs active"),  # worse, but within 2 SE of the difference
        (metrics(0.15, se=0.005), metrics(0.20, se=0.005), False, "worse than the active version"),
        (metrics(0.25), metrics(0.20), True, "vs active"),
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
    assert gate_decide(candidate=metrics(0.101, se=0.03, mostpop=0.0), active=metrics(0.20, se=0.04))[0] is True
    assert gate_decide(candidate=metrics(0.099, se=0.03, mostpop=0.0), active=metrics(0.20, se=0.04))[0] is False
