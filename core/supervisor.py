"""A small process supervisor for the embedded mode (serve_all): start children, restart a crashed one with
exponential back-off, give up (and say so) when one keeps crashing, stop them all on request.

Each child runs in its own session (Ctrl-C in the terminal reaches only the supervisor). Stopping is the
child's own graceful stop: its stop signal goes to its main process only, which stops its own processes (gunicorn
its workers, Celery its pool, each without errors); what is left of its process group when it exits, or when it
took longer than the grace period, is SIGKILLed. No Django in here.

Health checks (issue #24): a child may carry a ``health`` ping (a callable with its own short deadline, returning
None when the child answered, else why not: serve_all pings Milvus with a gRPC CheckHealth and gunicorn with GET
/healthz), every ``health_every`` seconds (``starting_every`` while it starts, if sooner), and an ``on_answer`` hook
called at its first answer after each start (serve_all's "site up" line). After ``health_failures`` failed pings in
a row, counted once the child answered once or its start-up grace is over, the child is replaced: SIGKILL to its
process group (a stopped process cannot run a graceful stop), the reason logged, and a restart with the crash
back-off.

Hand-written, not honcho/supervisord/circus: none of them pings a live child (they restart exited ones only;
supervisord needs the external superlance httpok listener, HTTP only), and this is ~150 lines with no daemon.
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
    # health check: None if the child answered, else why not; must return within a few seconds (it runs in the loop)
    health: Callable[[], str | None] | None = None
    health_every: float = 10.0  # seconds between pings
    health_failures: int = 3  # failed pings in a row that get the child replaced
    health_grace: float = 120.0  # after a start, failed pings count only once it answered or this long passed
    starting_every: float | None = None  # seconds between pings until its first answer within the grace, if sooner
    on_answer: Callable[[Child], None] | None = None  # called at the first answer after each start (restarts too)
    started_at: float = 0.0
    answered: bool = False
    health_due: float = 0.0
    health_bad: int = 0
    replaced: int = 0  # how many times a health check replaced it (for logs and tests)


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
        child.started_at = child.health_due = time.monotonic()
        child.answered, child.health_bad = False, 0
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
                reason = self._health_check(child, now)
                if reason is None:
                    continue
                self._replace(child, reason)
                code = "-9 (SIGKILL: not answering its health check)"
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

    def _health_check(self, child: Child, now: float) -> str | None:
        """Ping a running child when due; why it must be replaced once too many pings in a row failed, else None."""
        if child.health is None or now < child.health_due:
            return None
        starting = not child.answered and now - child.started_at < child.health_grace
        every = child.health_every
        if starting and child.starting_every is not None:
            every = min(every, child.starting_every)
        child.health_due = now + every
        try:
            reason = child.health()
        except Exception as exc:  # noqa: BLE001 - a ping that crashed is a failed ping, never the supervisor's end
            reason = f"the health check crashed: {type(exc).__name__}: {exc}"
        if reason is None:
            first, child.answered, child.health_bad = not child.answered, True, 0
            if first and child.on_answer is not None:
                try:
                    child.on_answer(child)
                except Exception as exc:  # noqa: BLE001 - a hook that crashed is logged, never the supervisor's end
                    self.log(f"{child.name}: its first-answer hook crashed: {type(exc).__name__}: {exc}")
            return None
        if starting:
            return None  # still starting
        child.health_bad += 1
        self.log(f"{child.name} failed its health check ({child.health_bad}/{child.health_failures}): {reason}")
        if child.health_bad < child.health_failures:
            return None
        return f"{child.health_failures} health checks in a row failed (last: {reason})"

    def _replace(self, child: Child, reason: str) -> None:
        """SIGKILL a child that stopped answering (its whole process group: a hung process cannot stop itself)."""
        self.log(f"{child.name} (pid {child.proc.pid}) is alive but not answering: {reason}; killing its process group")
        signal_group(child.proc, signal.SIGKILL)
        try:
            child.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # uninterruptible (D state): the restart waits for the next pass
            self.log(f"{child.name} (pid {child.proc.pid}) did not die within 30 s of SIGKILL")
        child.replaced += 1

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


def http_ping(host: str, port: int, path: str = "/healthz", timeout: float = 5.0) -> str | None:
    """A health check for a web server: any HTTP answer within `timeout` is alive (a 400 for a host outside
    ALLOWED_HOSTS too); None, or why not."""
    import http.client

    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host})
        conn.getresponse().read()
    except OSError as exc:  # refused, reset, timed out
        return f"GET http://{host}:{port}{path}: {type(exc).__name__}: {exc or 'no answer'} (deadline {timeout:g} s)"
    finally:
        conn.close()
    return None
