"""Recording what was shown, and click-throughs; the retention cleanup.

impressions_record is the one function the interfaces (API views, site views) call for every list they show: it
decides what is recorded (signed-in users only; the surface; the version that made the list, None for popularity)
and how it is written. Item 4 of issue #25 (A/B experiments) records the arm's version here too.

Writes are cheap and can never fail a page or an answer (IMPRESSIONS_WRITE):
- "deferred": the rows go to a per-process buffer that a daemon thread writes every IMPRESSIONS_FLUSH_SECONDS, or
  as soon as IMPRESSIONS_FLUSH_SIZE impressions wait, and once more at exit (~0.02 ms on the request path);
- "inline": one transaction with two bulk inserts per request (every list a page shows goes in one call), inside a
  savepoint, so a failure rolls back only itself (a few ms: a commit);
- "auto" (the default): deferred in a web server's process (gunicorn or runserver loaded recsite/wsgi.py or
  asgi.py), inline elsewhere (tests, shells, commands: what was shown is in the database at once);
- "off": nothing is recorded (answers carry a null impression id; the load benchmark's baseline).
A failed write is logged once (and once more when writes succeed again) and dropped; the answer keeps its
impression id (inline mode: null, since nothing was recorded).
"""

import atexit
import functools
import logging
import os
import sys
import threading
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from core.exceptions import NotFoundError
from core.quiet import StateLatch
from recommender.models import ModelVersion
from recommender.serving import registry

from .models import Impression, ImpressionClick, ImpressionItem

log = logging.getLogger(__name__)

CLEANUP_BATCH = 5000
TICK = 0.25  # seconds between the flush thread's looks at the clock


# A failed write is logged when the failures begin and when writes succeed again, not for each one (a dead database
# must not flood the log).
write_log = StateLatch(log)


def _version_pks(numbers: set[int]) -> dict[int, int]:
    """Row ids of versions by number: the versions this process has loaded (live, an experiment's candidate)
    without a query, others read."""
    known = registry.loaded_versions()
    missing = numbers - known.keys()
    if missing:
        known.update(ModelVersion.objects.filter(number__in=missing).values_list("number", "pk"))
    return known


def _rows(pending: list[tuple]) -> tuple[list[tuple], list[tuple]]:
    """(impression id, user id, surface, version number or None, movie ids, time) -> the two tables' rows, each
    value as the database takes it (the fields' own get_db_prep_value: a UUID and a datetime per impression)."""
    pks = _version_pks({p[3] for p in pending if p[3] is not None})
    id_field, at_field = Impression._meta.pk, Impression._meta.get_field("created_at")
    impressions, items = [], []
    for impression_id, user_id, surface, number, movie_ids, at in pending:
        key, when = id_field.get_db_prep_value(impression_id, connection), at_field.get_db_prep_value(at, connection)
        impressions.append((key, user_id, surface, pks.get(number), when))
        items += [(key, user_id, movie_id, position, when) for position, movie_id in enumerate(movie_ids)]
    return impressions, items


def _insert(model, columns: tuple[str, ...]) -> str:
    meta = model._meta
    return _statement(connection.vendor, meta.db_table, tuple(meta.get_field(c).column for c in columns))


@functools.cache
def _statement(vendor: str, table: str, columns: tuple[str, ...]) -> str:
    """The INSERT statement, built once per vendor (its quoting), table and columns."""
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    return f"INSERT INTO {connection.ops.quote_name(table)} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"


IMPRESSION_COLUMNS = ("id", "user", "surface", "model_version", "created_at")
ITEM_COLUMNS = ("impression", "user", "movie_id", "position", "shown_at")


def _write(pending: list[tuple]) -> bool:
    """Write impressions in one transaction (a savepoint when inside one): True, or False (logged) on failure.
    One executemany per table: a list of ten movies is eleven rows, and the ORM's bulk_create spent about four times
    the CPU building model objects for them (the flush thread shares the web worker's GIL)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            impressions, items = _rows(pending)
            cursor.executemany(_insert(Impression, IMPRESSION_COLUMNS), impressions)
            if items:
                cursor.executemany(_insert(ImpressionItem, ITEM_COLUMNS), items)
    except Exception as exc:  # never fail the page: log once, drop
        write_log.enter(
            "failing", "impressions not recorded (dropped, further failures are not logged): %s", exc,
            level=logging.WARNING,
        )  # fmt: skip
        return False
    write_log.leave("impressions recorded again")
    return True


class _Buffer:
    """The deferred writer of one process: a list under a lock, a daemon thread that writes it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pending: list[tuple] = []
        self.wake = threading.Event()
        self.pid = None
        self.thread = None
        self.flush_at_exit = False  # atexit registered (inherited by a forked child, as the registration is)

    def add(self, rows: list[tuple]) -> None:
        with self.lock:
            if self.pid != os.getpid():  # first use in this process (or a forked child): start its thread
                self.pid, self.pending = os.getpid(), []
                self.thread = threading.Thread(target=self._run, name="impressions-flush", daemon=True)
                self.thread.start()
                if not self.flush_at_exit:  # what still waits is written once more at exit
                    atexit.register(self.flush)
                    self.flush_at_exit = True
            self.pending += rows
            full = len(self.pending) >= settings.IMPRESSIONS_FLUSH_SIZE
        if full:
            self.wake.set()

    def holds(self, impression_id) -> bool:
        with self.lock:
            return any(p[0] == impression_id for p in self.pending)

    def flush(self) -> None:
        with self.lock:
            pending, self.pending = self.pending, []
        if pending:
            _write(pending)

    def _run(self) -> None:
        last = time.monotonic()
        while True:
            woken = self.wake.wait(TICK)  # in ticks, so a changed IMPRESSIONS_FLUSH_SECONDS applies within one
            if not woken and time.monotonic() - last < settings.IMPRESSIONS_FLUSH_SECONDS:
                continue
            self.wake.clear()
            last = time.monotonic()
            try:
                self.flush()
            finally:
                close_old_connections()


buffer = _Buffer()


def deferred() -> bool:
    """Whether this process buffers its impressions (IMPRESSIONS_WRITE; "auto": a web server's process)."""
    mode = settings.IMPRESSIONS_WRITE
    if mode == "auto":
        return "recsite.wsgi" in sys.modules or "recsite.asgi" in sys.modules
    return mode == "deferred"


def impressions_record(*, user, shown: list[tuple[str, object]]) -> list[uuid.UUID | None]:
    """Record each (surface, Recommendations) as one impression of ``user``, written together; returns the ids, in
    order (None where nothing was recorded: an anonymous user, an empty list, a failed inline write). Each
    Recommendations gets the id as ``impression_id`` too (what templates put on the movie links)."""
    signed_in = user is not None and getattr(user, "is_authenticated", False)
    if settings.IMPRESSIONS_WRITE == "off":  # recording switched off: nothing shown is recorded, no ids
        signed_in = False
    now, rows, ids = timezone.now(), [], []
    for surface, recs in shown:
        movie_ids = [item.movie.pk for item in recs.items]
        impression_id = uuid.uuid4() if signed_in and movie_ids else None
        if impression_id is not None:
            rows.append((impression_id, user.pk, surface, recs.model_version, movie_ids, now))
        ids.append(impression_id)
    if rows:
        if deferred():
            buffer.add(rows)
        elif not _write(rows):
            ids = [None] * len(ids)
    for (_, recs), impression_id in zip(shown, ids, strict=True):
        recs.impression_id = impression_id
    return ids


def impression_record(*, user, surface: str, recs) -> uuid.UUID | None:
    """impressions_record for one list."""
    return impressions_record(user=user, shown=[(surface, recs)])[0]


# --- clicks -----------------------------------------------------------------------------------------------


class NotShown(Exception):
    """The impression did not show that movie."""


def impression_of_user(*, user, impression_id) -> Impression:
    """The user's impression with this id (a UUID or its text; written first if it still waits in this process's
    buffer); NotFoundError when the id is not a UUID or not a list shown to ``user``."""
    try:
        parsed = impression_id if isinstance(impression_id, uuid.UUID) else uuid.UUID(str(impression_id))
    except ValueError:
        parsed = None
    if parsed is not None and buffer.holds(parsed):
        buffer.flush()
    impression = Impression.objects.filter(pk=parsed, user_id=user.pk).first() if parsed is not None else None
    if impression is None:
        raise NotFoundError(f"you were shown no list {impression_id}")
    return impression


def click_record(*, impression: Impression, movie_id: int) -> tuple[ImpressionClick, bool]:
    """Record a click-through from ``impression`` to ``movie_id`` (once per impression and movie: a second click
    returns the first): (click, created); NotShown when the impression did not show that movie."""
    if not ImpressionItem.objects.filter(impression=impression, movie_id=movie_id).exists():
        raise NotShown(f"impression {impression.pk} did not show movie {movie_id}")
    return ImpressionClick.objects.get_or_create(impression=impression, movie_id=movie_id)


def site_click_record(*, user, impression_id: str, movie_id: int) -> bool:
    """A movie page opened from a recommendation link (?imp=<id>): record the click if that impression is the user's
    and showed the movie; never raises (a bad id, someone else's impression or a failed write records nothing)."""
    if not getattr(user, "is_authenticated", False) or not impression_id:
        return False
    try:
        with transaction.atomic():
            impression = impression_of_user(user=user, impression_id=impression_id)
            click_record(impression=impression, movie_id=movie_id)
    except (NotFoundError, NotShown, ValueError, TypeError):
        return False
    except Exception as exc:  # never fail the page
        log.warning("click on movie %s from impression %s not recorded: %s", movie_id, impression_id, exc)
        return False
    return True


# --- retention --------------------------------------------------------------------------------------------


def impressions_cleanup(*, now=None) -> int:
    """Delete impressions (their items and clicks) older than IMPRESSION_RETENTION_DAYS, in batches; returns how
    many impressions went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.IMPRESSION_RETENTION_DAYS)
    deleted = 0
    while True:
        ids = list(Impression.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:CLEANUP_BATCH])
        if not ids:
            return deleted
        with transaction.atomic():
            ImpressionClick.objects.filter(impression_id__in=ids).delete()
            ImpressionItem.objects.filter(impression_id__in=ids).delete()
            Impression.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
