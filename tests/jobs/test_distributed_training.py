"""Training on several processes and machines from the product (issue #23 item 6), through the real Celery task.

Each test starts its own worker (``celery -A recsite worker``) with the training settings in its environment, on a
queue of its own so the suite's shared worker never takes these messages: TRAINING_PROCESSES=2 (two data-parallel
processes on this machine), and TRAINING_NODES=2 with a worker that also takes the training_peers queue (the "other
machine" is a second pool process of that worker, on loopback). The messages are the product's own task,
recommender.tasks.model_version_pipeline, sent to that queue.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings

from recommender import tasks
from recommender.ml import distributed, processes
from recommender.models import ModelVersion
from recommender.services.training import model_version_create
from recommender.vectorstore import get_vector_store
from tests import support

from .conftest import WORKER_ENV, tiny_config_file, wait_for_version, wait_until

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.slow(reason="its own Celery worker trains a tiny model on 2 Paddle processes"),
]
DONE, SERVED = {"active", "inactive", "failed"}, {"active", "inactive"}


@contextmanager
def worker_running(name: str, queues: str, concurrency: int, **env_extra: str):
    """A real Celery worker on ``queues`` with ``env_extra`` in its environment; stopped (its process group) after."""
    log_path = Path(settings.TEST_VAR_DIR) / f"worker-{name}-{os.getpid()}.log"
    env = {
        **os.environ,
        **WORKER_ENV,
        "DJANGO_SETTINGS_MODULE": "recsite.settings.test",
        "RECSITE_TEST_VAR_DIR": str(settings.TEST_VAR_DIR),
        "DATABASE_URL": support.child_database_url(),
        "MILVUS_URI": settings.MILVUS_URI,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "TRAINING_NODE_ADDRESS": "127.0.0.1",  # the launchers meet on loopback
        **env_extra,
    }
    argv = [sys.executable, "-m", "celery", "-A", "recsite", "worker", "-Q", queues, "-c", str(concurrency)]
    argv += ["-n", f"{name}-{os.getpid()}@%h", "-l", "info", "--without-gossip", "--without-mingle"]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:

        def ready():
            assert proc.poll() is None, f"the worker exited:\n{log_path.read_text()[-3000:]}"
            return " ready." in log_path.read_text()

        wait_until(ready, 90, f"the {name} worker to be ready")
        yield {"proc": proc, "log": log_path, "queue": queues.split(",")[0]}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture
def fresh_model_dir(use_milvus_server, synthetic_ratings):
    """The database starts empty each test, so version numbers start at 1 again: so does MODEL_DIR (no v1/ of an
    earlier test's)."""
    shutil.rmtree(settings.MODEL_DIR, ignore_errors=True)


@pytest.fixture
def two_processes(fresh_model_dir):
    with worker_running("dist", "training_dist_test", 1, TRAINING_PROCESSES="2") as worker:
        yield worker


def train(worker: dict, config: dict, statuses: set[str] | None = DONE, timeout: float = 240) -> ModelVersion:
    """A version created as the product does, its pipeline run by the worker's Celery task; the version once it is
    in ``statuses``."""
    version = model_version_create(config=config)
    tasks.model_version_pipeline.apply_async(args=[version.pk], queue=worker["queue"])
    if statuses is None:
        return version
    return wait_for_version(version.number, statuses, timeout=timeout)


def result_files(version: ModelVersion) -> list[str]:
    """The files a version's training left, but the distributed run's own folder (inputs, logs, progress)."""
    out = Path(settings.MODEL_DIR) / f"v{version.number}"
    return sorted(
        str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.parts[len(out.parts)] != "distributed"
    )


def test_training_processes_2_trains_the_version_in_two_processes_with_the_same_files(two_processes):
    config_file = tiny_config_file(epochs=2)
    one = train(two_processes, {"config_file": config_file, "trainer_processes": 1})  # the version's own value wins
    assert one.status in SERVED, one.error or one.gate_reason
    two = train(two_processes, {"config_file": config_file})  # TRAINING_PROCESSES=2 from the worker's environment
    assert two.status in SERVED, two.error or two.gate_reason

    assert one.metrics["training"] == {
        "processes": 1, "machines": 1, "processes_from": "the version's config", "loss": "full softmax",
        "user_ids": "dense Adam",
    }  # fmt: skip
    assert two.metrics["training"] == {
        "processes": 2,
        "machines": 1,
        "processes_per_machine": 2,
        "processes_from": "settings",
        "loss": "full softmax",
        "user_ids": "dense Adam",
    }
    assert two.config["trainer_processes"] == 2
    assert result_files(two) == result_files(one) and "model/model.json" in result_files(two)
    run = Path(settings.MODEL_DIR) / f"v{two.number}" / distributed.RUN_DIR
    assert (run / "log" / "workerlog.0").exists() and (run / "log" / "workerlog.1").exists()  # two ranks ran
    assert not (Path(settings.MODEL_DIR) / f"v{one.number}" / distributed.RUN_DIR).exists()
    assert [row["epoch"] for row in two.curve] == [1, 2]  # rank 0's progress, relayed while it trained


def _rank(pid: int) -> str | None:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    return next((v.split(b"=", 1)[1].decode() for v in environ if v.startswith(b"PADDLE_TRAINER_ID=")), None)


def test_a_rank_that_dies_fails_the_version_cleanly(two_processes):
    version = train(two_processes, {"config_file": tiny_config_file(epochs=400)}, statuses=None)

    def training():
        row = ModelVersion.objects.get(pk=version.pk)
        return row.status == "training" and row.progress.get("epoch", 0) >= 1

    wait_until(training, 120, "the version to be training")
    run = (Path(settings.MODEL_DIR) / f"v{version.number}" / distributed.RUN_DIR).resolve()
    trainers = processes.training_processes(run)  # started by this test's worker, for this test's run folder
    assert sorted(_rank(pid) for pid in trainers) == ["0", "1"]
    os.kill(next(pid for pid in trainers if _rank(pid) == "1"), signal.SIGKILL)  # as the OOM killer would

    failed = wait_for_version(version.number, DONE, timeout=120)
    assert failed.status == "failed"
    assert failed.error.startswith("DistributedTrainingFailed: "), failed.error[:500]
    assert failed.progress == {"stage": "failed"} and not failed.artifact_path
    assert not (run.parent / "model").exists()  # nothing of a served model was written
    assert get_vector_store().live_version() is None  # nothing went live
    wait_until(lambda: not processes.training_processes(run), 60, "the other rank to be stopped")
    assert two_processes["proc"].poll() is None  # the worker lives on: the next version trains
    assert train(two_processes, {"config_file": tiny_config_file(epochs=1)}).status in SERVED


def test_training_nodes_2_spreads_the_version_over_two_machines(fresh_model_dir):
    """Two "machines" on loopback: the training worker's own launcher and one joined through the training_peers
    queue (a second pool process of the same worker here, a worker on another host in production)."""
    master = f"127.0.0.1:{support.free_port()}"
    env = {"TRAINING_NODES": "2", "TRAINING_PROCESSES": "1", "TRAINING_MASTER": master}
    with worker_running("nodes", "training_nodes_test,training_peers", 2, **env) as worker:
        version = train(worker, {"config_file": tiny_config_file(epochs=2)})

        def peers_done():  # both invitations (training, refit) answered: the worker is not stopped inside one
            return len(re.findall(r"training_peer_join\[[-0-9a-f]+\] succeeded", worker["log"].read_text())) == 2

        wait_until(peers_done, 60, "the joined machine's tasks to end")
    assert version.status in SERVED, version.error or version.gate_reason
    assert version.metrics["training"] == {
        "processes": 2,
        "machines": 2,
        "processes_per_machine": 1,
        "processes_from": "settings",
        "loss": "full softmax",
        "user_ids": "dense Adam",
    }
    run = Path(settings.MODEL_DIR) / f"v{version.number}" / distributed.RUN_DIR
    launches = sorted((run / distributed.LAUNCHES).iterdir())
    assert len(launches) == 2  # the holdout training and the refit
    for launch in launches:
        assert len(list(launch.glob(f"{distributed.JOINED}*"))) == 1 and not list(launch.glob(f"{distributed.FAILED}*"))
    assert [(log / "workerlog.0").exists() for log in run.glob("log-*")] == [True]  # the joined machine's logs
    assert "model/model.json" in result_files(version) and "holdout/model.json" in result_files(version)
