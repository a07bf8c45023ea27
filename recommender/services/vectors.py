"""Movie vectors in Milvus for a model version: index, activate (alias switch, rollback), re-sync, count, drop."""

import logging
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from recommender.ml.data import Catalog
from recommender.ml.model import TwoTowerModel
from recommender.models import ModelVersion
from recommender.serving import registry
from recommender.vectorstore import get_vector_store
from recsite.exceptions import ApplicationError

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
    version.progress = {"stage": "indexing", "movies": len(catalog)}
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
    switched back, so Milvus and the database never disagree about what serves.
    """
    if version.status in {Status.FAILED, Status.RETIRED} or not version.artifact_path:
        raise ApplicationError(f"model version {version.number} is {version.status} and cannot be activated")
    store = get_vector_store()
    if version.number not in store.list_versions():
        model_version_index(version=version)
    previous_live = store.live_version()
    store.switch_alias(version.number)
    try:
        with transaction.atomic():
            ModelVersion.objects.filter(status=Status.ACTIVE).exclude(pk=version.pk).update(status=Status.INACTIVE)
            version.status, version.activated_at = Status.ACTIVE, timezone.now()
            version.save(update_fields=["status", "activated_at"])
    except Exception:
        if previous_live is not None:
            store.switch_alias(previous_live)
        raise
    registry.reset()
    log.info("model version %s is live (was %s)", version.number, previous_live)
    return version


def vectors_sync() -> int:
    """Re-write the active version's vectors for every movie now in the catalogue (after movies change)."""
    version = ModelVersion.objects.filter(status=Status.ACTIVE).first()
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
    ModelVersion.objects.filter(status=Status.ACTIVE).update(status=Status.INACTIVE)
    registry.reset()
