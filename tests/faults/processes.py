"""The processes of the fault scenarios' live stack on loopback, and plain HTTP to them (tests/faults/stack.py runs
the scenarios): a Milvus Lite server, redis-server and gunicorn on recsite.wsgi with the base settings; and a whole
`serve_all` on its own embedded set-up (serve_all_process) with the processes below it, found through /proc.

Every process is started in its own session (start() again after kill() reuses the port); every wait is bounded.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from recommender.ml.processes import identity
from tests.support import free_port, listening, running, wait_until

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# The web server's Milvus settings in the scenarios: MILVUS_TIMEOUT is the deadline of a request's Milvus call
# (MILVUS_WEB_TIMEOUT's default; the workers' MILVUS_TIMEOUT stays at its default, 10 s); a short breaker, so that
# a run takes seconds.
MILVUS_TIMEOUT, BREAKER_FAILURES, BREAKER_SECONDS = 1.0, 3, 3.0
REQUEST_TIMEOUT = 60.0


def answer_limit(seconds: float) -> float:
    """A wait limit asserted on: `seconds`, plus 2 s while the machine runs more than twice as many busy processes
    as it has cores (shared machines: a request starved of CPU for seconds says nothing about a deadline)."""
    return seconds + (2.0 if os.getloadavg()[0] > 2 * (os.cpu_count() or 1) else 0.0)


class Service:
    """One child process on a fixed loopback port; start() can be called again after kill() (same port)."""

    name = "service"

    def __init__(self, port: int, log: Path) -> None:
        self.port, self.log, self.proc = port, log, None

    def argv(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict | None:
        return None

    def start(self, timeout: float = 60.0) -> None:
        with self.log.open("ab") as out:  # the child keeps its own handle
            self.proc = subprocess.Popen(
                self.argv(), cwd=ROOT, env=self.env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_until(self._up, timeout, f"{self.name} on port {self.port}")

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited ({self.proc.returncode}):\n{self.tail()}")
        return listening(self.port)

    def tail(self, n: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""

    def signal(self, number: int) -> None:
        os.killpg(self.proc.pid, number)

    def kill(self) -> None:
        """SIGKILL the process group (a stopped process dies too); idempotent."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=30)


class MilvusLite(Service):
    name = "milvus-lite server"

    def __init__(self, folder: Path, log: Path) -> None:
        super().__init__(free_port(), log)
        self.folder = folder

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        exe = str(BIN / "milvus-lite")
        return [exe, "server", "--data-dir", str(self.folder), "--host", "127.0.0.1", "--port", str(self.port)]


def redis_server_path() -> str | None:
    return shutil.which("redis-server")


class Redis(Service):
    name = "redis-server"

    def __init__(self, log: Path) -> None:
        super().__init__(free_port(), log)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def argv(self) -> list[str]:
        return [redis_server_path(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                "no"]  # fmt: skip

    def keys(self) -> int:
        """Keys in the database (a fresh connection each time: the server may have been restarted)."""
        import redis

        client = redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)
        try:
            return int(client.dbsize())
        finally:
            client.close()


@contextmanager
def redis_running(log: Path) -> Iterator[Redis]:
    """A redis-server for one test (skipped when there is none), killed at the end whatever happens."""
    import pytest

    if redis_server_path() is None:
        pytest.skip("redis-server is not on PATH (apt-get install redis-server)")
    with running(Redis(log)) as server:
        yield server


class Web(Service):
    """gunicorn on recsite.wsgi with the base settings (as serve_all runs it), one worker with 4 threads."""

    name = "gunicorn"

    def __init__(self, log: Path, environment: dict) -> None:
        super().__init__(free_port(), log)
        self.environment = environment

    def argv(self) -> list[str]:
        return [str(BIN / "gunicorn"), "recsite.wsgi:application", "--config", "python:recsite.gunicorn_conf",
                "--bind", f"127.0.0.1:{self.port}", "--workers", "1", "--threads", "4", "--timeout", "120"]  # fmt: skip

    def env(self) -> dict:
        return self.environment

    def start(self, timeout: float = 120.0) -> None:
        super().start(timeout)
        wait_until(lambda: get(self.port, "/api/schema/").status == 200, timeout, "the web server's first answer")


def web_environment(*, var_dir: Path, database: str, milvus: str, redis: str = "", **extra: str) -> dict:
    """The web server's environment: the base settings with every documented variable set here, none inherited."""
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        DJANGO_SETTINGS_MODULE="recsite.settings.local",
        RECSITE_ENV_FILE=os.devnull,
        RECSITE_VAR_DIR=str(var_dir),
        DATABASE_URL=database,
        MILVUS_URI=milvus,
        MILVUS_WEB_TIMEOUT=str(MILVUS_TIMEOUT),
        MILVUS_BREAKER_FAILURES=str(BREAKER_FAILURES),
        MILVUS_BREAKER_SECONDS=str(BREAKER_SECONDS),
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1",
        API_THROTTLE_USER="100000/minute",
        API_THROTTLE_ANON="100000/minute",
        RECS_CACHE_SECONDS="0",  # every personal answer searches Milvus: the scenarios measure what a fault costs it
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    if redis:
        env["REDIS_URL"] = redis
    return env


# --- HTTP -----------------------------------------------------------------------------------------------------


@dataclass
class Answer:
    path: str
    status: int  # 0: no answer (connection refused or reset, timeout)
    seconds: float
    body: str = ""
    at: float = 0.0  # time.monotonic() when the request was sent
    headers: list = field(default_factory=list)
    personalised: bool = False  # asked for the user's personal suggestions (which search Milvus)

    @property
    def json(self) -> dict:
        return json.loads(self.body)


def request(port: int, method: str, path: str, *, cookie: str = "", token: str = "", body=None, headers=None):
    all_headers = {"Accept": "application/json" if path.startswith("/api/") else "text/html", **(headers or {})}
    if cookie:
        all_headers["Cookie"] = cookie
    if token:
        all_headers["Authorization"] = f"Token {token}"
    if isinstance(body, dict):
        body, all_headers["Content-Type"] = json.dumps(body), "application/json"
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        conn.request(method, path, body=body, headers=all_headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        return Answer(path, response.status, time.monotonic() - started, text, started, response.getheaders())
    except OSError as exc:
        return Answer(path, 0, time.monotonic() - started, repr(exc), started)
    finally:
        conn.close()


def get(port: int, path: str, **kwargs) -> Answer:
    return request(port, "GET", path, **kwargs)


def login(port: int, username: str, password: str) -> str:
    """The session cookie of a user, through the site's log-in form (CSRF included)."""
    page = get(port, "/accounts/login/")
    assert page.status == 200, (page.status, page.body[:300])
    csrf = next(v for k, v in page.headers if k.lower() == "set-cookie" and "csrftoken=" in v)
    csrf = csrf.split("csrftoken=")[1].split(";")[0]
    form_token = page.body.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    answer = request(
        port,
        "POST",
        "/accounts/login/",
        cookie=f"csrftoken={csrf}",
        body=f"username={quote(username)}&password={quote(password)}&csrfmiddlewaretoken={form_token}",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": f"http://127.0.0.1:{port}/accounts/login/",
        },
    )
    cookies = "; ".join(v for k, v in answer.headers if k.lower() == "set-cookie")
    assert answer.status == 302 and "sessionid=" in cookies, (answer.status, cookies, answer.body[:300])
    return f"csrftoken={csrf}; sessionid={cookies.split('sessionid=')[1].split(';')[0]}"


# --- serve_all --------------------------------------------------------------------------------------------------

MANAGE = [sys.executable, "manage.py"]


def _parents() -> dict[int, int]:
    """{pid: parent pid} of every process now (a process that ends while it is read is left out)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])  # the name may hold spaces or ")"
    return parents


def descendants(root: int) -> set[int]:
    """Every living process below ``root`` (children, their children, ...)."""
    children: dict[int, list[int]] = {}
    for pid, parent in _parents().items():
        children.setdefault(parent, []).append(pid)
    found, stack = set(), [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    return found


def wait_until_logged(check, timeout: float, what: str, log: Path) -> None:
    """wait_until every 0.3 s (an OSError counts as false); its AssertionError after `timeout` s ends with the end of
    serve_all's ``log``."""
    wait_until(check, timeout, what, interval=0.3, detail=lambda: f"serve_all said:\n{log.read_text()[-4000:]}")


@dataclass
class ServeAll:
    """A `serve_all` started by serve_all_process."""

    proc: subprocess.Popen
    var: Path  # its RECSITE_VAR_DIR
    log: Path  # its stdout and stderr
    env: dict  # its environment (for `manage.py` commands on the same set-up)
    seen: set[str] = field(default_factory=set)  # "pid:start time" of every process of it seen so far


@contextmanager
def serve_all_process(tmp_path: Path, *argv: str, seed: str = "") -> Iterator[ServeAll]:
    """`manage.py serve_all *argv` on its own embedded set-up in tmp_path/var (migrated; `manage.py shell -c seed`
    run first when given), in its own session, its output in tmp_path/serve_all.log.

    At the end its process group gets SIGTERM (SIGKILL after 30 s) if it still runs, and every process of it in
    ``seen`` that is still the very same process is SIGKILLed: orphans of this serve_all, and only those.
    """
    var = tmp_path / "var"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "MILVUS_URI", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(RECSITE_VAR_DIR=str(var), PYTHONPATH=str(ROOT))  # fmt: skip
    subprocess.run([*MANAGE, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
    if seed:
        subprocess.run([*MANAGE, "shell", "-c", seed], cwd=ROOT, env=env, check=True, timeout=300)
    log = tmp_path / "serve_all.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([*MANAGE, "serve_all", *argv], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
    run = ServeAll(proc, var, log, env)
    try:
        yield run
    finally:
        if proc.poll() is None:
            run.seen.update(filter(None, map(identity, descendants(proc.pid))))
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
        for known in run.seen:
            pid = int(known.split(":")[0])
            if identity(pid) == known:
                os.kill(pid, signal.SIGKILL)
