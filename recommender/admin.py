"""Staff admin for model versions (retrain, activate, re-sync, live progress, charts) and batch jobs."""

from django.contrib import admin, messages
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime

from recommender.admin_display import best_baseline, metric_format, status_label
from recommender.experiments import admin as experiments_admin  # noqa: F401 (issue #25, item 4: registers it)
from recommender.models import BatchJob, ModelVersion


def _views():
    """The admin views, imported on first use: they pull in Paddle (via the jobs services) and matplotlib,
    which every management command would otherwise load at django.setup() through admin autodiscovery."""
    from recommender import admin_views

    return admin_views


RETIRED_NOTE = "its Milvus collection was dropped (MILVUS_KEEP_COLLECTIONS), so it cannot be activated again"
FILE_FIELDS = ("artifact_path", "collection_name", "worker", "task_id", "heartbeat_at")
STATUS_COLOURS = {"active": "green", "failed": "#ba2121", "retired": "#999", "inactive": "#555"}


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    # narrow columns, so the list fits beside the navigation and the filter at 1280 px
    list_display = ("version", "status_badge", "ndcg10", "recall50", "finished", "live")
    list_filter = ("status",)
    ordering = ("-number",)
    change_list_template = "admin/recommender/modelversion/change_list.html"
    change_form_template = "admin/recommender/modelversion/change_form.html"
    # status, gate, error, metrics, config and curve are shown by the template, readably; these are the rest
    fieldsets = (
        ("Timeline", {"fields": ("created_at", "started_at", "finished_at", "duration", "activated_at")}),
        ("Files and worker", {"classes": ("collapse",), "fields": FILE_FIELDS}),
    )
    readonly_fields = ("duration",)
    empty_value_display = ""  # a queued version's "Started at" is blank, not "-"

    @admin.display(description="version", ordering="number")
    def version(self, obj):
        return f"v{obj.number}"

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        colour = STATUS_COLOURS.get(obj.status, "#c60")  # running stages in amber
        title = RETIRED_NOTE if obj.status == ModelVersion.Status.RETIRED else ""
        return format_html('<b style="color:{}" title="{}">{}</b>', colour, title, status_label(obj, short=True))

    def _metric_cell(self, obj, key):
        value = obj.metrics.get("model", {}).get(key)
        if value is None:
            return "–"
        best = best_baseline(obj.metrics, key)
        if best is None:
            return metric_format(value)
        return format_html(
            '{}<br><small title="best baseline of the same evaluation run">{} {}</small>',
            metric_format(value),
            best[0],
            metric_format(best[1]),
        )

    @admin.display(description="NDCG@10")
    def ndcg10(self, obj):
        return self._metric_cell(obj, "ndcg@10")

    @admin.display(description="Recall@50")
    def recall50(self, obj):
        return self._metric_cell(obj, "recall@50")

    @admin.display(description="finished", ordering="finished_at")
    def finished(self, obj):
        return date_format(localtime(obj.finished_at), "Y-m-d H:i") if obj.finished_at else "–"

    @admin.display(description="took")
    def duration(self, obj):
        if not (obj.started_at and obj.finished_at):
            return ""
        minutes, seconds = divmod(round((obj.finished_at - obj.started_at).total_seconds()), 60)
        return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"

    @admin.display(description="live", boolean=True)
    def live(self, obj):
        return obj.status == ModelVersion.Status.ACTIVE

    def has_add_permission(self, request):
        return False  # versions are created by "Retrain now"

    def has_change_permission(self, request, obj=None):
        return False  # the pipeline writes every field; a form save could only race it with stale values

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
            path("<int:pk>/online.png", wrap(_views().online_png), name="recommender_modelversion_online"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra = _views().progress_box_context(_views().model_version_running())
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self.get_object(request, object_id)
        extra = {}
        if version is not None:
            if version.status == ModelVersion.Status.RETIRED:
                messages.warning(request, f"Model version {version.number} is retired: {RETIRED_NOTE}.")
            extra = _views().version_page_context(version)
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
