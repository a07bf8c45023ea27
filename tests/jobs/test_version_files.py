"""Files of versions that can never serve again (failed, retired) are deleted; nothing else under MODEL_DIR is."""

import pytest

from recommender.models import ModelVersion
from recommender.services.training_jobs import _version_dead, version_files_clean

pytestmark = pytest.mark.django_db
Status = ModelVersion.Status


def make(models, number: int, status: str) -> ModelVersion:
    folder = models / f"v{number}"
    (folder / "holdout").mkdir(parents=True)
    (folder / "model.pdparams").write_bytes(b"x" * 1000)
    return ModelVersion.objects.create(number=number, status=status, artifact_path=str(folder / "model.pdparams"))


def test_only_failed_and_retired_folders_under_model_dir_are_deleted(settings, tmp_path):
    models = settings.MODEL_DIR = tmp_path / "models"
    for number, status in enumerate(
        [Status.ACTIVE, Status.INACTIVE, Status.FAILED, Status.RETIRED, Status.TRAINING], 1
    ):
        make(models, number, status)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "keep.txt").write_text("not ours")
    (models / "v6").symlink_to(outside)  # a failed version whose folder is a link out of MODEL_DIR: not followed
    ModelVersion.objects.create(number=6, status=Status.FAILED)
    (models / "notes").mkdir()

    assert version_files_clean() == [3, 4]
    assert sorted(p.name for p in models.iterdir()) == ["notes", "v1", "v2", "v5", "v6"]
    assert (outside / "keep.txt").exists()
    assert version_files_clean() == []  # idempotent


def test_a_version_declared_dead_loses_its_files_at_once(settings, tmp_path):
    models = settings.MODEL_DIR = tmp_path / "models"
    make(models, 1, Status.ACTIVE)
    dead = make(models, 2, Status.TRAINING)
    _version_dead(dead, "killed")
    dead.refresh_from_db()
    assert dead.status == Status.FAILED and not (models / "v2").exists() and (models / "v1").exists()
