"""train_model / evaluate_model / batch_recommend through call_command on the package's tiny model (v1, trained by
`train_model` in conftest.py), and the quality gate refusing a version that learned nothing."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from movies.models import Profile, Rating
from recommender.models import ModelVersion
from recommender.vectorstore import get_vector_store

pytestmark = [
    pytest.mark.slow(reason="the package trains a tiny model once (train_model) and serves it from Milvus Lite"),
    pytest.mark.django_db,
]


def test_train_model_records_a_complete_version(training):
    version, output = training
    assert version.status == ModelVersion.Status.ACTIVE  # activated by the pipeline: conftest forces nothing
    assert version.gate_passed is True and "beats MostPop" in version.gate_reason
    assert version.metrics["model"]["ndcg@10"] > version.metrics["baselines"]["MostPop"]["ndcg@10"]
    assert set(version.metrics["baselines"]) == {"MostPop", "ItemKNN", "EASE", "ALS"}
    for key in ("recall@10", "ndcg@10", "hit@50", "precision@20", "coverage@50", "ndcg@10_se"):
        assert 0.0 <= version.metrics["model"][key] <= 1.0
    assert [row["epoch"] for row in version.curve] == list(range(1, len(version.curve) + 1))
    assert get_vector_store().live_version() == version.number
    assert get_vector_store().count() == 60
    # measured on the holdout, served after a refit on every rating (with the co-rating table beside it)
    served = Path(version.artifact_path)
    assert served.name == "model" and (served.parent / "holdout" / "model.json").exists()
    assert (served / "neighbours.npz").exists()
    # the second stage was fitted and judged on the holdout; its files sit beside the model only when kept
    ranker = version.metrics["ranker"]
    assert ranker["users"] == 40 and 0.0 <= ranker["tower_ndcg10"] <= 1.0 and 0.0 <= ranker["ranked_ndcg10"] <= 1.0
    assert ranker["keep"] == (ranker["ranked_ndcg10"] - ranker["tower_ndcg10"] > ranker["gain_se"])
    assert (served / "ranker.txt").exists() == ranker["keep"]
    assert set(version.metrics["stage_seconds"]) == {"training", "evaluating", "ranking", "refitting", "indexing"}
    assert version.progress["stage"] == "done"
    # the printed table has the model and every baseline
    for label in ("two-tower", "MostPop", "ItemKNN", "EASE", "ALS", "gate:"):
        assert label in output


def test_evaluate_model_prints_the_table(trained):
    out = StringIO()
    call_command("evaluate_model", stdout=out)
    assert "model v1 (active)" in out.getvalue() and "EASE" in out.getvalue()
    with pytest.raises(CommandError, match="no model version 99"):
        call_command("evaluate_model", "--model-version", "99")


def test_train_model_refuses_bad_config(trained, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("no_such_setting = 3\n")
    with pytest.raises(CommandError):
        call_command("train_model", "--config", str(bad))
    with pytest.raises(CommandError):
        call_command("train_model", "--config", str(tmp_path / "missing.toml"))
    assert not ModelVersion.objects.exclude(number=1).exists()


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_batch_recommend_writes_one_record_per_user_without_rated_movies(trained, tmp_path, fmt):
    output = tmp_path / f"recs.{fmt}"
    call_command("batch_recommend", "--k", "7", "--output", str(output), "--users", "3", "5", "8", verbosity=0)
    lines = output.read_text().splitlines()
    if fmt == "jsonl":
        records = [json.loads(line) for line in lines]
        per_user = {r["user_id"]: r["items"] for r in records}
        assert all(set(r) == {"user_id", "items"} for r in records)
    else:
        assert lines[0] == "user_id,rank,movie_id"
        per_user: dict[int, list[int]] = {}
        for line in lines[1:]:
            user, rank, movie = map(int, line.split(","))
            per_user.setdefault(user, []).append(movie)
            assert rank == len(per_user[user])
    assert sorted(per_user) == [3, 5, 8]
    for movielens_id, items in per_user.items():
        user_pk = Profile.objects.get(movielens_id=movielens_id).user_id
        rated = set(Rating.objects.filter(user_id=user_pk).values_list("movie_id", flat=True))
        assert len(items) == 7 and len(set(items)) == 7
        assert not rated & set(items)


def test_batch_recommend_all_users_and_bad_input(trained, tmp_path):
    output = tmp_path / "all.jsonl"
    call_command("batch_recommend", "--k", "3", "--output", str(output), verbosity=0)
    assert len(output.read_text().splitlines()) == Profile.objects.exclude(movielens_id=None).count()
    with pytest.raises(CommandError, match="unknown MovieLens user ids: \\[999\\]"):
        call_command("batch_recommend", "--output", str(tmp_path / "x.jsonl"), "--users", "999")
    with pytest.raises(CommandError, match="k must be between"):
        call_command("batch_recommend", "--k", "0", "--output", str(tmp_path / "y.jsonl"))
    assert not (tmp_path / "x.jsonl").exists()


def test_refit_serves_the_newest_ratings_and_the_gate_rescores_the_active_version(trained, tiny_config):
    """v2 is trained after new ratings arrive: its served model knows a movie rated only in the newest ratings
    (the holdout model cannot), and the gate compares it with v1's holdout model re-scored on v2's split."""
    from datetime import timedelta

    from movies.models import Movie
    from recommender.ml.model import TwoTowerModel
    from recommender.services.vectors import model_version_activate

    v1 = trained
    fresh = Movie.objects.create(id=61, title="Brand new film 61", year=2026)
    latest = Rating.objects.order_by("-rated_at").values_list("rated_at", flat=True).first()
    users = list(Profile.objects.exclude(movielens_id=None).values_list("user_id", flat=True)[:12])
    Rating.objects.bulk_create(
        [Rating(user_id=u, movie=fresh, score=5, rated_at=latest + timedelta(days=1 + i)) for i, u in enumerate(users)]
    )
    try:
        call_command("train_model", "--config", tiny_config, "--epochs", "2", "--seed", "2", verbosity=0)
        v2 = ModelVersion.objects.get(number=2)
        served = TwoTowerModel.load(v2.artifact_path)
        holdout = TwoTowerModel.load(Path(v2.artifact_path).parent / "holdout")
        assert served.encoder.movie_index([61])[0] > 0  # the refit saw the newest ratings
        assert holdout.encoder.movie_index([61])[0] == 0  # every rating of movie 61 is held out
        active = v2.metrics["active"]
        assert active["version"] == 1 and "re-scored" in v2.metrics["active_note"]
        assert active["users"] == v2.metrics["model"]["users"]  # the same split's users
        assert active["ndcg@10"] != v1.metrics["model"]["ndcg@10"]  # re-scored on the new split, not copied
        assert v2.gate_reason and ("same split" in v2.gate_reason or "MostPop" in v2.gate_reason)
    finally:
        ModelVersion.objects.filter(number=2).exclude(status=ModelVersion.Status.ACTIVE).delete()
        if ModelVersion.objects.filter(number=2).exists():
            model_version_activate(version=ModelVersion.objects.get(number=1))
            ModelVersion.objects.filter(number=2).delete()
        if 2 in get_vector_store().list_versions():
            get_vector_store().drop_collection(2)
        Rating.objects.filter(movie=fresh).delete()
        fresh.delete()


def test_a_version_the_gate_refuses_stays_inactive_and_unserved(trained, tmp_path, settings):
    """v2 learns nothing (learning rate 0): the gate compares it with v1 re-scored on the same split and refuses
    it; it is kept (inactive, with its reason and metrics) but never indexed, and v1 keeps serving."""
    import shutil

    from recommender.services.recommendations import recommend_for_user
    from tests.tiny import TINY_TRAIN_CONFIG

    config = tmp_path / "untrained.toml"
    config.write_text("".join(f"{k} = {v}\n" for k, v in {**TINY_TRAIN_CONFIG, "learning_rate": 0.0}.items()))
    out = StringIO()
    try:
        call_command("train_model", "--config", str(config), "--epochs", "1", stdout=out, verbosity=0)
        v2 = ModelVersion.objects.get(number=2)
        assert v2.status == ModelVersion.Status.INACTIVE and v2.gate_passed is False
        assert "worse than the active version" in v2.gate_reason or "does not beat MostPop" in v2.gate_reason
        assert f"gate: refused - {v2.gate_reason}" in out.getvalue()
        assert v2.metrics["active"]["version"] == 1 and not v2.collection_name
        assert get_vector_store().list_versions() == [1] and get_vector_store().live_version() == 1
        ModelVersion.objects.get(number=1, status=ModelVersion.Status.ACTIVE)
        user = Profile.objects.get(movielens_id=7).user
        assert recommend_for_user(user=user, k=5).model_version == 1
    finally:
        for number in set(get_vector_store().list_versions()) - {1}:
            get_vector_store().drop_collection(number)
        shutil.rmtree(Path(settings.MODEL_DIR) / "v2", ignore_errors=True)


def test_batch_recommend_retries_a_search_that_timed_out(trained, tmp_path, monkeypatch, caplog):
    """A busy machine's deadline error is retried (real Milvus answers the retry); the file is complete."""
    from recommender.services import batch
    from recommender.vectorstore import VectorStoreError

    store = get_vector_store()
    real = store.search_many
    failures = iter([VectorStoreError("search movies_live failed: DEADLINE_EXCEEDED")])

    def flaky(*args, **kwargs):
        error = next(failures, None)
        if error is not None:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "search_many", flaky)
    monkeypatch.setattr(batch.time, "sleep", lambda seconds: None)
    output = tmp_path / "retried.jsonl"
    call_command("batch_recommend", "--k", "5", "--output", str(output), verbosity=0)
    assert len(output.read_text().splitlines()) == Profile.objects.exclude(movielens_id=None).count()
    assert "retrying" in caplog.text


def test_batch_recommend_says_when_the_store_is_down(trained, tmp_path, monkeypatch):
    from recommender.services import batch
    from recommender.vectorstore import VectorStoreError

    def down(*args, **kwargs):
        raise VectorStoreError("search movies_live failed: connection refused")

    monkeypatch.setattr(get_vector_store(), "search_many", down)
    monkeypatch.setattr(batch.time, "sleep", lambda seconds: None)
    with pytest.raises(CommandError, match="the vector store did not answer"):
        call_command("batch_recommend", "--k", "5", "--output", str(tmp_path / "x.jsonl"), verbosity=0)
    assert list(tmp_path.iterdir()) == []  # neither the file nor a partial one
