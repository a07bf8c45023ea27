"""Sending task messages: the one place services reach the Celery tasks, once the current transaction commits.

recommender/tasks.py imports the services; the services never import the tasks module: the task is looked up in
Celery's registry (autodiscovered from recommender.tasks) by its name when a message is about to be queued. So there
is no import cycle, and a worker never sees a row its message names before that row is committed.

If the broker does not take the message, ``on_failure(reason)`` runs at once (the caller fails its queued row, which
frees the training lock) and the reason is returned to the caller, who raises ServiceUnavailableError with it.

Every publish has a deadline (BROKER_PUBLISH_TIMEOUT, 2 s by default), so a hung broker (a stopped redis-server
accepts the TCP connection and never answers) costs a request that long, not forever: the message goes over a
connection of its own whose redis sockets time out (connect and read), with one quick retry for a connection that
broke, never kombu's default of retrying while the caller waits. Decision (issue #24): a row whose message timed
out is *failed* with the reason, not deleted, so the operator sees why in the admin. A message that timed out may
still reach the broker when it wakes up (the command was written before the reply was awaited): the worker then
finds its row no longer queued and does nothing (training_jobs._claim, batch_jobs.batch_job_run).
"""

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)


def task_send_on_commit(
    *,
    task_name: str,
    args: list | None = None,
    task_id: str | None = None,
    what: str,
    on_failure: Callable[[str], None],
    options: dict | None = None,
) -> dict:
    """Queue recommender.tasks.<task_name>(*args) once the current transaction commits (at once outside one).

    ``what`` names the job in the error ("model version 3"); ``options`` go to apply_async (e.g. expires). The
    returned dict gets the broker's refusal under "error": when the caller runs outside an outer transaction, by the
    time its atomic block ends; inside one, at that transaction's commit.
    """
    from celery import current_app

    name = f"recommender.tasks.{task_name}"  # by name: the tasks module imports the services
    if name not in current_app.tasks:  # a web process: the apps' task modules are not loaded until asked for
        current_app.loader.import_default_modules()  # as a worker does at start (autodiscover_tasks)
    task = current_app.tasks[name]
    outcome: dict = {}

    def send() -> None:
        error = _send(lambda connection: _publish(task, connection, args, task_id, options), what)
        if error:
            on_failure(error)
            outcome["error"] = error

    transaction.on_commit(send)
    return outcome


def _broker_connection():
    """A connection of its own for one publish, with socket deadlines on a redis broker (the pooled connections
    have none: a read from a stopped redis-server would block for ever). The SQL broker hands every transport
    option to SQLAlchemy's create_engine, so it gets none (a locked SQLite file times out by itself, in 5 s)."""
    from celery import current_app as app  # recsite.celery's app: recsite/__init__.py sets it as the current one

    seconds = float(settings.BROKER_PUBLISH_TIMEOUT)
    options = {}
    if settings.CELERY_BROKER_URL.split("://", 1)[0].startswith(("redis", "rediss", "sentinel")):
        options = {"socket_timeout": seconds, "socket_connect_timeout": seconds}
    return app.connection_for_write(connect_timeout=seconds, transport_options=options)


def _publish(task, connection, args, task_id, options) -> None:
    retry_policy = {"max_retries": 1, "interval_start": 0.1, "interval_step": 0.1, "interval_max": 0.1}
    options = options or {}
    task.apply_async(
        args=args or [], task_id=task_id, connection=connection, retry=True, retry_policy=retry_policy, **options
    )


def _send(publish: Callable[[object], object], what: str) -> str:
    """Send one task message within the publish deadline; "" once the broker took it, else why it did not."""
    from kombu.utils.url import maybe_sanitize_url

    started = time.monotonic()
    try:
        with _broker_connection() as connection:
            publish(connection)
    except Exception as exc:  # noqa: BLE001 - kombu's OperationalError, a socket or broker-library error: not sent
        broker = maybe_sanitize_url(settings.CELERY_BROKER_URL)  # no password in the message
        log.warning("%s: the broker %s did not take the message: %s", what, broker, exc)
        return (
            f"{what} was not queued: the job broker {broker} could not be reached within "
            f"{time.monotonic() - started:.1f} s ({type(exc).__name__}: {exc}). Is it running? Try again once it is."
        )
    return ""
