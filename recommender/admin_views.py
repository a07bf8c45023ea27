"""Staff-only admin views: live progress JSON, chart PNGs, button handlers and batch-file download.

Wired by recommender/admin.py through ``admin_site.admin_view`` (staff login + CSRF); each one parses
input, calls one service or selector and shapes the response.
"""

from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from core.exceptions import ApplicationError
from recommender.admin_charts import metric_history_png, online_daily_png, training_curve_png
from recommender.admin_display import (
    BASELINE_COLUMNS,
    baseline_rows,
    config_rows,
    metric_format,
    metric_table,
    ranker_summary,
    raw_json,
    status_label,
)
from recommender.impressions.admin_online import online_context
from recommender.models import BatchJob, ModelVersion
from recommender.selectors import model_version_active, model_version_running
from recommender.services import batch_jobs, training_jobs, vector_jobs

CHANGELIST = "admin:recommender_modelversion_changelist"
BATCH_CHANGELIST = "admin:recommender_batchjob_changelist"


def _version_state(version: ModelVersion) -> dict:
    return {
        "id": version.pk,
        "number": version.number,
        "status": version.status,
        "label": status_label(version),
        "running": version.is_running,
        "progress": version.progress,
        "error": version.error[:2000],
        "gate_reason": version.gate_reason,
    }


def progress_box_context(running: ModelVersion | None, polled: ModelVersion | None = None) -> dict:
    """The live progress box: the running version, the JSON it polls (``polled``'s own, else whichever runs)."""
    if polled is not None and (polled.is_running or running is None):
        url, status = reverse("admin:recommender_modelversion_progress_one", args=[polled.pk]), polled.status
    else:
        url, status = reverse("admin:recommender_modelversion_progress"), running.status if running else ""
    label = status_label(running) if running else ""
    return {"running": running, "running_label": label, "progress_url": url, "progress_status": status}


def version_page_context(version: ModelVersion) -> dict:
    """What a version's page shows above and below the admin's fieldsets: a heading with the live status,
    the progress box, metric, baseline and config tables, the raw JSON (collapsed) and the "Online" figures."""
    running = model_version_running()
    return {
        **progress_box_context(running, version),
        "title": f"Model version {version.number}",
        "subtitle": None,  # the template's heading carries the status, kept current by admin_progress.js
        "version": version,
        "status_label": status_label(version),
        "metric_table": metric_table(version.metrics),
        "baseline_columns": BASELINE_COLUMNS,
        "baseline_rows": baseline_rows(version.metrics),
        "ranker_summary": ranker_summary(version.metrics),
        "config_rows": config_rows(version.config),
        "raw_json": raw_json(version),
        "can_activate": _can_activate(version, running),
        **online_context(version),
    }


def _can_activate(version: ModelVersion, running: ModelVersion | None) -> bool:
    """Whether the Activate button is offered: a complete, inactive version while no training runs."""
    return running is None and version.status == ModelVersion.Status.INACTIVE and bool(version.artifact_path)


def _ndcg(version: ModelVersion) -> str:
    return metric_format((version.metrics or {}).get("model", {}).get("ndcg@10"))


def progress_json(request, pk: int | None = None) -> JsonResponse:
    """The running version (or the one asked for) with its progress, polled every 2 s by the admin JS."""
    running = model_version_running()
    version = get_object_or_404(ModelVersion, pk=pk) if pk else running
    return JsonResponse(
        {
            "version": _version_state(version) if version else None,
            "training_running": running is not None,
            "running_number": running.number if running else None,
        }
    )


def curve_png(request, pk: int) -> HttpResponse:
    version = get_object_or_404(ModelVersion, pk=pk)
    return HttpResponse(training_curve_png(version), content_type="image/png", headers={"Cache-Control": "no-store"})


def online_png(request, pk: int) -> HttpResponse:
    version = get_object_or_404(ModelVersion, pk=pk)
    return HttpResponse(online_daily_png(version), content_type="image/png")


def history_png(request) -> HttpResponse:
    png = metric_history_png(list(ModelVersion.objects.order_by("number")))
    return HttpResponse(png, content_type="image/png", headers={"Cache-Control": "no-store"})


@require_POST
def retrain(request):
    try:
        version = training_jobs.model_version_train_enqueue()
    except ApplicationError as exc:
        messages.error(request, f"Retrain refused: {exc.message}")
        return redirect(CHANGELIST)
    messages.success(request, f"Model version {version.number} is queued for training.")
    return redirect(reverse("admin:recommender_modelversion_change", args=[version.pk]))


def _activate_confirm(request, version: ModelVersion):
    """The question before an activation (it changes what every user sees): what goes live, what it replaces."""
    live = model_version_active()
    context = {
        **admin.site.each_context(request),
        "opts": ModelVersion._meta,
        "title": f"Activate model version {version.number}?",
        "version": version,
        "live": live,
        "version_ndcg": _ndcg(version),
        "live_ndcg": _ndcg(live) if live else None,
        "can_activate": _can_activate(version, model_version_running()),
    }
    return render(request, "admin/recommender/modelversion/activate_confirm.html", context)


@require_http_methods(["GET", "POST"])
def activate(request, pk: int):
    """GET asks (the version page's button leads here); POST, the confirmation page's "Yes", activates.
    The API's POST /api/models/<n>/activate/ stays one call."""
    version = get_object_or_404(ModelVersion, pk=pk)
    if request.method == "GET":
        return _activate_confirm(request, version)
    try:
        training_jobs.model_version_activate_checked(version=version)
    except ApplicationError as exc:
        messages.error(request, f"Activation refused: {exc.message}")
    else:
        messages.success(request, f"Model version {version.number} is now serving.")
    # the list, not the version page: a fresh page opens at the top with the message in view (the same URL
    # again would be restored mid-scroll), and it shows which version is live now
    return redirect(CHANGELIST)


@require_POST
def sync(request):
    try:
        vector_jobs.vectors_sync_enqueue()
    except ApplicationError as exc:
        messages.error(request, f"Re-sync refused: {exc.message}")
    else:
        messages.success(request, "Vector re-sync is queued.")
    return redirect(CHANGELIST)


class BatchRunForm(forms.Form):
    k = forms.IntegerField(min_value=1, max_value=1000, initial=50, label="Top k")
    fmt = forms.ChoiceField(choices=BatchJob.Format.choices, initial="jsonl", label="File format")
    users = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="MovieLens user ids separated by commas or spaces; empty = every MovieLens user.",
    )

    def clean_users(self) -> list[int]:
        raw = self.cleaned_data["users"].replace(",", " ").split()
        try:
            return [int(x) for x in raw]
        except ValueError as exc:
            raise forms.ValidationError("user ids must be whole numbers") from exc


def batch_run(request, admin_context: dict):
    form = BatchRunForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = batch_jobs.batch_job_enqueue(
                created_by=request.user,
                k=form.cleaned_data["k"],
                user_ids=form.cleaned_data["users"],
                fmt=form.cleaned_data["fmt"],
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Batch job {job.pk} is queued.")
            return redirect(BATCH_CHANGELIST)
    context = {**admin_context, "form": form, "title": "Run batch recommendations"}
    return render(request, "admin/recommender/batchjob/run.html", context)


def batch_download(request, pk: int) -> FileResponse:
    job = get_object_or_404(BatchJob, pk=pk, status=BatchJob.Status.DONE)
    path = Path(job.result_path).resolve()
    if not path.is_relative_to(Path(settings.BATCH_DIR).resolve()) or not path.is_file():
        raise Http404("the result file is gone")
    content_type = "text/csv" if path.suffix == ".csv" else "application/x-ndjson"
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name, content_type=content_type)
