"""The retention cleanup as a Celery task (registered with the worker by recommender/tasks.py; run daily by the
"Impression retention" periodic task that migration 0003 creates, editable in the admin)."""

from celery import shared_task

from .services import impressions_cleanup


@shared_task
def impressions_cleanup_task() -> int:
    return impressions_cleanup()
