"""The Celery app: configuration from Django settings (CELERY_*), tasks discovered in each app."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recsite.settings.base")

app = Celery("recsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Training is long and runs one at a time on its own queue so it never starves the short jobs.
app.conf.task_routes = {"recommender.tasks.model_version_pipeline": {"queue": "training"}}
app.autodiscover_tasks()
