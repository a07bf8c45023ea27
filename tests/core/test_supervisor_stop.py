"""The supervisor's stop with real child processes: the stop signal to the main process only (it stops its own
processes), the ``stops_last`` children after the others, SIGKILL after the grace period and for leftovers."""

import os
import signal
import sys
import time
from pathlib import Path

from core.supervisor import Child, Supervisor
from tests.support import wait_until

# A main process that starts a helper in its own process group, like gunicorn its workers or Celery its pool.
# Each writes "<name> <signal>" to the folder when signalled; the main process exits 0 on its stop signal.
FAMILY = """
import os, signal, subprocess, sys, time
folder, on_stop = sys.argv[1], sys.argv[2]
def note(name, code):
    with open(os.path.join(folder, name), "w") as out:
        out.write(f"{code} {time.monotonic()}")
helper = subprocess.Popen([sys.executable, "-c", '''
import os, signal, sys, time
signal.signal(signal.SIGTERM, lambda n, f: (open(os.path.join(sys.argv[1], "helper"), "w").write("15"), sys.exit(0)))
open(os.path.join(sys.argv[1], "helper.pid"), "w").write(str(os.getpid()))
time.sleep(60)
''', folder])
def stop(number, frame):
    time.sleep(float(sys.argv[3]))  # a graceful stop takes a while
    note("main", number)
    sys.exit(0)
signal.signal(getattr(signal, on_stop), stop)
open(os.path.join(folder, "main.pid"), "w").write(str(os.getpid()))
time.sleep(60)
"""


def family(name: str, folder: Path, on_stop: str = "SIGTERM", takes: float = 0.0, **options) -> Child:
    folder.mkdir()
    return Child(name, [sys.executable, "-c", FAMILY, str(folder), on_stop, str(takes)], env={}, **options)


def started(sup: Supervisor, child: Child, folder: Path) -> int:
    """The child's helper pid, once both of its processes have set their signal handlers."""
    sup.start(child)
    wait_until(lambda: (folder / "main.pid").exists() and (folder / "helper.pid").exists(), 30, f"{child.name} up")
    return int((folder / "helper.pid").read_text())


def gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] == "Z"  # a zombie is gone too
    except FileNotFoundError:
        return True


def test_the_stop_signal_goes_to_the_main_process_only_and_what_it_leaves_is_killed(tmp_path):
    sup = Supervisor(lambda line: None)
    child = family("web", tmp_path / "web")
    helper = started(sup, child, tmp_path / "web")
    sup.stop_all(grace=20)
    assert child.proc.returncode == 0
    assert (tmp_path / "web" / "main").read_text().split()[0] == str(signal.SIGTERM)
    assert not (tmp_path / "web" / "helper").exists()  # no SIGTERM of its own: its main process owns its stop
    wait_until(lambda: gone(helper), 10, "the helper killed")


def test_a_child_gets_its_own_stop_signal_and_the_stops_last_ones_wait_for_the_others(tmp_path):
    lines: list[str] = []
    sup = Supervisor(lines.append)
    service = family("milvus", tmp_path / "milvus", on_stop="SIGINT", stops_last=True, stop_signal=signal.SIGINT)
    client = family("worker", tmp_path / "worker", takes=1.0)
    helpers = [started(sup, service, tmp_path / "milvus"), started(sup, client, tmp_path / "worker")]
    sup.stop_all(grace=20)
    assert [service.proc.returncode, client.proc.returncode] == [0, 0]
    assert [line for line in lines if not line.startswith("starting ")] == []  # nothing killed
    service_stop = (tmp_path / "milvus" / "main").read_text().split()
    client_stop = (tmp_path / "worker" / "main").read_text().split()
    assert service_stop[0] == str(signal.SIGINT)
    assert float(service_stop[1]) > float(client_stop[1])  # signalled only once its client had stopped
    wait_until(lambda: all(gone(pid) for pid in helpers), 10, "the helpers killed")


def test_a_child_that_does_not_stop_in_time_is_killed_with_its_group(tmp_path):
    lines: list[str] = []
    sup = Supervisor(lines.append)
    stubborn = family("stubborn", tmp_path / "stubborn")
    helper = started(sup, stubborn, tmp_path / "stubborn")
    os.kill(stubborn.proc.pid, signal.SIGSTOP)  # hung: its SIGTERM handler never runs
    started_at = time.monotonic()
    sup.stop_all(grace=1)
    assert time.monotonic() - started_at < 10
    assert stubborn.proc.returncode == -signal.SIGKILL
    assert lines[-1] == "stubborn did not stop in 1 s: killing it"
    wait_until(lambda: gone(helper), 10, "the helper killed")
