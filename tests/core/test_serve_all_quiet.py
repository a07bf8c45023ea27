"""`serve_all` starts and stops quietly: a real serve_all (tests/faults/test_serve_all.py's set-up: SQLite file,
Milvus Lite server, SQL broker, gunicorn, two Celery workers) stopped by Ctrl-C (SIGINT) or SIGTERM exits 0 with
no traceback and no library noise, and leaves no process behind. It also runs the site with DEBUG off even when
the environment says DEBUG=true: the favicon answers and an unknown page is the site's 404 page.
"""

import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.faults.stack import get
from tests.faults.test_serve_all import START_TIMEOUT
from tests.faults.test_serve_all import serve_all as serve_all  # noqa: F401 - the fixture, see getfixturevalue
from tests.support import wait_until

pytestmark = pytest.mark.slow

STOP_TIMEOUT = 60.0
# Processes under serve_all once it is up: Milvus, 2 Celery workers with 1 pool child each, gunicorn with 2 workers.
PROCESSES = 1 + 2 * 2 + 3
NOISE = [
    "Traceback",  # Python's, and Paddle's "C++ Traceback"
    "FatalError",  # Paddle's SIGTERM handler
    "No ccache found",  # Paddle's import
    "superuser privileges",  # Celery's root warning
    "Warm shutdown",  # Celery's stop
    "ForkPoolWorker",  # a pool child that got the signal before its main process
    "exited with code",  # a child that died: the supervisor restarts it
    "did not stop",  # a child the supervisor had to kill
    "faiss",  # the faiss loader
]


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc: each process's parent)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, todo = set(), [pid]
    while todo:
        below = todo.pop()
        children = [p for p, parent in parents.items() if parent == below]
        found.update(children)
        todo.extend(children)
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z"  # a zombie has ended
    except (FileNotFoundError, ProcessLookupError):
        return False


def workers_consuming(var: Path) -> bool:
    """Both Celery workers declared their queue on the SQL broker (just before they are ready)."""
    with sqlite3.connect(var / "celery-broker.sqlite3") as db:
        return {name for (name,) in db.execute("SELECT name FROM kombu_queue")} >= {"training", "default"}


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_all_stops_quietly_and_leaves_nothing_running(request, monkeypatch, stop):
    monkeypatch.setenv("DEBUG", "true")  # before the fixture starts serve_all, which must ignore it
    run = request.getfixturevalue("serve_all")
    proc, port, log = run["proc"], run["web"], run["log"]
    wait_until(lambda: get(port, "/").status == 200, START_TIMEOUT, "the site")
    wait_until(lambda: workers_consuming(run["var"]), START_TIMEOUT, "the Celery workers", ignore=(sqlite3.Error,))
    children = wait_until(lambda: len(found := descendants(proc.pid)) >= PROCESSES and found, 60, "every process")
    time.sleep(2)  # the workers' ready hook (Celery's own stop message off) runs just after the queues are declared

    favicon = get(port, "/favicon.ico")
    assert (favicon.status, favicon.body.startswith("<svg")) == (200, True)
    missing = get(port, "/no-such-page/")
    assert missing.status == 404 and "<h1>Page not found</h1>" in missing.body
    assert "URLconf" not in missing.body and "admin/" not in missing.body  # DEBUG's page lists the URL patterns

    os.killpg(proc.pid, stop)  # Ctrl-C: the terminal signals serve_all's process group
    assert proc.wait(timeout=STOP_TIMEOUT) == 0
    text = log.read_text()
    assert "[serve_all] stopped" in text and "DEBUG is ignored here" in text
    assert [noise for noise in NOISE if noise in text] == [], text
    wait_until(lambda: not any(alive(pid) for pid in children), 10, "every process gone")
