"""Celery beat's periodic tasks: the stale-training check always, the scheduled retrain when RETRAIN_SCHEDULE asks."""

from django.conf import settings
from django.db import close_old_connections

from core.exceptions import ApplicationError

STALE_CHECK = "Fail stale trainings"
SCHEDULED_RETRAIN = "Scheduled retraining"


def schedules_ensure() -> list[str]:
    """Create the stale-job check and, if RETRAIN_SCHEDULE is set, the scheduled retrain (never overwritten: later
    edits happen in the admin). Returns the names of the periodic tasks created now."""
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    close_old_connections()
    created = []
    every, _ = IntervalSchedule.objects.get_or_create(every=60, period=IntervalSchedule.SECONDS)
    _, new = PeriodicTask.objects.get_or_create(
        name=STALE_CHECK, defaults={"task": "recommender.tasks.versions_stale_task", "interval": every}
    )
    created += [STALE_CHECK] if new else []
    if settings.RETRAIN_SCHEDULE:
        fields = settings.RETRAIN_SCHEDULE.split()
        if len(fields) != 5:
            raise ApplicationError(f"RETRAIN_SCHEDULE must have 5 crontab fields, got {settings.RETRAIN_SCHEDULE!r}")
        minute, hour, day_of_month, month_of_year, day_of_week = fields
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month_of_year,
            day_of_week=day_of_week,
            timezone=settings.TIME_ZONE,
        )
        _, new = PeriodicTask.objects.get_or_create(
            name=SCHEDULED_RETRAIN,
            defaults={"task": "recommender.tasks.model_version_train_scheduled", "crontab": crontab},
        )
        created += [SCHEDULED_RETRAIN] if new else []
    return created
