"""Data-parallel training (config.trainer_processes): two CPU processes really launched through
``python -m paddle.distributed.launch`` on loopback, against the same training in this process."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from recommender.ml import collective, distributed, processes
from recommender.ml.config import load_config
from recommender.ml.distributed import refit, train
from recommender.ml.model import TwoTowerModel
from recommender.ml.sequences import Sequences
from recommender.ml.split import temporal_split
from recommender.ml.train import EpochPlan, TrainingDiverged
from tests.recommender.ml.fixtures import SMALL, tiny_dataset
from tests.support import wait_until

pytestmark = pytest.mark.slow(reason="launches Paddle training processes through paddle.distributed.launch")

# No randomness inside a step (dropouts off): two processes must then make one process's updates, up to the
# order of float sums.
EXACT = {**SMALL, "dropout": 0.0, "user_id_dropout": 0.0, "movie_id_dropout": 0.0, "epochs": 3, "patience": 3}


@pytest.fixture
def loopback(monkeypatch):
    """The launcher's own environment variables: this host as 127.0.0.1, its rendezvous on a port free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("POD_IP", "127.0.0.1")
    monkeypatch.setenv("PADDLE_MASTER", f"127.0.0.1:{port}")
    monkeypatch.setattr(distributed, "TIMEOUT_S", 300)  # a hung launch fails the test (a run takes ~10 s)


@pytest.fixture(scope="module")
def data():
    ds = tiny_dataset()
    return ds, temporal_split(ds.interactions)


def test_two_processes_make_the_single_process_updates_write_its_files_and_refit(data, loopback, tmp_path):
    ds, split = data
    single = train(ds, split, load_config(**EXACT), tmp_path / "one")
    rows = []
    result = train(ds, split, load_config(trainer_processes=2, **EXACT), tmp_path / "two", on_epoch=rows.append)

    assert [r["epoch"] for r in rows] == [r["epoch"] for r in result.curve] == [1, 2, 3]  # relayed while it ran
    for one, two in zip(single.curve, result.curve, strict=True):
        assert two["loss"] == pytest.approx(one["loss"], rel=1e-5)
        assert two["val_ndcg@10"] == pytest.approx(one["val_ndcg@10"], abs=1e-6)
    assert result.best_epoch == single.best_epoch
    assert result.val_metrics["ndcg@10"] == pytest.approx(single.val_metrics["ndcg@10"], abs=1e-6)

    out = tmp_path / "two"
    assert (out / "holdout" / "model.json").exists() and (out / "checkpoint.pdparams").exists()
    loaded = TwoTowerModel.load(out / "holdout")
    vectors = loaded.movie_vectors(ds.catalog)
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(vectors, single.model.movie_vectors(ds.catalog), atol=1e-5)
    run = out / distributed.RUN_DIR
    assert not (run / distributed.DATASET).exists() and not (run / "rank1").exists()  # inputs and scratch removed

    rows = []  # the served model: a warm refit on every rating, in two processes, dropouts on
    model = refit(ds, load_config(**{**SMALL, "trainer_processes": 2}), 2, out, start_from=loaded, on_epoch=rows.append)
    assert [r["epoch"] for r in rows] == [1, 2] and all(np.isfinite(r["loss"]) for r in rows)
    assert np.isfinite(TwoTowerModel.load(out / "model").movie_vectors(ds.catalog)).all()
    assert set(model.encoder.user_ids.tolist()) == set(ds.interactions.user_ids.tolist())


def test_a_diverging_process_fails_the_caller_with_the_trainer_error(data, loopback, tmp_path):
    ds, split = data
    with pytest.raises(TrainingDiverged, match="loss became nan at epoch 1, step 0"):
        train(ds, split, load_config(**{**SMALL, "temperature": 0.0, "trainer_processes": 2}), tmp_path)


def test_shards_partition_each_batch_and_their_shares_sum_to_one(data, monkeypatch):
    ds, split = data
    config = load_config(**SMALL)
    from recommender.ml.encoder import FeatureEncoder

    encoder = FeatureEncoder.fit(ds.catalog, split.train, max_history=config.max_history, min_token_count=1)
    plan = EpochPlan(Sequences(ds, split.train, encoder, config), config, epoch=1)
    monkeypatch.setattr(collective, "world_size", lambda: 3)
    for rows in [*plan.batches, plan.batches[0][:2]]:  # the last case leaves rank 2 without a window
        parts = []
        for r in range(3):
            monkeypatch.setattr(collective, "rank", lambda r=r: r)
            parts.append(collective.shard(plan, rows))
        assert sum(share for _, share in parts) == pytest.approx(1.0)
        real = [mine for mine, share in parts if share > 0]
        assert sorted(np.concatenate(real).tolist()) == sorted(rows.tolist())


def _describe(pids: list[int]) -> list[str]:
    """What each left-over process is (for a failing assertion): pid, process group, state and command line."""
    out = []
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            out.append(f"{pid} pgid {stat[2]} state {stat[0]}: {cmdline[:300]}")
        except OSError:
            out.append(f"{pid} (gone)")
    return out


def _processes_reading(path) -> list[int]:
    """Pids whose command line names ``path`` (the launcher and its workers name the run folder)."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(path) in (proc / "cmdline").read_bytes().decode(errors="replace"):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def _all_ended(path, timeout: float) -> None:
    """Wait until no process names ``path``; then assert it, naming those left."""
    with contextlib.suppress(AssertionError):
        wait_until(lambda: not _processes_reading(path), timeout, f"the processes of {path} to end", interval=0.5)
    assert _describe(_processes_reading(path)) == []


def test_an_on_epoch_exception_stops_the_processes_and_propagates(data, loopback, tmp_path):
    ds, split = data

    def stop(row):
        raise KeyboardInterrupt  # as an aborted job would

    with pytest.raises(KeyboardInterrupt):
        train(ds, split, load_config(**{**SMALL, "epochs": 50, "trainer_processes": 2}), tmp_path, on_epoch=stop)
    _all_ended(tmp_path, 60)


CALLER = """
import sys, time
from pathlib import Path
from recommender.ml.config import load_config
from recommender.ml.split import temporal_split
from recommender.ml.distributed import train
from tests.recommender.ml.fixtures import SMALL, tiny_dataset
ds = tiny_dataset()
config = load_config(**{**SMALL, "epochs": 1000, "patience": 1000, "trainer_processes": 2})
try:
    train(ds, temporal_split(ds.interactions), config, sys.argv[1])
except Exception as exc:  # as a Celery task would: report it and go on living
    (Path(sys.argv[1]) / "caller-error.tmp").write_text(type(exc).__name__)
    (Path(sys.argv[1]) / "caller-error.tmp").replace(Path(sys.argv[1]) / "caller-error")  # whole when seen
    time.sleep(600)
"""


@pytest.mark.parametrize("victim", ["caller", "launcher"])
def test_a_caller_or_launcher_killed_with_sigkill_leaves_no_training_process_behind(victim, loopback, tmp_path):
    """The caller (a Celery pool process in the product) dies without running processes.stop: the training
    processes see it gone and end themselves, and the launcher with them. The launcher dies: the caller, still
    alive, stops its training processes and fails with DistributedTrainingFailed."""
    caller = subprocess.Popen([sys.executable, "-c", CALLER, str(tmp_path)], cwd=distributed.ROOT, env=dict(os.environ))
    run = tmp_path / distributed.RUN_DIR
    try:
        wait_until(lambda: (run / distributed.PROGRESS).exists() or caller.poll() is not None, 120, "a first epoch")
        assert (run / distributed.PROGRESS).exists(), "the launched processes never trained"
        trainers = processes.training_processes(run)
        assert len(trainers) == 2  # both still training
        launcher = [pid for pid in _processes_reading(tmp_path) if pid not in trainers and pid != caller.pid]
        assert len(launcher) == 1
        os.kill(caller.pid if victim == "caller" else launcher[0], signal.SIGKILL)
        _all_ended(run, 30)  # the trainers and the launcher
        if victim == "launcher":  # the caller notices within its 0.5 s poll, then stops and reports
            wait_until(lambda: (tmp_path / "caller-error").exists(), 30, "the caller's report")
            assert caller.poll() is None
            assert (tmp_path / "caller-error").read_text() == "DistributedTrainingFailed"
    finally:
        caller.kill()
        caller.wait()


def test_stop_reaches_a_training_process_outside_the_launchers_group(tmp_path):
    """The launcher starts each training process in a session of its own: one it never signalled (started after
    its SIGTERM handler ran) is found by its command line and stopped too."""
    run = tmp_path / distributed.RUN_DIR
    sleep = "import time; time.sleep(120)"
    launcher = subprocess.Popen([sys.executable, "-c", sleep, "paddle.distributed.launch"], start_new_session=True)
    stray = subprocess.Popen([sys.executable, "-c", sleep, "recommender.ml.distributed", str(run)],
                             start_new_session=True)  # fmt: skip
    try:
        # until the interpreter has replaced the fork's command line
        wait_until(lambda: stray.pid in processes.training_processes(run), 10, "the stray's command line")
        assert processes.training_processes(run) == [stray.pid]
        processes.stop(launcher, run, grace_s=5)
        assert launcher.returncode == -signal.SIGTERM
        assert stray.wait(timeout=5) == -signal.SIGTERM
    finally:
        for proc in (launcher, stray):
            proc.kill()
            proc.wait()


WATCHER = "import sys, time; from recommender.ml import processes; processes.end_with(*sys.argv[1:]); time.sleep(60)"


def test_end_with_ends_the_process_when_a_watched_one_is_gone():
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    watchers = []
    try:
        alive = processes.identity(sleeper.pid)
        reused = f"{sleeper.pid}:1"  # the same pid with another start time: a process the kernel gave that pid later
        for watched in ([alive], [alive, reused]):
            watchers.append(subprocess.Popen([sys.executable, "-c", WATCHER, *watched], cwd=distributed.ROOT,
                                             start_new_session=True))  # fmt: skip
        assert watchers[1].wait(timeout=10) == -signal.SIGKILL
        time.sleep(2 * processes.POLL_S)  # two of its polls pass: nothing to wait for, it must stay
        assert watchers[0].poll() is None  # what it watches still runs
        sleeper.kill()
        sleeper.wait()
        assert watchers[0].wait(timeout=10) == -signal.SIGKILL
    finally:
        for proc in [sleeper, *watchers]:
            proc.kill()
            proc.wait()


def test_identity_tells_a_live_process_from_a_gone_one():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        first = processes.identity(child.pid)
        assert first is not None and first.startswith(f"{child.pid}:")
        assert processes.identity(child.pid) == first
    finally:
        child.kill()
        child.wait()
    assert processes.identity(child.pid) != first


def test_a_launch_on_several_machines_fails_when_too_few_join_in_time(data, loopback, tmp_path):
    """TRAINING_NODES=2 and no other machine takes the invitation: the caller's launcher waits at the rendezvous
    until join_timeout_s, then the launch fails with the reason and leaves no process behind."""
    ds, split = data
    invited = []
    spread = distributed.Cluster(
        nodes=2,
        master=os.environ["PADDLE_MASTER"],
        invite=lambda run, launch, nproc: invited.append((run, launch, nproc)),
        address="127.0.0.1",
        join_timeout_s=3,
    )
    with distributed.cluster(spread), pytest.raises(distributed.DistributedTrainingFailed, match="only 0 of the 1"):
        train(ds, split, load_config(**{**SMALL, "trainer_processes": 2}), tmp_path)
    ((run, launch, nproc),) = invited
    assert nproc == 1 and (run / distributed.LAUNCHES / launch / distributed.FINISHED).exists()
    assert distributed.join(run, launch, 2, spread.master, 1, machine="late") is False  # a late invitation: over
    assert _describe(_processes_reading(tmp_path)) == []
