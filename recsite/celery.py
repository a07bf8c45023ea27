"""The Celery app: configuration from Django settings (CELERY_*), tasks discovered in each app.

Queues: ``training`` (the model-version pipeline; run its worker with ``-c 1``), ``default`` (vector
sync, batch jobs, the stale-job check, scheduled retrains) and ``training_peers`` (only with TRAINING_NODES > 1: one
worker with ``-c 1`` on each other training machine joins the training worker's launches). Worker start and beat
start hooks live in recommender/tasks.py and here (beat), so they run after Django is set up.
"""

import os

from celery import Celery
from celery.signals import beat_init, worker_init, worker_ready

from .envfile import env_file_read

env_file_read()  # DJANGO_SETTINGS_MODULE and CELERY_BROKER_POLLING_INTERVAL may come from .env
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recsite.settings.local")


def _sqla_polling_interval_set() -> None:
    """The SQL broker polls its table; kombu's 1 s default added ~1 s to every job's start. kombu hands every
    transport option to SQLAlchemy's create_engine (which rejects polling_interval), so set the class default."""
    try:
        from kombu.transport import sqlalchemy as sqla_transport
    except ImportError:  # SQLAlchemy not installed: the sqla broker is not in use
        return
    sqla_transport.Transport.polling_interval = float(os.environ.get("CELERY_BROKER_POLLING_INTERVAL", "0.2"))


_sqla_polling_interval_set()
app = Celery("recsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Training is long and runs one at a time on its own queue so it never starves the short jobs.
app.conf.task_routes = {
    "recommender.tasks.model_version_pipeline": {"queue": "training"},
    "recommender.tasks.training_peer_join": {"queue": "training_peers"},  # the other machines of a training
}
app.autodiscover_tasks()


@beat_init.connect
def _schedules_ensure_on_beat_start(sender=None, **kwargs) -> None:
    """Create the periodic tasks a setting asks for (none by default); later edits happen in the admin."""
    from recommender.services.schedules import schedules_ensure

    schedules_ensure()


@worker_init.connect
def _paddle_signal_handlers_remove(sender=None, **kwargs) -> None:
    """The tasks import Paddle; its SIGTERM handler must not outlive Celery's (pool children inherit this)."""
    from core.quiet import paddle_signal_handlers_remove

    paddle_signal_handlers_remove()


@worker_ready.connect
def _warm_shutdown_quiet(sender=None, **kwargs) -> None:
    """SIGTERM is how serve_all stops a worker: a warm shutdown without Celery's "worker: Warm shutdown" line."""
    from celery.apps.worker import install_worker_term_handler

    install_worker_term_handler(sender.controller, verbose=False)
