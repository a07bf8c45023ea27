"""Staff admin for model versions (retrain, activate, re-sync, live progress, charts) and batch jobs."""

from django.contrib import admin, messages
from django.urls import path, reverse
from django.utils.html import format_html

from recommender.models import BatchJob, ModelVersion


def _views():
    """The admin views, imported on first use: they pull in Paddle (via the jobs services) and matplotlib,
    which every management command would otherwise load at django.setup() through admin autodiscovery."""
    from recommender import admin_views

    return admin_views


MODEL_KEYS = ("ndcg@10", "recall@50")
RETIRED_NOTE = "its Milvus collection was dropped (MILVUS_KEEP_COLLECTIONS), so it cannot be activated again"


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.4f}"


def best_baseline(metrics: dict, key: str) -> tuple[str, float] | None:
    """(name, value) of the baseline with the highest ``key`` in the same evaluation run."""
    scored = [(name, m[key]) for name, m in metrics.get("baselines", {}).items() if m.get(key) is not None]
    return max(scored, key=lambda item: item[1]) if scored else None


def metric_rows(metrics: dict) -> list[dict]:
    """Rows of the detail page's table: the model and every baseline, for the headline metrics."""
    if not metrics.get("model"):
        return []
    keys = ("recall@10", "recall@50", "ndcg@10", "ndcg@50", "hit@10", "coverage@50", "mean_pop@10")
    rows = [{"name": "two-tower (this version)", "values": [metrics["model"].get(k) for k in keys], "model": True}]
    if metrics.get("active"):
        active = metrics["active"]
        name = f"active v{active.get('version', '?')} (same split)"
        rows.append({"name": name, "values": [active.get(k) for k in keys]})
    rows += [{"name": n, "values": [m.get(k) for k in keys]} for n, m in metrics.get("baselines", {}).items()]
    return [{**r, "cells": [_fmt(v) for v in r["values"]]} for r in rows]


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("number", "status_badge", "ndcg10", "recall50", "created_at", "finished_at", "live")
    list_filter = ("status",)
    ordering = ("-number",)
    change_list_template = "admin/recommender/modelversion/change_list.html"
    change_form_template = "admin/recommender/modelversion/change_form.html"
    readonly_fields = [f.name for f in ModelVersion._meta.fields]
    exclude = ("progress", "curve", "metrics")

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        colour = {"active": "green", "failed": "#ba2121"}.get(obj.status, "#555" if not obj.is_running else "#c60")
        if obj.status == ModelVersion.Status.RETIRED:
            return format_html('<b style="color:#999" title="{}">retired</b>', RETIRED_NOTE)
        return format_html('<b style="color:{}">{}</b>', colour, obj.status)

    def _metric_cell(self, obj, key):
        value = obj.metrics.get("model", {}).get(key)
        best = best_baseline(obj.metrics, key)
        if value is None:
            return "–"
        if best is None:
            return _fmt(value)
        return format_html("{} <small>(best baseline {} {})</small>", _fmt(value), best[0], _fmt(best[1]))

    @admin.display(description="NDCG@10 (vs best baseline)")
    def ndcg10(self, obj):
        return self._metric_cell(obj, "ndcg@10")

    @admin.display(description="Recall@50 (vs best baseline)")
    def recall50(self, obj):
        return self._metric_cell(obj, "recall@50")

    @admin.display(description="live", boolean=True)
    def live(self, obj):
        return obj.status == ModelVersion.Status.ACTIVE

    def has_add_permission(self, request):
        return False  # versions are created by "Retrain now"

    def has_delete_permission(self, request, obj=None):
        return False  # a version owns a Milvus collection and files: never delete one from a form

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("retrain/", wrap(_views().retrain), name="recommender_modelversion_retrain"),
            path("sync/", wrap(_views().sync), name="recommender_modelversion_sync"),
            path("progress.json", wrap(_views().progress_json), name="recommender_modelversion_progress"),
            path("history.png", wrap(_views().history_png), name="recommender_modelversion_history"),
            path("<int:pk>/activate/", wrap(_views().activate), name="recommender_modelversion_activate"),
            path("<int:pk>/progress.json", wrap(_views().progress_json), name="recommender_modelversion_progress_one"),
            path("<int:pk>/curve.png", wrap(_views().curve_png), name="recommender_modelversion_curve"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        running = _views().jobs.training_running_get()
        extra = {"running": running, "progress_url": reverse("admin:recommender_modelversion_progress")}
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self.get_object(request, object_id)
        extra = {}
        if version is not None:
            if version.status == ModelVersion.Status.RETIRED:
                messages.warning(request, f"Model version {version.number} is retired: {RETIRED_NOTE}.")
            running = _views().jobs.training_running_get()
            extra = {
                "version": version,
                "running": running,
                "metric_rows": metric_rows(version.metrics),
                "can_activate": running is None
                and version.status == ModelVersion.Status.INACTIVE
                and bool(version.artifact_path),
                "progress_url": reverse("admin:recommender_modelversion_progress_one", args=[version.pk]),
            }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})


@admin.register(BatchJob)
class BatchJobAdmin(admin.ModelAdmin):
    list_display = ("id", "status", "k", "file_format", "users", "progress_text", "model_number", "created_at", "file")
    list_filter = ("status", "file_format")
    readonly_fields = [f.name for f in BatchJob._meta.fields]
    change_list_template = "admin/recommender/batchjob/change_list.html"

    @admin.display(description="users")
    def users(self, obj):
        return f"{len(obj.user_ids)} listed" if obj.user_ids else "all"

    @admin.display(description="progress")
    def progress_text(self, obj):
        done, total = obj.progress.get("done"), obj.progress.get("total")
        return f"{done}/{total}" if total else "–"

    @admin.display(description="result")
    def file(self, obj):
        if obj.status == BatchJob.Status.DONE:
            url = reverse("admin:recommender_batchjob_download", args=[obj.pk])
            return format_html('<a href="{}">download .{}</a>', url, obj.file_format)
        return obj.error[:120] if obj.error else "–"

    def has_add_permission(self, request):
        return False  # jobs are created by "Run batch recommendations"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("run/", wrap(self.run_view), name="recommender_batchjob_run"),
            path("<int:pk>/download/", wrap(_views().batch_download), name="recommender_batchjob_download"),
            *super().get_urls(),
        ]

    def run_view(self, request):
        return _views().batch_run(request, {**self.admin_site.each_context(request), "opts": self.model._meta})
