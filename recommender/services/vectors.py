"""Movie vectors in Milvus for a model version: index, activate (alias switch, rollback), retire old collections,
re-sync, count, drop."""

import logging
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from core.exceptions import ApplicationError
from recommender.ml.data import Catalog
from recommender.ml.model import TwoTowerModel
from recommender.models import ModelVersion, Stage
from recommender.serving import registry
from recommender.vectorstore import VectorStoreError, get_vector_store

from .dataset import catalog_export

log = logging.getLogger(__name__)
Status = ModelVersion.Status


def _model_of(version: ModelVersion) -> TwoTowerModel:
    if not version.artifact_path or not Path(version.artifact_path).exists():
        raise ApplicationError(f"model version {version.number} has no saved model to index")
    return TwoTowerModel.load(version.artifact_path)


def model_version_index(*, version: ModelVersion, model: TwoTowerModel | None = None, catalog: Catalog | None = None):
    """Write this version's movie vectors into its own collection (complete, flushed, indexed, loaded)."""
    model = model or _model_of(version)
    catalog = catalog or catalog_export()
    version.status = Status.INDEXING
    version.progress = {"stage": Stage.INDEXING, "movies": len(catalog)}
    version.save(update_fields=["status", "progress"])
    vectors = model.movie_vectors(catalog)
    name = get_vector_store().build_collection(
        version.number, catalog.movie_ids, vectors, catalog.genres, catalog.years
    )
    version.collection_name = name
    version.save(update_fields=["collection_name"])
    return name


def model_version_activate(*, version: ModelVersion) -> ModelVersion:
    """Make a complete version the live one: build its collection if missing, switch the alias, record it.

    The previous active version becomes inactive (kept for rollback). If recording fails, the alias is
    switched back, so Milvus and the database never disagree about what serves. Then collections_retire() drops
    the collections past MILVUS_KEEP_COLLECTIONS; its failure is logged and never undoes the activation.
    """
    if version.status == Status.RETIRED:
        raise ApplicationError(
            f"model version {version.number} is retired: its Milvus collection was dropped to keep only the newest "
            "ones (MILVUS_KEEP_COLLECTIONS), so it cannot be activated again; train a new version instead",
            {"status": version.status},
        )
    if version.status == Status.FAILED or not version.artifact_path:
        raise ApplicationError(f"model version {version.number} is {version.status} and cannot be activated")
    store = get_vector_store()
    if version.number not in store.list_versions():
        model_version_index(version=version)
    previous_live = store.live_version()
    store.switch_alias(version.number)
    try:
        with transaction.atomic():
            ModelVersion.objects.active().exclude(pk=version.pk).update(status=Status.INACTIVE)
            version.status, version.activated_at = Status.ACTIVE, timezone.now()
            version.save(update_fields=["status", "activated_at"])
    except Exception:
        if previous_live is not None:
            store.switch_alias(previous_live)
        raise
    registry.reset()
    log.info("model v%s is live (before: %s)%s", version.number,
             "popular movies" if previous_live is None else f"v{previous_live}",
             _ndcg_beside_baseline(version.metrics or {}))  # fmt: skip
    try:
        collections_retire()
    except (VectorStoreError, DatabaseError):
        log.exception("model version %s is live, but old collections could not be dropped", version.number)
    return version


def _ndcg_beside_baseline(metrics: dict) -> str:
    """The console's verdict on a version: ", NDCG@10 0.0812 vs best baseline 0.0655 (popularity)", or ""."""
    ndcg = (metrics.get("model") or {}).get("ndcg@10")
    if ndcg is None:
        return ""
    from recommender.admin_display import best_baseline

    best = best_baseline(metrics, "ndcg@10")
    return f", NDCG@10 {ndcg:.4f}" + (f" vs best baseline {best[1]:.4f} ({best[0]})" if best else "")


def collections_retire(*, keep: int | None = None) -> list[int]:
    """Drop the Milvus collections of all but the newest `keep` versions (MILVUS_KEEP_COLLECTIONS; 0 keeps all).

    Never dropped: the live version (alias and database), the rollback target (the most recently activated
    version besides it: the one that served before), a version whose pipeline runs, and a collection the
    database has no version for (another deployment's, or a database reset: left to the operator). Both protected
    versions count toward `keep`. A dropped inactive version becomes RETIRED (it cannot be activated again); a
    failed one stays FAILED. Returns the numbers whose collections were dropped, oldest first.
    """
    keep = settings.MILVUS_KEEP_COLLECTIONS if keep is None else keep
    if keep <= 0:
        return []
    store = get_vector_store()
    in_store = set(store.list_versions())
    active = ModelVersion.objects.active().values_list("number", flat=True).first()
    rollback = (
        ModelVersion.objects.filter(status=Status.INACTIVE, activated_at__isnull=False)
        .exclude(number=active)
        .order_by("-activated_at", "-number")
        .values_list("number", flat=True)
        .first()
    )
    from recommender.experiments.assignment import candidate_running  # issue #25 item 4: a running A/B test's

    protected = {store.live_version(), active, rollback, candidate_running()} & in_store  # candidate serves too
    done = [Status.INACTIVE, Status.FAILED, Status.RETIRED]
    finished = ModelVersion.objects.filter(number__in=in_store, status__in=done)
    candidates = sorted(set(finished.values_list("number", flat=True)) - protected, reverse=True)
    doomed = sorted(candidates[max(keep - len(protected), 0) :])
    for number in doomed:
        store.drop_collection(number)  # never the live one: LiveCollectionError if Milvus disagrees
        version = ModelVersion.objects.get(number=number)
        version.collection_name = ""
        if version.status == Status.INACTIVE:
            version.status = Status.RETIRED
        version.save(update_fields=["status", "collection_name"])
        log.info("model version %s: collection dropped (%s kept), version %s", number, keep, version.status)
    return doomed


def vectors_sync() -> int:
    """Re-write the active version's vectors for every movie now in the catalogue (after movies change)."""
    version = ModelVersion.objects.active().first()
    if version is None:
        raise ApplicationError("no active model version: train one first")
    catalog = catalog_export()
    vectors = _model_of(version).movie_vectors(catalog)
    written = get_vector_store().upsert_vectors(
        version.number, catalog.movie_ids, vectors, catalog.genres, catalog.years
    )
    registry.reset()
    return written


def vectors_count() -> int:
    return get_vector_store().count()


def vectors_drop_all() -> None:
    """Drop every collection and the alias; the site serves popularity until a version is activated again."""
    get_vector_store().drop_all()
    ModelVersion.objects.active().update(status=Status.INACTIVE)
    registry.reset()
