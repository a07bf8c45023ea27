"""The experiments' admin page: start one with the add form (candidate, share), stop or promote it with the
actions, read the arms' figures on its page. Registered by recommender/admin.py (one import)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html_join

from core.exceptions import ApplicationError
from recommender.models import ModelVersion

from .models import Experiment


class ExperimentStartForm(forms.ModelForm):
    class Meta:
        model = Experiment
        fields = ["candidate", "share"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["candidate"].queryset = ModelVersion.objects.filter(status=ModelVersion.Status.INACTIVE)
        self.fields["candidate"].help_text = "A complete (inactive) version with its vectors in Milvus."
        self.fields["share"].initial = 0.5

    def clean(self):
        data = super().clean()
        if data.get("candidate") is not None and data.get("share") is not None:
            from .services import experiment_start_check

            try:
                experiment_start_check(candidate=data["candidate"].number, share=data["share"])
            except ApplicationError as exc:
                raise ValidationError(exc.message) from exc
        return data


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ("id", "status", "control_version", "candidate_version", "share", "started_at", "ended_at")
    list_filter = ("status",)
    actions = ["stop", "promote"]
    readonly_fields = ("status", "control", "candidate", "share", "started_at", "ended_at", "started_by", "figures")

    @admin.display(description="control")
    def control_version(self, obj):
        return f"v{obj.control.number}"

    @admin.display(description="candidate")
    def candidate_version(self, obj):
        return f"v{obj.candidate.number}"

    @admin.display(description="arms (conversion: users who rated a movie shown / users shown; 95% CI)")
    def figures(self, obj):
        from .selectors import experiment_figures

        figures = experiment_figures(obj)
        rows = [
            (a["arm"], a["version"], a["users"], a["impressions"], a["rated_after_shown"], a["conversion"], a["ci95"])
            for a in figures["arms"]
        ]
        diff = figures["difference"]
        lines = format_html_join(
            "", "<li>{} v{}: {} users, {} lists, {} rated after shown, conversion {} {}</li>", rows
        )
        return lines + format_html_join("", "<li>difference {} {} ({})</li>", [tuple(diff.values())])

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ExperimentStartForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request, obj=None):
        return ["candidate", "share"] if obj is None else list(self.readonly_fields)

    def save_model(self, request, obj, form, change):
        from .services import experiment_start

        started = experiment_start(candidate=obj.candidate.number, share=obj.share, user=request.user)
        obj.pk, obj.control, obj.status, obj.started_at = (
            started.pk,
            started.control,
            started.status,
            started.started_at,
        )

    def has_change_permission(self, request, obj=None):
        return False  # started with the add form, ended with the actions; its page is read-only

    def has_delete_permission(self, request, obj=None):
        return False

    def _each(self, request, queryset, action, verb: str) -> None:
        for experiment in queryset:
            try:
                action(experiment=experiment)
            except ApplicationError as exc:  # the experiment's refusal, or the activation's
                self.message_user(request, f"experiment {experiment.pk}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"experiment {experiment.pk} {verb}.", messages.SUCCESS)

    @admin.action(description="Stop the selected experiments")
    def stop(self, request, queryset):
        from .services import experiment_stop

        self._each(request, queryset, experiment_stop, "stopped")

    @admin.action(description="Promote: activate the candidate, end the experiment")
    def promote(self, request, queryset):
        from .services import experiment_promote

        self._each(request, queryset, experiment_promote, "promoted: its candidate is live")
