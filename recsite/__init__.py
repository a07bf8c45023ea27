"""recsite project package: settings, URLs and the Celery app."""

from core.quiet import library_warnings_silence

library_warnings_silence()  # first: every entry point (manage.py, wsgi, Celery) imports this package before Paddle

from .celery import app as celery_app  # noqa: E402

__all__ = ("celery_app",)
