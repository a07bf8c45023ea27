"""A/B experiments through the real stack (issue #25, item 4): two tiny versions trained by `train_model`, Milvus
Lite, the API's recommendation endpoints, impressions and read-time attribution.

v1 is active, v2 complete and inactive with its collection (the module's fixture); each test starts its own
experiment in its transaction. A test that moves the Milvus alias (promote) moves it back."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command

from recommender.experiments.assignment import running
from recommender.experiments.models import Experiment
from recommender.experiments.split import CANDIDATE, arm_of
from recommender.impressions.models import Impression
from recommender.models import ModelVersion
from recommender.serving import registry
from recommender.vectorstore import get_vector_store
from tests.factories import UserFactory, token_client
from tests.tiny import tiny_config_write, tiny_model_trained

pytestmark = pytest.mark.slow(reason="trains two tiny versions through train_model and indexes them in Milvus Lite")
Status = ModelVersion.Status


def _candidate_ready(v1: ModelVersion) -> ModelVersion:
    """v2 complete, inactive, with its collection, never activated (not the rollback target); v1 live."""
    from recommender.services.vectors import model_version_activate, model_version_index

    v2 = ModelVersion.objects.get(number=2)
    if v2.status == Status.ACTIVE:
        model_version_activate(version=v1)
        v2.refresh_from_db()
    if 2 not in get_vector_store().list_versions():
        model_version_index(version=v2)
    ModelVersion.objects.filter(pk=v2.pk).update(status=Status.INACTIVE, activated_at=None)
    v2.refresh_from_db()
    registry.reset()
    return v2


@pytest.fixture(scope="module")
def versions(django_db_setup, django_db_blocker, tmp_path_factory):
    """(v1 active, v2 a complete candidate), committed for this module."""
    config = tiny_config_write(tmp_path_factory.mktemp("config"))
    with django_db_blocker.unblock(), tiny_model_trained(config) as (v1, _):
        call_command("train_model", "--config", config, "--seed", "3", stdout=StringIO(), verbosity=0)
        v2 = _candidate_ready(v1)
        v1.refresh_from_db()
        assert v1.status == Status.ACTIVE and get_vector_store().live_version() == 1
        yield v1, v2


def _user(n: int):
    return get_user_model().objects.get(username=f"ml{n}")


def _start(staff, share=0.5) -> dict:
    response = staff.post("/api/experiments/", {"candidate": 2, "share": share}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_bad_input_and_refusals_say_why(versions, operator, db):
    user = token_client(_user(1))
    assert user.post("/api/experiments/", {"candidate": 2}, format="json").status_code == 403
    assert token_client().get("/api/experiments/").status_code == 401
    for body, field in (
        ({}, "candidate"),
        ({"candidate": "two"}, "candidate"),
        ({"candidate": 2, "share": 0}, "share"),
        ({"candidate": 2, "share": 1.5}, "share"),
        ({"candidate": 2, "share": "half"}, "share"),
        ({"candidate": 99}, "candidate"),
    ):
        response = operator.post("/api/experiments/", body, format="json")
        assert response.status_code == 400, (body, response.json())
        assert response.json()["message"].startswith(f"{field}:") and field in response.json()["extra"]["fields"]
    active = operator.post("/api/experiments/", {"candidate": 1}, format="json")
    assert active.status_code == 409 and "active version" in active.json()["message"]
    ModelVersion.objects.filter(number=2).update(status=Status.FAILED)
    failed = operator.post("/api/experiments/", {"candidate": 2}, format="json")
    assert failed.status_code == 409 and "is failed" in failed.json()["message"]
    ModelVersion.objects.filter(number=2).update(status=Status.INACTIVE)
    assert operator.get("/api/experiments/999/").status_code == 404
    assert not Experiment.objects.exists()


def test_one_experiment_at_a_time_then_stop(versions, operator, db):
    started = _start(operator)
    assert (started["status"], started["control"], started["candidate"], started["share"]) == ("running", 1, 2, 0.5)
    again = operator.post("/api/experiments/", {"candidate": 2, "share": 0.3}, format="json")
    assert again.status_code == 409 and f"experiment {started['id']}" in again.json()["message"]
    assert "one experiment at a time" in again.json()["message"]
    listed = operator.get("/api/experiments/").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == started["id"]
    stopped = operator.post(f"/api/experiments/{started['id']}/stop/")
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped" and stopped.json()["ended_at"]
    assert operator.post(f"/api/experiments/{started['id']}/stop/").status_code == 409
    assert operator.post(f"/api/experiments/{started['id']}/promote/").status_code == 409
    for n in range(1, 41):  # after the stop everyone is on the live version
        assert token_client(_user(n)).get("/api/me/recommendations/?k=3").json()["model_version"] == 1
    assert _start(operator)["status"] == "running"  # a new one may start


def test_a_sticky_half_split_serves_both_versions_and_counts_them(versions, operator, db):
    """40 users ask twice: each sees one version both times, both serve; 20 rate the first movie shown; the
    experiment reports both arms, 80 impressions and exactly 20 ratings after shown."""
    experiment = _start(operator)
    seen, firsts = {}, {}
    for n in range(1, 41):
        client = token_client(_user(n))
        answers = [client.get("/api/me/recommendations/?k=5").json() for _ in range(2)]
        versions_seen = {a["model_version"] for a in answers}
        assert len(versions_seen) == 1 and not answers[0]["fallback"]
        seen[n] = versions_seen.pop()
        expected = 2 if arm_of(experiment["id"], _user(n).pk, 0.5) == CANDIDATE else 1
        assert seen[n] == expected
        assert Impression.objects.get(pk=answers[0]["impression_id"]).model_version.number == expected
        firsts[n] = answers[0]["items"][0]["movie"]["id"]
    assert set(seen.values()) == {1, 2}
    raters = list(range(1, 41, 2))  # 20 users
    for n in raters:
        response = token_client(_user(n)).put(f"/api/me/ratings/{firsts[n]}/", {"score": 4}, format="json")
        assert response.status_code == 201
    body = operator.get(f"/api/experiments/{experiment['id']}/").json()
    control, candidate = body["arms"]
    assert (control["arm"], control["version"], candidate["arm"], candidate["version"]) == (
        "control",
        1,
        "candidate",
        2,
    )
    on_candidate = sum(v == 2 for v in seen.values())
    assert (candidate["users"], control["users"]) == (on_candidate, 40 - on_candidate)
    assert candidate["impressions"] + control["impressions"] == 80
    assert candidate["rated_after_shown"] + control["rated_after_shown"] == 20
    assert candidate["rated_after_shown"] == sum(seen[n] == 2 for n in raters)
    for arm in (control, candidate):
        assert arm["conversion"] == pytest.approx(arm["rated_after_shown"] / arm["users"])
        assert arm["ci95"][0] <= arm["conversion"] <= arm["ci95"][1]
    diff = body["difference"]
    assert diff["value"] == pytest.approx(candidate["conversion"] - control["conversion"], abs=1e-6)
    assert diff["ci95"][0] <= diff["value"] <= diff["ci95"][1] and diff["method"] == "newcombe_hybrid_wilson"


def test_rank_similar_and_home_serve_the_arm_cold_start_and_anonymous_stay_on_control(versions, operator, db):
    from recommender.services.recommendations import recommend_home

    experiment = _start(operator, share=0.5)
    on_candidate = next(n for n in range(1, 41) if arm_of(experiment["id"], _user(n).pk, 0.5) == CANDIDATE)
    client = token_client(_user(on_candidate))
    assert client.post("/api/rank/", {"movie_ids": [1, 2, 3]}, format="json").json()["model_version"] == 2
    assert client.get("/api/movies/7/similar/?k=5").json()["model_version"] == 2
    home = recommend_home(user=_user(on_candidate), k=5, rows=2, row_k=3)
    assert home.for_you.model_version == 2 and all(row.model_version == 2 for _, row in home.genre_rows)
    assert token_client().get("/api/movies/7/similar/?k=5").json()["model_version"] == 1  # anonymous
    cold = [UserFactory(username=f"new{i}") for i in range(12)]  # no ratings: popularity, or v1 for similar
    for user in cold:
        answer = token_client(user).get("/api/me/recommendations/?k=3").json()
        assert answer["model_version"] is None and answer["fallback"]
        assert token_client(user).get("/api/movies/7/similar/?k=3").json()["model_version"] == 1
    assert any(arm_of(experiment["id"], u.pk, 0.5) == CANDIDATE for u in cold)


def test_the_experiment_survives_a_worker_restart(versions, operator, db):
    """All that decides the arms is in the database: a process that forgets everything serves the same arms."""
    experiment = _start(operator)
    before = {
        n: token_client(_user(n)).get("/api/me/recommendations/?k=3").json()["model_version"] for n in range(1, 21)
    }
    registry.reset(), running.reset(), cache.clear()  # a fresh worker: no loaded model, no cached state
    after = {
        n: token_client(_user(n)).get("/api/me/recommendations/?k=3").json()["model_version"] for n in range(1, 21)
    }
    assert after == before and set(after.values()) == {1, 2}
    body = operator.get(f"/api/experiments/{experiment['id']}/").json()
    assert body["status"] == "running" and sum(a["impressions"] for a in body["arms"]) == 40


def test_promote_activates_the_candidate_through_the_activation_path(versions, operator, db):
    from recommender.services.vectors import model_version_activate

    v1, _ = versions
    experiment = _start(operator)
    try:
        promoted = operator.post(f"/api/experiments/{experiment['id']}/promote/")
        assert promoted.status_code == 200 and promoted.json()["status"] == "promoted"
        assert ModelVersion.objects.get(number=2).status == Status.ACTIVE
        assert ModelVersion.objects.get(number=1).status == Status.INACTIVE  # kept for rollback
        assert get_vector_store().live_version() == 2
        for n in range(1, 11):
            assert token_client(_user(n)).get("/api/me/recommendations/?k=3").json()["model_version"] == 2
        assert operator.post("/api/experiments/", {"candidate": 1}, format="json").status_code == 201  # v1 may be next
    finally:
        model_version_activate(version=ModelVersion.objects.get(pk=v1.pk))  # the alias back on v1 (rows roll back)
        registry.reset()


def test_the_running_candidate_keeps_its_collection(versions, operator, db):
    """collections_retire (after an activation, e.g. a retrain) keeps a running experiment's candidate."""
    from recommender.services.vectors import collections_retire

    _start(operator)
    assert collections_retire(keep=1) == []
    assert 2 in get_vector_store().list_versions()
    assert ModelVersion.objects.get(number=2).status == Status.INACTIVE


def test_a_candidate_whose_collection_is_gone_is_refused(versions, operator, db):
    from recommender.services.vectors import model_version_index

    _, v2 = versions
    get_vector_store().drop_collection(2)
    try:
        response = operator.post("/api/experiments/", {"candidate": 2}, format="json")
        assert response.status_code == 409 and "no Milvus collection" in response.json()["message"]
    finally:
        model_version_index(version=v2)
        ModelVersion.objects.filter(pk=v2.pk).update(status=Status.INACTIVE)


def test_the_admin_starts_shows_and_stops_an_experiment(versions, db):
    from django.test import Client

    admin = UserFactory(username="admin-operator", staff=True)
    admin.is_superuser = True
    admin.save()
    client = Client()
    client.force_login(admin)
    _, v2 = versions
    refused = client.post("/admin/recommender/experiment/add/", {"candidate": v2.pk, "share": "1.5"})
    assert refused.status_code == 200 and not Experiment.objects.exists()  # the form again, with the error
    added = client.post("/admin/recommender/experiment/add/", {"candidate": v2.pk, "share": "0.5"})
    assert added.status_code == 302, added.content.decode()[:2000]
    experiment = Experiment.objects.get()
    assert (experiment.status, experiment.control.number, experiment.candidate.number) == ("running", 1, 2)
    again = client.post("/admin/recommender/experiment/add/", {"candidate": v2.pk, "share": "0.5"})
    assert "one experiment at a time" in again.content.decode()
    page = client.get(f"/admin/recommender/experiment/{experiment.pk}/change/")
    assert page.status_code == 200 and "conversion" in page.content.decode()
    assert client.get("/admin/recommender/experiment/").status_code == 200
    stop = {"action": "stop", "_selected_action": [experiment.pk]}
    assert client.post("/admin/recommender/experiment/", stop).status_code == 302
    experiment.refresh_from_db()
    assert experiment.status == "stopped" and experiment.ended_at is not None
