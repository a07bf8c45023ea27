"""The model-version admin page's "Online" section: figures per surface (its daily plot is
recommender.admin_charts.online_daily_png).

Part of recommender.admin_views.version_page_context (the PNG is admin_views.online_png, under <pk>/online.png)."""

from recommender.models import ModelVersion

from .models import Surface
from .selectors import online_figures, version_impressions

COLUMNS = ("impressions", "users", "clicks", "rated_after_shown", "hidden_after_shown")
RATES = ("click", "rated", "hidden")


def _rate_text(rate: dict) -> str:
    if rate["rate"] is None:
        return "—"
    low, high = rate["ci95"]
    return f"{rate['rate']:.1%} [{low:.1%}, {high:.1%}]"


def _row(label: str, figures: dict) -> dict:
    return {"label": label, "counts": [figures[c] for c in COLUMNS],
            "rates": [_rate_text(figures["rates"][r]) for r in RATES]}  # fmt: skip


def online_context(version: ModelVersion) -> dict:
    """{"online_rows": [all, then one per surface], "online_columns", "online_rates", "online_window"}."""
    figures = online_figures(version_impressions(version), by_surface=True)
    labels = dict(Surface.choices)
    rows = [_row("all surfaces", figures)]
    rows += [_row(labels.get(surface, surface), f) for surface, f in figures["surfaces"].items()]
    return {
        "online_rows": rows if figures["impressions"] else [],
        "online_columns": [c.replace("_", " ") for c in COLUMNS],
        "online_rates": [f"{r} rate (per user, 95% CI)" for r in RATES],
        "online_window": figures["window_days"],
    }
