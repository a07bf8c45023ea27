"""Fault test: SIGTERM to `serve_all` while its training worker trains marks that version failed with the reason
(not left "training" until the next start), and the failed version's files under var/models are deleted.

A real serve_all (no web: workers and Milvus only) on its own embedded set-up in a temporary folder; the version is
queued from a separate `manage.py shell`, and this test signals only the serve_all it started (its pid).
"""

import os
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest

from recommender.ml.processes import identity
from tests.faults.processes import MANAGE, ROOT, descendants, serve_all_process
from tests.support import free_port, wait_until

pytestmark = pytest.mark.slow(reason="a real serve_all whose training worker trains a tiny model until SIGTERM")

SEED_AND_QUEUE = """
from datetime import UTC, datetime, timedelta
from pathlib import Path
from django.conf import settings
from django.contrib.auth import get_user_model
from movies.models import Movie, Rating
from recommender.services.training_jobs import model_version_train_enqueue
movies = Movie.objects.bulk_create(Movie(id=m, title=f"Film {m} (1999)", year=1999) for m in range(1, 61))
users = get_user_model().objects.bulk_create(get_user_model()(username=f"u{u}") for u in range(40))
start = datetime(2001, 1, 1, tzinfo=UTC)
Rating.objects.bulk_create(
    Rating(user=user, movie_id=1 + (i * 7 + t) % 60, score=1 + (i + t) % 5, rated_at=start + timedelta(hours=t))
    for i, user in enumerate(users) for t in range(25)
)
config = Path(settings.TRAINING_CONFIG_DIR) / "long.toml"
config.parent.mkdir(parents=True, exist_ok=True)
config.write_text("epochs = 100000\\npatience = 100000\\nbatch_size = 16\\n")
print("QUEUED", model_version_train_enqueue(config={"config_file": str(config)}).number)
"""


def version_row(database: Path, number: int) -> tuple[str, str]:
    with sqlite3.connect(database, timeout=10) as db:
        row = db.execute("SELECT status, error FROM recommender_modelversion WHERE number = ?", (number,)).fetchone()
    return row or ("", "")


def test_sigterm_during_training_fails_the_version_with_the_reason_and_deletes_its_files(tmp_path):
    with serve_all_process(tmp_path, "--no-web", "--milvus-port", str(free_port())) as run:
        proc, var, log = run.proc, run.var, run.log
        queued = subprocess.run([*MANAGE, "shell", "-c", SEED_AND_QUEUE], cwd=ROOT, env=run.env, capture_output=True,
                                text=True, timeout=300)  # fmt: skip
        assert queued.returncode == 0, queued.stderr[-3000:]
        number = int(queued.stdout.split("QUEUED ")[1].split()[0])
        database, folder = var / "recsite.sqlite3", var / "models" / f"v{number}"

        def training() -> bool:
            assert proc.poll() is None, log.read_text()[-3000:]
            return version_row(database, number)[0] == "training" and folder.is_dir()

        def row_and_log() -> tuple:
            return version_row(database, number), log.read_text()[-3000:]

        wait_until(training, 240, f"v{number} training", 0.5, detail=row_and_log)
        run.seen.update(filter(None, map(identity, descendants(proc.pid))))

        os.kill(proc.pid, signal.SIGTERM)  # serve_all itself, as an operator or a service manager does
        assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]
        status, error = version_row(database, number)
        assert status == "failed", (status, error, log.read_text()[-3000:])
        assert "stopped by SIGTERM" in error and "training" in error, error
        assert f"model version(s) [{number}] were training: marked failed (SIGTERM)" in log.read_text()
        assert not folder.exists(), sorted(p.name for p in folder.iterdir())
