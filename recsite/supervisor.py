"""A small process supervisor for the embedded mode (serve_all): start children, restart a crashed one with
exponential back-off, give up (and say so) when one keeps crashing, stop them all on request.

Each child runs in its own session (Ctrl-C in the terminal reaches only the supervisor). Stopping is the
child's own graceful stop: its stop signal goes to its main process only, which stops its own processes (gunicorn
its workers, Celery its pool, each without errors); what is left of its process group when it exits, or when it
took longer than the grace period, is SIGKILLed. No Django in here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

BACKOFF_MAX_SECONDS = 30.0
CRASH_WINDOW_SECONDS = 120.0  # crashes counted over this window ...
MAX_CRASHES = 5  # ... more than this many and the supervisor gives up


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict
    cwd: str | None = None
    stop_signal: int = signal.SIGTERM  # sent to the main process only, see the module docstring
    stops_last: bool = False  # a service the others use (Milvus): stopped after them, so their last calls reach it
    proc: subprocess.Popen | None = None
    crashes: list[float] = field(default_factory=list)  # monotonic times of recent unexpected exits
    restart_at: float | None = None  # when a crashed child is due to start again


def signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def signal_process(proc: subprocess.Popen, sig: int) -> None:
    try:
        proc.send_signal(sig)
    except ProcessLookupError:
        pass


class Supervisor:
    def __init__(self, log: Callable[[str], None], *, max_crashes: int = MAX_CRASHES):
        self.log, self.max_crashes = log, max_crashes
        self.children: list[Child] = []
        self.gave_up: str | None = None

    def start(self, child: Child) -> Child:
        self.log(f"starting {child.name}: {' '.join(child.argv)}")
        child.proc = subprocess.Popen(child.argv, env=child.env, cwd=child.cwd, start_new_session=True)
        child.restart_at = None
        if child not in self.children:
            self.children.append(child)
        return child

    def check(self, now: float | None = None) -> bool:
        """One supervision pass: note crashes, restart what is due. False once a child crashed too often."""
        now = time.monotonic() if now is None else now
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self.start(child)
                continue
            code = child.proc.poll() if child.proc else None
            if code is None:
                continue
            child.crashes = [t for t in child.crashes if now - t < CRASH_WINDOW_SECONDS] + [now]
            if len(child.crashes) > self.max_crashes:
                self.gave_up = (
                    f"{child.name} exited {len(child.crashes)} times in {CRASH_WINDOW_SECONDS:.0f} s "
                    f"(last exit code {code}): giving up"
                )
                self.log(self.gave_up)
                return False
            delay = min(BACKOFF_MAX_SECONDS, 2.0 ** (len(child.crashes) - 1))
            child.restart_at = now + delay
            self.log(f"{child.name} exited with code {code}: restarting in {delay:.0f} s")
        return True

    def run(self, stopping: Callable[[], bool], interval: float = 0.5) -> int:
        """Supervise until ``stopping()`` (exit status 0) or a child crashes too often (1)."""
        while not stopping():
            if not self.check():
                return 1
            time.sleep(interval)
        return 0

    def stop_all(self, grace: float) -> None:
        """Stop every child with its stop signal, the ``stops_last`` ones after the others, each wave within
        ``grace`` seconds; then SIGKILL whatever is left of each process group."""
        running = [c for c in reversed(self.children) if c.proc is not None and c.proc.poll() is None]
        for wave in ([c for c in running if not c.stops_last], [c for c in running if c.stops_last]):
            for child in wave:
                signal_process(child.proc, child.stop_signal)
            deadline = time.monotonic() + grace
            for child in wave:
                try:
                    child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    self.log(f"{child.name} did not stop in {grace:.0f} s: killing it")
                    signal_group(child.proc, signal.SIGKILL)
                    child.proc.wait()
                signal_group(child.proc, signal.SIGKILL)  # a process it left behind (none when it stops cleanly)
