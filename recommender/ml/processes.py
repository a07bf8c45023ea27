"""The processes of a data-parallel training run (recommender/ml/distributed.py): found, stopped, and ended when
the process that launched them is gone. Linux /proc; elsewhere none is found and nothing is watched.

Paddle's launcher starts each training process in a session of its own (os.setsid), so a signal to the launcher's
process group never reaches them: they are found by their command line, which names the run's folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

LAUNCHER = b"paddle.distributed.launch"
POLL_S = 1.0


def identity(pid: int) -> str | None:
    """A live process's "pid:start time", or None when it is gone or a zombie: the start time tells it from a
    later process the kernel gives the same pid. Other read errors (no /proc, too many open files) raise OSError."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    state, start_time = fields[0], fields[19]  # /proc/PID/stat fields 3 and 22
    return None if state in "ZXx" else f"{pid}:{start_time}"


def training_processes(run: Path) -> list[int]:
    """Live processes running recommender.ml.distributed on the folder ``run`` (not the launcher, whose command
    line names it too)."""
    wanted = f"recommender.ml.distributed\0{run}\0".encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (entry / "cmdline").read_bytes()
            if wanted in cmdline and LAUNCHER not in cmdline and identity(int(entry.name)):
                found.append(int(entry.name))
        except OSError:  # gone while being read
            continue
    return found


def stop(launcher: subprocess.Popen, run: Path, grace_s: float = 30.0) -> None:
    """SIGTERM to the launcher's group and to every training process of ``run``; SIGKILL to those still there
    after ``grace_s``. The launcher's group is signalled only while the launcher is unreaped (its pid, and so the
    group's id, cannot be another process's then)."""
    signal_all(launcher, run, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and (launcher.poll() is None or training_processes(run)):
        time.sleep(0.2)
    signal_all(launcher, run, signal.SIGKILL)
    launcher.wait()


def signal_all(launcher: subprocess.Popen, run: Path, signum: int) -> None:
    """``signum`` to the launcher's process group (while the launcher is unreaped) and to each training process."""
    if launcher.poll() is None:
        try:
            os.killpg(launcher.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass
    for pid in training_processes(run):
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def launcher_identity() -> str | None:
    """The identity of this process's parent while it is Paddle's launcher (None once the launcher is gone: it
    may have died before this process looked)."""
    parent = os.getppid()
    try:
        is_launcher = LAUNCHER in Path(f"/proc/{parent}/cmdline").read_bytes()
    except OSError:
        return None
    return identity(parent) if is_launcher else None


def end_with(*identities: str) -> threading.Thread:
    """SIGKILL this process (and its group when it leads one, as the launcher's training processes do) once any of
    ``identities`` ("pid:start time") is gone. A read error other than "gone" keeps watching."""
    watched = [(int(i.split(":", 1)[0]), i) for i in identities]

    def alive(pid: int, expected: str) -> bool:
        try:
            return identity(pid) == expected
        except OSError:
            return True

    def watch() -> None:
        while all(alive(pid, expected) for pid, expected in watched):
            time.sleep(POLL_S)
        if os.getpgrp() == os.getpid():
            os.killpg(0, signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)

    thread = threading.Thread(target=watch, name="training-end-with", daemon=True)
    thread.start()
    return thread
