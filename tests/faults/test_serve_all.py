"""Fault test: `serve_all` (the main command's server) supervises its children on loopback.

A real serve_all on its own embedded set-up (SQLite file, Milvus Lite server, SQL broker, gunicorn) in a
temporary folder: the Milvus server is SIGKILLed and the training worker's main process too; the site keeps
answering (no 5xx, no refused connection), both come back without a restart of serve_all, and SIGTERM stops
everything with exit status 0.
"""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pids_matching(pattern: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", "--", pattern], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split() if int(p) != os.getpid()]


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


def wait_until(check, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{what} within {timeout:.0f} s; serve_all said:\n{log.read_text()[-4000:]}")


@pytest.fixture
def serve_all(tmp_path):
    var = tmp_path / "var"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "MILVUS_URI", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(RECSITE_VAR_DIR=str(var), PYTHONPATH=str(ROOT))  # fmt: skip
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "shell", "-c", SEED_DATA], cwd=ROOT, env=env, check=True)
    web, milvus = free_port(), free_port()
    log = tmp_path / "serve_all.log"
    argv = [*manage, "serve_all", "--addr", f"127.0.0.1:{web}", "--milvus-port", str(milvus)]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield {"proc": proc, "web": web, "milvus": milvus, "var": var, "log": log}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        for pid in pids_matching(str(var)):  # nothing of this run may outlive it
            os.kill(pid, signal.SIGKILL)


def test_killed_milvus_and_worker_are_restarted_while_the_site_keeps_answering(serve_all):
    port, log = serve_all["web"], serve_all["log"]
    wait_until(lambda: get(port, "/") == 200, START_TIMEOUT, "the site did not answer", log)
    cookie = login(port)
    pages = ["/", "/movies/", "/movies/3/", "/api/schema/"]
    statuses = [get(port, path, cookie) for path in pages]
    assert statuses == [200] * len(pages), statuses

    milvus_data = str(serve_all["var"] / "milvus.db")
    milvus_pids = pids_matching(f"--data-dir {milvus_data}")
    worker_pids = pids_matching("-n training@")
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

    wait_until(milvus_back, RESTART_TIMEOUT, "Milvus was not restarted", log)
    wait_until(lambda: set(pids_matching("-n training@")) - set(worker_pids), RESTART_TIMEOUT,
               "the training worker was not restarted", log)  # fmt: skip
    after = [get(port, path, cookie) for path in pages]
    assert after == [200] * len(pages), after
    text = log.read_text()
    assert "milvus exited" in text and "worker-training exited" in text and "restarting" in text

    os.killpg(serve_all["proc"].pid, signal.SIGTERM)
    assert serve_all["proc"].wait(timeout=30) == 0
    assert "[serve_all] stopped" in log.read_text()
    time.sleep(1)
    assert pids_matching(str(serve_all["var"])) == []
