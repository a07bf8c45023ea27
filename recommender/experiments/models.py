"""Experiment: an A/B test between the version live when it started (control) and a complete candidate version.

Registered with the recommender app through recommender/models.py (the last line imports this module). Everything
that decides who sees what is here (and the stable hash of split.py): a restarted worker serves the same arms.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ExperimentQuerySet(models.QuerySet):
    def running(self) -> "ExperimentQuerySet":
        """The running experiment (at most one: the experiment_one_running constraint)."""
        return self.filter(status=Experiment.Status.RUNNING)


class Experiment(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped"
        PROMOTED = "promoted", "Promoted (the candidate was activated)"

    control = models.ForeignKey(
        "recommender.ModelVersion", on_delete=models.CASCADE, related_name="+",
        help_text="The version live when the experiment started (the control arm serves whatever is live).",
    )  # fmt: skip
    candidate = models.ForeignKey("recommender.ModelVersion", on_delete=models.CASCADE, related_name="experiments")
    share = models.FloatField(help_text="Share of users in the candidate arm (0 < share < 1).")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ExperimentQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=Q(status="running"), name="experiment_one_running"),
            models.CheckConstraint(condition=Q(share__gt=0) & Q(share__lt=1), name="experiment_share_0_1"),
        ]

    def __str__(self) -> str:
        return f"experiment {self.pk}: v{self.control.number} vs v{self.candidate.number} ({self.status})"

    @property
    def is_running(self) -> bool:
        return self.status == self.Status.RUNNING
