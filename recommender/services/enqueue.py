"""Sending task messages: the one place services reach the Celery tasks, once the current transaction commits.

recommender/tasks.py imports the services; the services never import the tasks at module level: the task is looked
up here, by its name in recommender.tasks, when a message is about to be queued. So there is no import cycle, and
a worker never sees a row its message names before that row is committed.

If the broker does not take the message, ``on_failure(reason)`` runs at once (the caller fails its queued row, which
frees the training lock) and the reason is returned to the caller, who raises ServiceUnavailableError with it.
"""

import logging
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
    from recommender import tasks  # here, not at module top: tasks import the services

    task = getattr(tasks, task_name)
    outcome: dict = {}

    def send() -> None:
        error = _send(lambda: task.apply_async(args=args or [], task_id=task_id, retry=True, **(options or {})), what)
        if error:
            on_failure(error)
            outcome["error"] = error

    transaction.on_commit(send)
    return outcome


def _send(publish: Callable[[], object], what: str) -> str:
    """Send one task message (kombu retries a few times); "" once the broker took it, else why it did not."""
    from kombu.utils.url import maybe_sanitize_url

    try:
        publish()
    except Exception as exc:  # noqa: BLE001 - kombu's OperationalError, a socket or broker-library error: not sent
        broker = maybe_sanitize_url(settings.CELERY_BROKER_URL)  # no password in the message
        log.warning("%s: the broker %s did not take the message: %s", what, broker, exc)
        return (
            f"{what} was not queued: the job broker {broker} could not be reached ({type(exc).__name__}: {exc}). "
            "Is it running? Try again once it is."
        )
    return ""
