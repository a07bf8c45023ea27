"""train_model / evaluate_model / batch_recommend through call_command on a tiny trained model."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from movies.models import Profile, Rating
from recommender.models import ModelVersion
from recommender.vectorstore import get_vector_store

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def test_train_model_records_a_complete_version(trained):
    version, output = trained
    assert version.status == ModelVersion.Status.ACTIVE
    assert version.gate_reason and version.gate_passed is not None
    assert set(version.metrics["baselines"]) == {"MostPop", "ItemKNN", "EASE", "ALS"}
    for key in ("recall@10", "ndcg@10", "hit@50", "precision@20", "coverage@50", "ndcg@10_se"):
        assert 0.0 <= version.metrics["model"][key] <= 1.0
    assert [row["epoch"] for row in version.curve] == list(range(1, len(version.curve) + 1))
    assert (Path(version.artifact_path).parent / "curve.png").stat().st_size > 1000
    assert get_vector_store().live_version() == version.number
    assert get_vector_store().count() == 60
    # the printed table has the model and every baseline
    for label in ("two-tower", "MostPop", "ItemKNN", "EASE", "ALS", "gate:"):
        assert label in output


def test_evaluate_model_prints_the_table(trained):
    out = StringIO()
    call_command("evaluate_model", stdout=out)
    assert "model v1 (active)" in out.getvalue() and "EASE" in out.getvalue()
    with pytest.raises(CommandError, match="no model version 99"):
        call_command("evaluate_model", "--version", "99")


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
