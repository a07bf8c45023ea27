"""The metric table of a version (train_model, evaluate_model, logs) names what each row was fitted on."""

from recommender.services.report import metrics_table


def test_a_restricted_baseline_and_the_loss_are_named():
    metrics = {
        "model": {"ndcg@10": 0.31},
        "baselines": {"MostPop": {"ndcg@10": 0.12}, "EASE": {"ndcg@10": 0.2, "scored_movies": 10000}},
        "training": {"loss": "sampled softmax (1024 uniform + in-batch negatives, logQ-corrected)"},
    }
    lines = metrics_table(metrics).splitlines()
    assert [line.split()[0] for line in lines[2:5]] == ["two-tower", "MostPop", "EASE"]
    assert "EASE (top 10,000 movies)" in lines[4] and "0.2000" in lines[4]
    assert lines[-1] == "trained with the sampled softmax (1024 uniform + in-batch negatives, logQ-corrected)"
    assert "top" not in lines[3] and "trained" not in metrics_table({"model": {}, "baselines": {}})
    metrics["training"]["user_ids"] = "lazy Adam (a step's own rows)"
    assert metrics_table(metrics).splitlines()[-1] == (
        "trained with the sampled softmax (1024 uniform + in-batch negatives, logQ-corrected); user ids by lazy Adam "
        "(a step's own rows)"
    )


def test_a_sampled_holdout_is_named():
    metrics = {"model": {"ndcg@10": 0.3, "users": 25000, "users_sampled_from": 162541}, "baselines": {}}
    assert metrics_table(metrics).splitlines()[-1] == (
        "measured on a fixed random sample of 25,000 of 162,541 holdout users (EVAL_MAX_USERS), the same users for "
        "every row"
    )
    assert "sample" not in metrics_table({"model": {"users": 6040}, "baselines": {}})
