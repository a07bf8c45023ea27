"""The live model inside this process: which version serves (read from the Milvus alias), its user tower, the
movie vectors as indexing stored them in Milvus (one source of truth: no process recomputes them), used for
explanations, and the version's ranker (the second stage) when it has one. Reloaded when the alias moves; nothing
here touches requests."""

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.quiet import StateLatch
from recommender.ml.data import Users
from recommender.ml.model import TwoTowerModel
from recommender.ml.neighbours import ItemNeighbours
from recommender.ml.ranker import Ranker
from recommender.models import ModelVersion
from recommender.vectorstore import VectorStore, VectorStoreError, get_vector_store

from .services.dataset import catalog_export

log = logging.getLogger(__name__)

# The site serving popular movies instead of a model's suggestions: every page view meets it while the first model
# trains, so it is logged when it begins and when it ends, once per process (fallback_enter / fallback_leave).
fallback = StateLatch(log)
# An experiment's candidate that cannot load: logged when it begins and when the candidate serves again, not for
# each of its users' requests.
candidate_down = StateLatch(log)
LIVE_CHECK_SECONDS = 1.0  # how long a process trusts its idea of the live version before asking Milvus again
OTHER_RETRY_SECONDS = 30.0  # a second version (an experiment's candidate) that failed to load is not tried again sooner


@dataclass
class LiveModel:
    version: ModelVersion
    model: TwoTowerModel
    collection: str
    movie_ids: np.ndarray  # int64 [M]
    movie_vectors: np.ndarray  # float32 [M, d], row i for movie_ids[i]
    row_of: dict[int, int]
    neighbours: ItemNeighbours | None = None  # co-rating neighbours saved with the model (None for older versions)
    genres: dict[int, frozenset[str]] = field(default_factory=dict)  # movie id -> genre names, at load time
    ranker: Ranker | None = None  # the second stage, when the version's pipeline kept one

    def vectors_for(self, movie_ids) -> np.ndarray:
        rows = [self.row_of[m] for m in movie_ids if m in self.row_of]
        return self.movie_vectors[rows]

    def user_vector(self, *, user_id: int, gender: str, age: int, occupation: int, history) -> np.ndarray:
        users = Users(
            user_ids=np.array([user_id], dtype=np.int64),
            genders=[gender or ""],
            ages=np.array([age or 0], dtype=np.int32),
            occupations=np.array([-1 if occupation is None else occupation], dtype=np.int32),
        )
        movie_ids, scores = history
        hist = (np.asarray(movie_ids, dtype=np.int64), np.asarray(scores, dtype=np.float32))
        return self.model.user_vectors(users, [hist])[0]


class NoLiveModel(Exception):
    """No version is serving (none trained, alias missing, artifact gone): callers fall back to popularity."""


def _ranker_or_none(version: ModelVersion) -> Ranker | None:
    """The version's second stage; a missing or unreadable one leaves the Milvus order (logged), never an error."""
    try:
        return Ranker.load(version.artifact_path)
    except Exception as exc:  # noqa: BLE001 - LightGBM raises its own error type for a damaged model file
        log.warning("model v%s: ranker not loaded, serving the tower's order: %s", version.number, exc)
        return None


LIVE, OTHER = "live", "other"  # the registry's two slots: the live version, a second one (a candidate)


class _Registry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[str, LiveModel | None] = {LIVE: None, OTHER: None}  # OTHER: an experiment's candidate
        self._checked_at = 0.0
        self._live_number: int | None = None
        self._other_failed: tuple[int, float, str] | None = None  # (number, monotonic time, why) of a failed load

    def get(self, store: VectorStore | None = None) -> LiveModel:
        """The live model. Milvus is asked which version is live at most every LIVE_CHECK_SECONDS, by one request
        and outside the lock (a slow or hung Milvus holds up that request only; the others use what is known)."""
        now = time.monotonic()
        with self._lock:
            due = now - self._checked_at > LIVE_CHECK_SECONDS or self._live_number is None
            if due:
                self._checked_at = now
            number = self._live_number
        if due:
            try:
                number = (store or get_vector_store()).live_version()
            except VectorStoreError:
                with self._lock:
                    self._live_number = None
                raise
            with self._lock:
                self._live_number = number
        if number is None:
            raise NoLiveModel("no collection is live in Milvus")
        with self._lock:  # one load per version, whoever asks first
            return self._loaded(LIVE, number, store)

    def _loaded(self, slot: str, number: int, store: VectorStore | None) -> LiveModel:
        """Version ``number`` in ``slot``, loaded first when the slot holds none or another version (lock held)."""
        model = self._models[slot]
        if model is None or model.version.number != number:
            model = self._models[slot] = self._load(number, store or get_vector_store())
        return model

    def loaded_versions(self) -> dict[int, int]:
        """{number: row id} of the versions this process has loaded: the live one, an experiment's candidate. No lock
        (a load in progress must not hold up an impression write): the slots' keys never change, only their models."""
        loaded = list(self._models.values())
        return {m.version.number: m.version.pk for m in loaded if m is not None}

    def _load(self, number: int, store: VectorStore) -> LiveModel:
        version = ModelVersion.objects.filter(number=number).first()
        if version is None or not version.artifact_path or not Path(version.artifact_path).exists():
            raise NoLiveModel(f"model version {number} is live in Milvus but its artifact is missing")
        started = time.perf_counter()
        try:
            model = TwoTowerModel.load(version.artifact_path)
        except (ValueError, OSError) as exc:
            raise NoLiveModel(f"model version {number} cannot be loaded: {exc}") from exc
        catalog = catalog_export()
        collection = store.collection_name(number)
        stored = store.get_vectors(catalog.movie_ids.tolist(), collection=collection)  # what indexing saved
        ids = np.array([m for m in catalog.movie_ids.tolist() if m in stored], dtype=np.int64)
        vectors = np.stack([stored[m] for m in ids.tolist()]) if len(ids) else np.zeros((0, model.config.out_dim))
        log.info("loaded model v%s and %d movie vectors in %.2fs", number, len(ids), time.perf_counter() - started)
        return LiveModel(
            version=version,
            model=model,
            collection=collection,
            movie_ids=ids,
            movie_vectors=vectors.astype(np.float32),
            row_of={int(m): i for i, m in enumerate(ids.tolist())},
            neighbours=ItemNeighbours.load(version.artifact_path),
            ranker=_ranker_or_none(version),
            genres={int(m): frozenset(g) for m, g in zip(catalog.movie_ids.tolist(), catalog.genres, strict=True)},
        )

    def get_version(self, number: int, store: VectorStore | None = None) -> LiveModel:
        """Version ``number`` loaded beside the live one (an experiment's candidate: its tower and its own Milvus
        collection), once per process; NoLiveModel or VectorStoreError when it cannot serve."""
        with self._lock:
            failed = self._other_failed
            if failed is not None and failed[0] == number and time.monotonic() - failed[1] < OTHER_RETRY_SECONDS:
                raise NoLiveModel(failed[2])  # not a load per request while it cannot serve
            try:
                model = self._loaded(OTHER, number, store)
            except (NoLiveModel, VectorStoreError) as exc:
                self._other_failed = (number, time.monotonic(), str(exc))
                raise
            self._other_failed = None
            return model

    def reset(self) -> None:
        with self._lock:
            self._models, self._live_number, self._checked_at = {LIVE: None, OTHER: None}, None, 0.0
            self._other_failed = None


registry = _Registry()


def live_model(*, user_id: int | None = None, rated: bool | None = None) -> LiveModel:
    """The serving model of this process; raises NoLiveModel or VectorStoreError when there is none.

    With ``user_id``: the version that user is served. While an A/B experiment runs (recommender/experiments) a
    user in its candidate arm who has rated something (``rated``; None: looked up) gets the candidate version; a
    candidate that cannot be loaded is logged and the live version serves."""
    live = registry.get()
    if user_id is None:
        return live
    from recommender.experiments.assignment import candidate_for  # the experiment's state is in the database

    number = candidate_for(user_id=user_id, rated=rated)
    if number is None or number == live.version.number:
        return live
    try:
        candidate = registry.get_version(number)
    except (NoLiveModel, VectorStoreError) as exc:
        candidate_down.enter(
            f"v{number}", "experiment candidate v%s cannot serve, its users get the live version: %s", number, exc,
            level=logging.WARNING,
        )  # fmt: skip
        return live
    candidate_down.leave("experiment candidate v%s serves its users again", number)
    return candidate


def warm_up() -> None:
    """Load the serving model now (a new web worker), so no user waits for it; nothing serving is fine too."""
    started = time.perf_counter()
    try:
        live = registry.get()
    except (NoLiveModel, VectorStoreError) as exc:
        fallback.state = None  # a new worker: its state starts here
        fallback_enter(exc, "warm-up: nothing to load yet, ")
        return
    log.info("warm-up: model v%s ready in %.2fs", live.version.number, time.perf_counter() - started)


def fallback_enter(exc: Exception, before: str = "") -> bool:
    """A request (or the warm-up) serves popular movies because no model can: logged once per process and reason.
    No live version yet (the first training) is a state, not a fault: INFO. A live version that cannot be loaded,
    or Milvus away, needs a look: WARNING."""
    if isinstance(exc, VectorStoreError):
        kind, why, level = "store", ": the vector store is unavailable", logging.WARNING
    elif str(exc).startswith("no collection is live"):
        kind, why, level = "none-live", " until a model is live", logging.INFO
    else:
        kind, why, level = "unusable", ": the live model cannot serve", logging.WARNING
    return fallback.enter(kind, "%sserving popular movies%s (%s)", before, why, exc, level=level)


def fallback_leave(number: int) -> bool:
    """A request was served by model ``number``: logged if this process was serving popular movies."""
    return fallback.leave("serving model v%s's suggestions (popular movies until now)", number)
