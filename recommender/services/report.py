"""Plain-text metric tables: the model beside its baselines (CLI, logs, admin)."""

COLUMNS = ("recall@10", "recall@50", "ndcg@10", "ndcg@50", "hit@10", "precision@10", "coverage@50", "mean_pop@10")


def metrics_table(metrics: dict, *, model_label: str = "two-tower") -> str:
    """Rows: the model, the active version re-scored on the same split (if any), then each baseline; columns:
    COLUMNS (missing values shown as '-')."""
    rows = [(model_label, metrics.get("model", {}))]
    if metrics.get("active"):
        rows.append((f"active v{metrics['active'].get('version', '?')}", metrics["active"]))
    rows += [
        (f"{name} (top {values['scored_movies']:,} movies)" if values.get("scored_movies") else name, values)
        for name, values in metrics.get("baselines", {}).items()
    ]  # a baseline fitted on the most-rated movies only (a large catalogue) says so
    width = max(len(name) for name, _ in rows) + 2
    head = "method".ljust(width) + "".join(c.rjust(14) for c in COLUMNS)
    lines = [head, "-" * len(head)]
    for name, values in rows:
        cells = []
        for col in COLUMNS:
            value = values.get(col)
            cells.append(
                ("-" if value is None else (f"{value:.1f}" if col.startswith("mean_pop") else f"{value:.4f}")).rjust(14)
            )
        lines.append(name.ljust(width) + "".join(cells))
    model = metrics.get("model", {})
    if model.get("users_sampled_from"):  # a large holdout: every row above measured on the same fixed sample
        lines.append(
            f"measured on a fixed random sample of {model.get('users', 0):,} of {model['users_sampled_from']:,} "
            "holdout users (EVAL_MAX_USERS), the same users for every row"
        )
    loss = metrics.get("training", {}).get("loss")
    if loss:
        updates = metrics["training"].get("user_ids")  # absent in versions trained before lazy_user_ids_from
        lines.append(f"trained with the {loss}" + (f"; user ids by {updates}" if updates else ""))
    return "\n".join(lines)
