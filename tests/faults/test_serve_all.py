"""Fault test: `serve_all` (the main command's server) supervises its children on loopback.

It signals only processes it started: the serve_all it launched and that process's descendants, found by walking
/proc's parent links from its pid (never a machine-wide search by name: another recsite on this machine has
processes with the same command lines).

A real serve_all on its own embedded set-up (SQLite file, Milvus Lite server, SQL broker, gunicorn) in a
temporary folder: the Milvus server is SIGKILLed and the training worker's main process too; the site keeps
answering (no 5xx, no refused connection), both come back without a restart of serve_all, and SIGTERM stops
everything with exit status 0.
"""

import contextlib
import http.client
import os
import signal
import socket
import time
from pathlib import Path

import pytest

from recommender.ml.processes import identity
from tests.faults.processes import answer_limit, descendants, serve_all_process, wait_until_logged
from tests.support import free_port, wait_until

pytestmark = pytest.mark.slow(reason="a real serve_all (gunicorn, Milvus Lite, Celery workers) killed, hung, restarted")

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT, RESTART_TIMEOUT = 120.0, 60.0
SEED_DATA = """
from django.contrib.auth import get_user_model
from movies.models import Movie
from movies.services import rating_upsert
for i in range(1, 21):
    Movie.objects.create(id=i, title=f"Film {i} (1999)", year=1999)
user = get_user_model().objects.create_user("viewer", password="viewer-password-1")
for i in range(1, 6):
    rating_upsert(user=user, movie_id=i, score=5)
"""


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def pids_matching(root: int, pattern: str) -> list[int]:
    """The processes below ``root`` (our serve_all) whose command line holds ``pattern``."""
    return sorted(pid for pid in descendants(root) if pattern in command_line(pid))


def get(port: int, path: str, cookie: str = "") -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def login(port: int) -> str:
    """Session cookie of the seeded user through the site's login form (CSRF included)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    conn.request("GET", "/accounts/login/")
    response = conn.getresponse()
    page = response.read().decode()
    csrf = response.getheader("Set-Cookie").split("csrftoken=")[1].split(";")[0]
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    body = f"username=viewer&password=viewer-password-1&csrfmiddlewaretoken={token}"
    headers = {"Cookie": f"csrftoken={csrf}", "Content-Type": "application/x-www-form-urlencoded",
               "Referer": f"http://127.0.0.1:{port}/accounts/login/"}  # fmt: skip
    conn.request("POST", "/accounts/login/", body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    cookies = response.getheader("Set-Cookie") or ""
    assert response.status == 302 and "sessionid=" in cookies, (response.status, cookies)
    return f"csrftoken={csrf}; sessionid={cookies.split('sessionid=')[1].split(';')[0]}"


@pytest.fixture
def serve_all(tmp_path):
    web, milvus = free_port(), free_port()
    argv = ["--addr", f"127.0.0.1:{web}", "--milvus-port", str(milvus), "--health-every", "2"]
    with serve_all_process(tmp_path, *argv, seed=SEED_DATA) as run:
        yield {"proc": run.proc, "web": web, "milvus": milvus, "var": run.var, "log": run.log, "seen": run.seen}


def test_killed_milvus_and_worker_are_restarted_while_the_site_keeps_answering(serve_all):
    port, log = serve_all["web"], serve_all["log"]
    wait_until_logged(lambda: get(port, "/") == 200, START_TIMEOUT, "the site did not answer", log)
    cookie = login(port)
    pages = ["/", "/movies/", "/movies/3/", "/api/schema/"]
    statuses = [get(port, path, cookie) for path in pages]
    assert statuses == [200] * len(pages), statuses

    root = serve_all["proc"].pid
    milvus_data = str(serve_all["var"] / "milvus.db")
    milvus_pids = pids_matching(root, f"--data-dir {milvus_data}")
    worker_pids = pids_matching(root, "-n training@")
    serve_all["seen"].update(filter(None, map(identity, descendants(root))))
    assert milvus_pids and worker_pids
    for pid in milvus_pids:
        os.kill(pid, signal.SIGKILL)
    os.kill(min(worker_pids), signal.SIGKILL)  # the worker's main process (its pool child is younger)

    during = [get(port, path, cookie) for _ in range(5) for path in pages]  # the logged-in home reads Milvus
    assert all(status < 500 for status in during), during

    def milvus_back() -> bool:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex(("127.0.0.1", serve_all["milvus"])) == 0

    wait_until_logged(milvus_back, RESTART_TIMEOUT, "Milvus was not restarted", log)
    wait_until_logged(lambda: set(pids_matching(root, "-n training@")) - set(worker_pids), RESTART_TIMEOUT,
               "the training worker was not restarted", log)  # fmt: skip
    serve_all["seen"].update(filter(None, map(identity, descendants(root))))
    after = [get(port, path, cookie) for path in pages]
    assert after == [200] * len(pages), after
    text = log.read_text()
    assert "milvus exited" in text and "worker-training exited" in text and "restarting" in text

    os.killpg(serve_all["proc"].pid, signal.SIGTERM)
    assert serve_all["proc"].wait(timeout=30) == 0
    assert "[serve_all] stopped" in log.read_text()

    def left() -> list[int]:
        seen = serve_all["seen"]
        return [pid for pid in (int(known.split(":")[0]) for known in seen) if identity(pid) in seen]

    with contextlib.suppress(AssertionError):  # the assertion below names what is left
        wait_until(lambda: not left(), 10, "every process gone")
    assert left() == [], [command_line(pid) for pid in left()]


def test_a_hung_milvus_child_is_replaced_while_each_answer_takes_under_2_s(serve_all):
    """SIGSTOP of the Milvus server (alive, not answering): the logged-in home page (which asks Milvus) answers
    within 2 s each time, and serve_all's health check replaces the server within 90 s, saying why."""
    port, log, root = serve_all["web"], serve_all["log"], serve_all["proc"].pid
    wait_until_logged(lambda: get(port, "/") == 200, START_TIMEOUT, "the site did not answer", log)
    cookie = login(port)
    milvus_data = str(serve_all["var"] / "milvus.db")
    wait_until_logged(lambda: pids_matching(root, f"--data-dir {milvus_data}"), START_TIMEOUT, "no Milvus server", log)
    hung = pids_matching(root, f"--data-dir {milvus_data}")
    serve_all["seen"].update(filter(None, map(identity, descendants(root))))
    stopped_at = time.monotonic()
    for pid in hung:
        os.kill(pid, signal.SIGSTOP)
    try:
        seconds = []
        while time.monotonic() - stopped_at < 8:
            started = time.monotonic()
            assert get(port, "/", cookie) == 200
            seconds.append(time.monotonic() - started)
        assert max(seconds) < answer_limit(2.0), [round(s, 2) for s in seconds]
        wait_until_logged(lambda: "milvus" in log.read_text() and "is alive but not answering" in log.read_text(),
                   90 - (time.monotonic() - stopped_at), "the hung Milvus server was not replaced", log)  # fmt: skip
        wait_until_logged(lambda: set(pids_matching(root, f"--data-dir {milvus_data}")) - set(hung), 60,
                   "no new Milvus server", log)  # fmt: skip
    finally:
        for pid in hung:  # killed by serve_all by now; SIGCONT only if it is still the very same process
            if identity(pid) is not None and pid in descendants(root):
                os.kill(pid, signal.SIGCONT)
    serve_all["seen"].update(filter(None, map(identity, descendants(root))))
    assert "CheckHealth on 127.0.0.1" in log.read_text()
    assert get(port, "/", cookie) == 200
