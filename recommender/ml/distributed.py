"""Data-parallel training on CPU with Paddle's own launcher, used when config.trainer_processes > 1.

The calling process writes the run's inputs (dataset, split, config) into RUN_DIR and runs

    python -m paddle.distributed.launch --nproc_per_node N <python> -m recommender.ml.distributed RUN_DIR

Every process (gloo backend) builds the same model and the same epoch plan from the same seeds and trains on its
share of every batch's windows; before each optimizer step the gradients are summed over the processes, each
process's loss weighted by its share of the batch's targets: the update one process makes for the whole batch
(with dense Adam: from config.lazy_user_ids_from users one process updates the user-id table lazily, several densely).
Rank 0 evaluates the holdout and broadcasts the metric, so every process takes the same early-stopping decision;
rank 0 writes the model files (the other ranks write into scratch folders, deleted at the end) and the progress
rows the caller reads while it waits. The hooks in train.py are no-ops in a single process.

Several machines (``with cluster(Cluster(...))`` around train()/refit(); recommender/services/training.py sets it from
TRAINING_NODES): config.trainer_processes is then the processes of every machine together, spread evenly; the caller's
launcher gets ``--nnodes N --master HOST:PORT`` and ``Cluster.invite`` asks N - 1 other machines to run join() on the
same run folder, which must be on a volume every machine mounts at the same path (the model volume). Each launch has
an id (job.json "launch") and a folder ``launches/ID/`` where each machine that joined leaves ``joined-NAME``, a machine
whose launcher failed ``failed-NAME.json``, and the caller ``finished`` ({"ok": ...}) once its launcher is done: the
caller fails the launch when a machine failed or too few joined in time, the other machines stop their launchers
when it is finished. Rank 0, wherever it runs, writes the usual files into out_dir on that volume.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import paddle
import paddle.distributed as dist

from recommender.ml import collective, processes
from recommender.ml import train as trainer
from recommender.ml.config import TrainConfig, load_config
from recommender.ml.data import Dataset, Interactions
from recommender.ml.model import TwoTowerModel
from recommender.ml.split import Split, temporal_split

RUN_DIR = "distributed"  # inside the training's out_dir
DATASET, SPLIT, JOB, START_FROM = "dataset.npz", "split.npz", "job.json", "start_from"
PROGRESS, RESULT, ERROR = "progress.jsonl", "result.json", "error.json"
PARTS, COLUMNS = ("train", "test"), ("user_ids", "movie_ids", "scores", "timestamps")  # split.npz arrays
TIMEOUT_S: float | None = None  # a bound on one launch (the tests set one); training itself has none
ROOT = Path(__file__).resolve().parents[2]  # the folder holding the recommender package (for the workers' path)
CALLER = "RECSITE_TRAINING_CALLER"  # "pid:start time" of the process that launched the run: its processes watch it
LAUNCHES, JOINED, FAILED, FINISHED = "launches", "joined-", "failed-", "finished"  # launches/ID/: the machines' marks
FINISH_GRACE_S = 30.0  # a joined machine's launcher still running this long after the caller's finished is stopped


@dataclass(frozen=True)
class Cluster:
    """Training on several machines: ``nodes`` machines (this one among them) meet at ``master`` ("host:port", the
    launcher's rendezvous on one of them); ``invite(run, launch_id, nproc_per_node)`` asks the nodes - 1 others to
    run join() on ``run``. ``address``: this machine's address as the others reach it (the launcher's POD_IP; ""
    lets the launcher guess). A launch fails when fewer than nodes - 1 machines joined after ``join_timeout_s``."""

    nodes: int
    master: str
    invite: Callable[[Path, str, int], None]
    address: str = ""
    join_timeout_s: float = 300.0


_cluster: Cluster | None = None


class DistributedTrainingFailed(RuntimeError):
    """A launched training process failed."""


# --- inside a training process: the hooks train.py calls (no-ops without the launcher) ---


def launching(config: TrainConfig) -> bool:
    """True where train()/refit() should launch processes instead of training here."""
    return collective.to_launch(config.trainer_processes)


# --- the calling process: write the inputs, launch, relay progress, read the result ---


@contextmanager
def cluster(value: Cluster | None) -> Iterator[None]:
    """Launches inside this block spread over value.nodes machines (None or 1 node: this machine only)."""
    global _cluster
    previous, _cluster = _cluster, value if value is not None and value.nodes > 1 else None
    try:
        yield
    finally:
        _cluster = previous


def _save_split(path: Path, split: Split) -> None:
    with open(path, "wb") as f:
        np.savez(f, **{f"{part}_{name}": getattr(getattr(split, part), name) for part in PARTS for name in COLUMNS})


def _load_split(path: Path) -> Split:
    with np.load(path) as z:
        return Split(**{part: Interactions(*(z[f"{part}_{name}"] for name in COLUMNS)) for part in PARTS})


def _run_dir(out_dir: Path, dataset: Dataset, job: dict) -> Path:
    run = Path(out_dir) / RUN_DIR
    for name in (PROGRESS, RESULT, ERROR):
        (run / name).unlink(missing_ok=True)
    run.mkdir(parents=True, exist_ok=True)
    dataset.save(run / DATASET)
    (run / JOB).write_text(json.dumps({**job, "out_dir": str(Path(out_dir).resolve())}))
    return run


def train(dataset: Dataset, split: Split, config: TrainConfig, out_dir: Path, *, on_epoch=None, resume=False):
    """The training loop (train.train) here, or in config.trainer_processes launched processes (on one machine, or
    spread over the cluster() set around it): the same TrainResult and files either way."""
    if launching(config):
        return launch_train(dataset, split, config, out_dir, on_epoch=on_epoch, resume=resume)
    return trainer.train(dataset, split, config, out_dir, on_epoch=on_epoch, resume=resume)


def refit(dataset: Dataset, config: TrainConfig, epochs: int, out_dir: Path, *, start_from=None, on_epoch=None):
    """train.refit here, or in config.trainer_processes launched processes: the same model files either way."""
    if launching(config):
        return launch_refit(dataset, config, epochs, out_dir, start_from=start_from, on_epoch=on_epoch)
    return trainer.refit(dataset, config, epochs, out_dir, start_from=start_from, on_epoch=on_epoch)


def launch_train(dataset: Dataset, split: Split, config: TrainConfig, out_dir: Path, *, on_epoch=None, resume=False):
    """train.train() in config.trainer_processes launched processes; the same TrainResult and files."""
    run = _run_dir(out_dir, dataset, {"stage": "train", "config": asdict(config), "resume": resume})
    _save_split(run / SPLIT, split)
    _launch(run, config.trainer_processes, on_epoch)
    result = json.loads((run / RESULT).read_text())
    model = TwoTowerModel.load(Path(out_dir) / trainer.HOLDOUT_MODEL)
    return trainer.TrainResult(model, result["curve"], result["best_epoch"], result["val_metrics"])


def launch_refit(dataset: Dataset, config: TrainConfig, epochs: int, out_dir: Path, *, start_from=None, on_epoch=None):
    """train.refit() in config.trainer_processes launched processes; the same model files."""
    run = _run_dir(out_dir, dataset, {"stage": "refit", "config": asdict(config), "epochs": epochs})
    shutil.rmtree(run / START_FROM, ignore_errors=True)
    if start_from is not None:
        start_from.save(run / START_FROM)
    _launch(run, config.trainer_processes, on_epoch)
    return TwoTowerModel.load(Path(out_dir) / trainer.BEST_MODEL)


def _launcher(run: Path, nproc: int, log_dir: Path, *, nodes: int = 1, master: str = "", address: str = ""):
    """Start Paddle's launcher on ``run`` (nproc processes here; with nodes > 1 it meets the others at master), in a
    session of its own; the training processes watch this process (processes.end_with)."""
    command = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", str(nproc),
               "--log_dir", str(log_dir)]  # fmt: skip
    if nodes > 1:
        command += ["--nnodes", str(nodes), "--master", master]
    command += [sys.executable, "-m", "recommender.ml.distributed", str(run)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           CALLER: processes.identity(os.getpid()) or ""}  # fmt: skip
    if address:
        env["POD_IP"] = address
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / "launch.log", "wb") as log:
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _launch(run: Path, nproc: int, on_epoch: Callable[[dict], None] | None) -> None:
    """Run the launcher on ``run``; pass rank 0's progress rows to on_epoch while it trains. An exception from
    on_epoch stops the processes and propagates; a failed process (on any machine) raises its error here."""
    run = Path(run).resolve()  # the training processes' command lines name it: processes.stop finds them by it
    spread = _cluster
    launch = uuid.uuid4().hex
    marks = run / LAUNCHES / launch
    marks.mkdir(parents=True)
    job = json.loads((run / JOB).read_text())
    (run / JOB).write_text(json.dumps({**job, "launch": launch}))
    per_node, log_dir = nproc, run / "log"
    if spread is not None:
        if nproc % spread.nodes:
            raise DistributedTrainingFailed(f"{nproc} training processes do not divide over {spread.nodes} machines")
        per_node = nproc // spread.nodes
        proc = _launcher(run, per_node, log_dir, nodes=spread.nodes, master=spread.master, address=spread.address)
    else:
        proc = _launcher(run, per_node, log_dir)
    offset, started, ok = 0, time.monotonic(), False
    try:
        if spread is not None:
            spread.invite(run, launch, per_node)
        while True:
            finished = proc.poll() is not None
            offset = _relay(run / PROGRESS, offset, on_epoch)
            if finished:
                break
            waited = time.monotonic() - started
            if TIMEOUT_S is not None and waited > TIMEOUT_S:
                raise DistributedTrainingFailed(f"no result after {TIMEOUT_S:.0f} s; logs in {log_dir}")
            if spread is not None:
                _machines_check(marks, spread, waited)
            time.sleep(0.5)
        ok = proc.returncode == 0
    except BaseException:
        processes.stop(proc, run)
        raise
    finally:
        (marks / FINISHED).write_text(json.dumps({"ok": ok}))  # the other machines stop their launchers
        for name in (DATASET, SPLIT):
            (run / name).unlink(missing_ok=True)
        shutil.rmtree(run / START_FROM, ignore_errors=True)
    if proc.returncode:
        processes.stop(proc, run, grace_s=5)  # a launcher that died (OOM killer, SIGKILL) leaves its trainers
        if (run / ERROR).exists():
            error = json.loads((run / ERROR).read_text())
            cls = trainer.TrainingDiverged if error["type"] == "TrainingDiverged" else DistributedTrainingFailed
            raise cls(f"{error['message']} (rank {error['rank']}; logs in {log_dir})")
        tail = (log_dir / "launch.log").read_text(errors="replace")[-1500:]
        raise DistributedTrainingFailed(f"the launcher exited with {proc.returncode}; logs in {log_dir}:\n{tail}")


def _machines_check(marks: Path, spread: Cluster, waited: float) -> None:
    """Raise when another machine's launcher failed, or when fewer than nodes - 1 joined in join_timeout_s."""
    for failed in sorted(marks.glob(f"{FAILED}*.json")):
        error = json.loads(failed.read_text())
        raise DistributedTrainingFailed(f"machine {error['machine']} failed: {error['message']}")
    if waited > spread.join_timeout_s:
        joined = len(list(marks.glob(f"{JOINED}*")))
        if joined < spread.nodes - 1:
            raise DistributedTrainingFailed(
                f"only {joined} of the {spread.nodes - 1} other training machines joined within "
                f"{spread.join_timeout_s:.0f} s: is a worker taking the training_peers queue running on each, with "
                f"the run folder {marks.parents[1]} on a volume they share?"
            )


# --- another machine of a launch (a Celery task on the training_peers queue in the product) ---


def join(run: Path, launch: str, nodes: int, master: str, nproc: int, *, machine: str, address: str = "") -> bool:
    """Run this machine's share (nproc processes) of the launch ``launch`` on ``run`` until it ends; False when that
    launch is over or replaced already (a late or redelivered invitation). A failure here is recorded in the launch's
    folder for the caller, then raised."""
    run = Path(run).resolve()
    marks = run / LAUNCHES / launch
    if not marks.is_dir():
        raise DistributedTrainingFailed(
            f"no launch {launch} in {run} on {machine}: the run folder must be on a volume every training machine "
            "mounts at the same path (MODEL_DIR)"
        )
    current = json.loads((run / JOB).read_text()).get("launch")
    if current != launch or (marks / FINISHED).exists():
        return False
    name = f"{machine}-{os.getpid()}".replace("/", "_")
    (marks / f"{JOINED}{name}").write_text(json.dumps({"machine": machine, "pid": os.getpid()}))
    log_dir = run / f"log-{name}"
    proc = _launcher(run, nproc, log_dir, nodes=nodes, master=master, address=address)
    try:
        ended_at = None
        while proc.poll() is None:
            if ended_at is None and (marks / FINISHED).exists():
                ok = json.loads((marks / FINISHED).read_text() or "{}").get("ok", False)
                ended_at = time.monotonic() + (FINISH_GRACE_S if ok else 0.0)
            if ended_at is not None and time.monotonic() > ended_at:
                processes.stop(proc, run, grace_s=5)
                return True
            time.sleep(0.5)
        if proc.returncode:
            tail = (log_dir / "launch.log").read_text(errors="replace")[-1500:]
            raise DistributedTrainingFailed(f"its launcher exited with {proc.returncode}; logs in {log_dir}:\n{tail}")
    except BaseException as exc:
        processes.stop(proc, run, grace_s=5)
        message = f"{type(exc).__name__}: {exc}"
        (marks / f"{FAILED}{name}.json").write_text(json.dumps({"machine": machine, "message": message}))
        raise
    return True


def _relay(path: Path, offset: int, on_epoch) -> int:
    """Pass the complete rows written to ``path`` after ``offset`` to on_epoch; the new offset."""
    if not path.exists():
        return offset
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    complete = data[: data.rfind(b"\n") + 1]
    for line in complete.splitlines():
        if on_epoch is not None:
            on_epoch(json.loads(line))
    return offset + len(complete)


# --- the launched process ---


def main(argv: list[str] | None = None) -> None:
    """Train from RUN_DIR: dataset.npz, and (written by launch_train/launch_refit) job.json, split.npz, start_from/.

    Without job.json (a run prepared by hand, e.g. across machines) it trains the holdout model with
    config.toml's values on temporal_split(dataset) and writes RUN_DIR/holdout and RUN_DIR/result.json.
    """

    run = Path((argv if argv is not None else sys.argv[1:])[0]).resolve()
    if os.environ.get(CALLER):  # launched by _launch (a run prepared by hand across machines has no caller here)
        launcher = processes.launcher_identity()
        if launcher is None:
            raise SystemExit("the launcher is gone: not training")
        processes.end_with(os.environ[CALLER], launcher)  # a caller killed with SIGKILL never runs processes.stop
    job = json.loads((run / JOB).read_text()) if (run / JOB).exists() else {}
    paddle.set_device("cpu")
    dist.init_parallel_env()
    writer = collective.rank() == 0
    out_dir = Path(job.get("out_dir", run))
    target = out_dir if writer else run / f"rank{collective.rank()}"  # only rank 0's files are kept
    on_epoch = _progress_writer(run / PROGRESS) if writer else None
    try:
        config = load_config(**job.get("config", {}))
        dataset = Dataset.load(run / DATASET)
        if job.get("stage") == "refit":
            start_from = TwoTowerModel.load(run / START_FROM) if (run / START_FROM).exists() else None
            trainer.refit(dataset, config, job["epochs"], target, start_from=start_from, on_epoch=on_epoch)
        else:
            split = _load_split(run / SPLIT) if (run / SPLIT).exists() else temporal_split(dataset.interactions)
            resume = job.get("resume", False)
            if resume and not writer and (out_dir / trainer.CHECKPOINT).exists():  # resume from rank 0's state
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy(out_dir / trainer.CHECKPOINT, target / trainer.CHECKPOINT)
            result = trainer.train(dataset, split, config, target, on_epoch=on_epoch, resume=resume)
            if writer:
                summary = {"curve": result.curve, "best_epoch": result.best_epoch, "val_metrics": result.val_metrics}
                (run / RESULT).write_text(json.dumps(summary))
    except Exception as exc:
        error = {"type": type(exc).__name__, "message": str(exc), "rank": collective.rank()}
        (run / ERROR).write_text(json.dumps(error))
        raise
    finally:
        if not writer:
            shutil.rmtree(target, ignore_errors=True)


def _progress_writer(path: Path) -> Callable[[dict], None]:
    def on_epoch(row: dict) -> None:
        with open(path, "a") as f:
            f.write(json.dumps(row) + "\n")

    return on_epoch


if __name__ == "__main__":
    main()
