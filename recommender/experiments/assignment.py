"""Which version serves a user while an experiment runs (read by recommender.serving on every personal answer),
and which collection must stay (recommender.services.vectors). Imports nothing that serves or trains.

The state is the database's; what the request path reads is a copy, so that an answer costs no extra query: a
process keeps it for EXPERIMENT_CHECK_SECONDS (as serving re-reads the live alias), then reads the shared cache,
then (a miss: every EXPERIMENT_CACHE_SECONDS at most) the database. Start, stop and promote write the cache: with
Redis (REDIS_URL) every process sees them within a second; with the per-process memory cache (no Redis) other
processes see them within EXPERIMENT_CACHE_SECONDS. A restarted worker serves the same arms (split.py: a stable
hash; nothing in process memory decides).
"""

import threading
import time

from django.core.cache import cache
from django.db import transaction

from movies.models import Rating

from .models import Experiment
from .split import CANDIDATE, arm_of

EXPERIMENT_CHECK_SECONDS = 1.0
EXPERIMENT_CACHE_SECONDS = 60
CACHE_KEY = "experiment:running:1"
NONE = "none"  # cached: no experiment runs


class _Running:
    """This process's view of the running experiment: (id, candidate number, share) or None, re-read when stale."""

    def __init__(self):
        self._lock = threading.Lock()
        self._value: tuple[int, int, float] | None = None
        self._read_at = float("-inf")

    def get(self) -> tuple[int, int, float] | None:
        now = time.monotonic()
        with self._lock:
            if now - self._read_at <= EXPERIMENT_CHECK_SECONDS:
                return self._value
        value = cache.get(CACHE_KEY)
        if value is None:
            value = self.publish()
        value = None if value == NONE else tuple(value)
        with self._lock:
            self._value, self._read_at = value, now
        return value

    def publish(self) -> tuple | str:
        """Read the database, put what runs in the shared cache (start, stop and promote call this)."""
        value = Experiment.objects.running().values_list("pk", "candidate__number", "share").first() or NONE
        cache.set(CACHE_KEY, value, EXPERIMENT_CACHE_SECONDS)
        return value

    def changed(self) -> None:
        """After a start, stop or promote: drop the copies now, publish the committed state once committed (a
        reader in between reads the database; a rolled-back change publishes nothing)."""
        cache.delete(CACHE_KEY)
        self.reset()
        transaction.on_commit(self.publish)

    def reset(self) -> None:
        """Forget this process's copy (the next read goes to the cache)."""
        with self._lock:
            self._value, self._read_at = None, float("-inf")


running = _Running()


def candidate_running() -> int | None:
    """The running experiment's candidate version number (its collection must stay), or None: read from the
    database now (collections_retire runs in another process than the one that started the experiment)."""
    return Experiment.objects.running().values_list("candidate__number", flat=True).first()


def candidate_for(*, user_id: int, rated: bool | None = None) -> int | None:
    """The candidate's version number when ``user_id`` falls in the running experiment's candidate arm and has
    rated something (cold-start users stay on control; ``rated`` None: asked here, only for candidate-arm users);
    None: serve the live version."""
    value = running.get()
    if value is None:
        return None
    experiment_id, number, share = value
    if arm_of(experiment_id, user_id, share) != CANDIDATE:
        return None
    if rated is None:
        rated = Rating.objects.filter(user_id=user_id).exists()
    return number if rated else None
