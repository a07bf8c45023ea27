"""The model-version admin page's "Online" section: figures per surface and a daily plot (matplotlib, on demand).

Wired by recommender/admin.py (the context in change_view, the PNG under <pk>/online.png)."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404

from recommender.models import ModelVersion

from .models import Surface
from .selectors import online_daily, online_figures, version_impressions

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


def online_png_bytes(version: ModelVersion) -> bytes:
    """Impressions, users, ratings after shown and clicks per day."""
    from recommender.admin_charts import _empty, _png, plt

    days = online_daily(version_impressions(version))
    if not days:
        return _empty(f"model v{version.number}: no lists shown yet")
    x = [d["day"] for d in days]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for key, style in (("impressions", "o-"), ("users", "s-"), ("rated_after_shown", "^-"), ("clicks", "v-")):
        ax.plot(x, [d[key] for d in days], style, label=key.replace("_", " "))
    ax.set_title(f"model v{version.number}: online, per day")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    return _png(fig)


def online_png(request, pk: int) -> HttpResponse:
    version = get_object_or_404(ModelVersion, pk=pk)
    return HttpResponse(online_png_bytes(version), content_type="image/png")
