"""Fixtures for the job tests: synthetic ratings in the DB, a Milvus Lite server and a real Celery worker.

The worker is a subprocess (``celery -A recsite worker``) on the broker the suite runs with: CELERY_BROKER_URL
when it is redis:// (CI's second run), else a sqla+sqlite file in this run's temporary folder (see
recsite/settings/test.py). It opens the same test database (a SQLite file, or test_<name> on PostgreSQL),
the same MODEL_DIR and the same Milvus Lite *server* as this process.
"""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from recommender.models import ModelVersion
from tests import support

# Tiny training: a few hundred steps on 2,000 ratings; the gate must still see it beat MostPop.
TINY_CONFIG = """
id_dim = 16
genre_dim = 8
title_dim = 8
year_dim = 4
demographic_dim = 4
history_dim = 16
hidden_dim = 32
out_dim = 16
batch_size = 64
epochs = {epochs}
patience = {epochs}
temperature = 0.1
learning_rate = 0.01
"""
N_USERS, N_MOVIES, PER_USER = 60, 80, 34
GENRES = ["Action", "Comedy", "Drama", "Horror"]
WORKER_ENV = {"JOBS_HEARTBEAT_SECONDS": "0.5", "JOBS_STALE_SECONDS": "600"}


# the job tests poll the database every 0.25 s and let every exception through (tests/jobs/test_worker.py too)
wait_until = partial(support.wait_until, interval=0.25, ignore=())


def tiny_config_file(epochs: int) -> str:
    path = Path(settings.TRAINING_CONFIG_DIR) / f"tiny-config-{epochs}.toml"  # staff may name only files there
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TINY_CONFIG.format(epochs=epochs))
    return str(path)


@pytest.fixture
def synthetic_ratings(transactional_db):
    """60 MovieLens users x 80 movies, ~2,000 ratings: each user mostly rates one genre's movies, 5 stars."""
    from movies.models import Genre, Movie, Profile, Rating

    rng = np.random.default_rng(7)
    genres = [Genre.objects.create(name=name) for name in GENRES]
    movies = Movie.objects.bulk_create(
        Movie(id=m, title=f"Film {m} ({1960 + m % 40})", year=1960 + m % 40) for m in range(1, N_MOVIES + 1)
    )
    genre_of = {m.id: (m.id - 1) % len(GENRES) for m in movies}
    Movie.genres.through.objects.bulk_create(
        Movie.genres.through(movie_id=m.id, genre_id=genres[genre_of[m.id]].id) for m in movies
    )
    user_model = get_user_model()
    users = user_model.objects.bulk_create(user_model(username=f"ml{u}") for u in range(1, N_USERS + 1))
    Profile.objects.bulk_create(
        Profile(user=user, movielens_id=i, gender="MF"[i % 2], age=25, occupation=i % 21)
        for i, user in enumerate(users, 1)
    )
    start, ratings = datetime(2001, 1, 1, tzinfo=UTC), []
    for i, user in enumerate(users):
        liked = i % len(GENRES)
        weights = np.array([8.0 if genre_of[m] == liked else 1.0 for m in range(1, N_MOVIES + 1)])
        chosen = rng.choice(N_MOVIES, size=PER_USER, replace=False, p=weights / weights.sum()) + 1
        for t, movie_id in enumerate(chosen):
            score = 5 if genre_of[int(movie_id)] == liked else 2
            ratings.append(Rating(user=user, movie_id=int(movie_id), score=score, rated_at=start + timedelta(hours=t)))
    Rating.objects.bulk_create(ratings)
    for movie in movies:
        rows = [r.score for r in ratings if r.movie_id == movie.id]
        movie.rating_count, movie.rating_total = len(rows), sum(rows)
    Movie.objects.bulk_update(movies, ["rating_count", "rating_total"])
    return {"users": N_USERS, "movies": N_MOVIES, "ratings": len(ratings)}


@pytest.fixture
def staff_client(client, transactional_db):
    admin = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-boss-123")
    client.force_login(admin)
    return client


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory):
    """One Milvus Lite server for the worker tests: this process and the worker both talk to it over http."""
    port = support.free_port()
    data_dir = tmp_path_factory.mktemp("milvus-server")
    exe = str(Path(sys.executable).with_name("milvus-lite"))
    argv = [exe, "server", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port)]
    log = (data_dir.parent / "milvus-server.log").open("wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def listening():
        assert proc.poll() is None, f"milvus-lite server exited: {log.name}"
        return support.listening(port)

    wait_until(listening, 60, "the milvus-lite server")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture
def use_milvus_server(milvus_server, settings):
    """Point this process's vector store at the shared server for one test."""
    from recommender.serving import registry
    from recommender.vectorstore import get_vector_store, reset_vector_store

    reset_vector_store()
    settings.MILVUS_URI = milvus_server
    registry.reset()
    get_vector_store().drop_all()  # the database is fresh each test: so is the vector store
    yield milvus_server
    reset_vector_store()
    registry.reset()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, milvus_server, tmp_path_factory):
    """A real `celery -A recsite worker` on both queues (-c 1), started once for the session."""
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    env = {
        **os.environ,
        **WORKER_ENV,
        "DJANGO_SETTINGS_MODULE": "recsite.settings.test",
        "RECSITE_TEST_VAR_DIR": str(settings.TEST_VAR_DIR),
        "DATABASE_URL": support.child_database_url(),
        "MILVUS_URI": milvus_server,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    argv = [sys.executable, "-m", "celery", "-A", "recsite", "worker", "-Q", "training,default", "-c", "1"]
    argv += ["-n", f"jobs-test-{os.getpid()}@%h", "-l", "info", "--without-gossip", "--without-mingle"]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def ready():
        assert proc.poll() is None, f"the worker exited:\n{log_path.read_text()[-3000:]}"
        return " ready." in log_path.read_text()

    wait_until(ready, 90, "the celery worker to be ready")
    yield {"proc": proc, "log": log_path}
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)


@pytest.fixture
def worker(celery_worker_process, use_milvus_server, synthetic_ratings, settings):
    """A live worker plus synthetic data; retrains from the admin use the tiny config."""
    settings.RETRAIN_CONFIG_FILE = tiny_config_file(epochs=4)
    return celery_worker_process


def wait_for_version(number: int, statuses: set[str], timeout: float = 180) -> ModelVersion:
    def reached():
        version = ModelVersion.objects.filter(number=number).first()
        return version if version and version.status in statuses else None

    return wait_until(reached, timeout, f"model version {number} to reach {sorted(statuses)}")
