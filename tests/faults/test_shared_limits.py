"""The limits hold across gunicorn workers (#24): real gunicorn with 2 sync workers on loopback, a temporary SQLite
database, and the limits' store of each deployment: files under var/limits (the embedded default:
core.cache.SharedFileCache), or a real redis-server (REDIS_URL, as in production).

Counted per worker (local memory), 20 wrong passwords were checked against a limit of 10 and 103 of 150 anonymous
requests passed a 60/minute limit. Here: 10 wrong passwords are checked and every later attempt, the right password
included, is refused (API 429, the site's form error); of 150 anonymous API requests exactly 60 pass, the rest are
429 with Retry-After; the access log shows both workers answered. Each test is its own client address (127.0.0.x:
loopback takes them all), so their budgets do not mix.
"""

import contextlib
import http.client
import json
import re
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest

from tests.support import running, wait_until

from . import stack
from .processes import BIN, ROOT, Service

pytestmark = pytest.mark.slow(reason="real gunicorn with 2 workers (and a redis-server) on loopback")
WORKERS = 2
PASSWORD = "a-long-enough-password-42"
ACCESS = re.compile(r"^access <(\d+)> (\w+) (\S+) (\d+)$", re.M)


class Gunicorn(stack.Web):
    """gunicorn as serve_all runs it, with WORKERS sync workers (one request at a time each) and an access log
    naming the worker (pid) of each answer."""

    name = f"gunicorn ({WORKERS} workers)"

    def argv(self) -> list[str]:
        return [str(BIN / "gunicorn"), "recsite.wsgi:application", "--config", "python:recsite.gunicorn_conf",
                "--bind", f"127.0.0.1:{self.port}", "--workers", str(WORKERS), "--threads", "1", "--timeout", "120",
                "--access-logfile", "-", "--access-logformat", "access %(p)s %(m)s %(U)s %(s)s"]  # fmt: skip

    def start(self, timeout: float = 180.0) -> None:
        Service.start(self, timeout)  # readiness on /healthz: /api/schema/ would spend the anonymous budget
        wait_until(lambda: stack.get(self.port, "/healthz").status == 200, timeout, "the web server's first answer")

    def workers_answering(self, path: str) -> Counter:
        return Counter(pid for pid, _, url, _ in ACCESS.findall(self.tail(10_000_000)) if url == path)


def manage(env: dict, *args: str) -> None:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module", params=["files", "redis"])
def site(request, tmp_path_factory):
    """The site on gunicorn, its limits in files (the embedded default) or in a redis-server started here
    (REDIS_URL, as in production)."""
    folder = tmp_path_factory.mktemp(f"shared-limits-{request.param}")
    with contextlib.ExitStack() as stop:
        redis = stop.enter_context(stack.redis_running(folder / "redis.log")) if request.param == "redis" else None
        env = stack.web_environment(var_dir=folder, database=f"sqlite:///{folder / 'site.sqlite3'}",
                                    milvus=str(folder / "milvus.db"), redis=redis.url if redis else "")  # fmt: skip
        env["API_THROTTLE_ANON"] = "60/minute"  # the shipped default (the fault stack raises it)
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "shell", "-c", f"from django.contrib.auth import get_user_model as u; "
                                   f"u().objects.create_user('alice', password='{PASSWORD}')")  # fmt: skip
        server = stop.enter_context(running(Gunicorn(folder / "web.log", env)))
        if redis is None:
            assert (folder / "limits").is_dir()
        yield server
        if redis is not None:
            assert redis.keys() > 0  # the counts were in Redis


def call(port: int, method: str, path: str, *, source: str, body: str = "", headers: dict | None = None):
    """(status, headers, body) of one request sent from the loopback address ``source`` (the client's address)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def token_attempt(port: int, password: str, source: str):
    body = json.dumps({"username": "alice", "password": password})
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    return call(port, "POST", "/api/auth/token/", source=source, body=body, headers=headers)


def form_attempt(port: int, password: str, source: str) -> str:
    """The site's log-in form (CSRF included): the page it answers with."""
    status, headers, page = call(port, "GET", "/accounts/login/", source=source)
    assert status == 200
    csrf = headers["Set-Cookie"].split("csrftoken=")[1].split(";")[0]
    form_token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    status, _, page = call(port, "POST", "/accounts/login/", source=source,
                           body=f"username=alice&password={quote(password)}&csrfmiddlewaretoken={form_token}",
                           headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf}",
                                    "Referer": f"http://127.0.0.1:{port}/accounts/login/"})  # fmt: skip
    assert status == 200, status  # a refused log-in shows the form again
    return page


def test_twenty_wrong_passwords_are_refused_after_ten_whichever_worker_answers(site):
    source = "127.0.0.2"
    with ThreadPoolExecutor(WORKERS) as pool:  # two at a time: a sync worker is busy hashing, the other answers
        answers = list(pool.map(lambda i: token_attempt(site.port, f"wrong-{i}", source), range(20)))
    codes = [status for status, _, _ in answers]
    assert codes.count(400) == 10 and codes.count(429) == 10, codes  # per worker: 20 x 400
    assert len(site.workers_answering("/api/auth/token/")) == WORKERS, site.tail()

    status, headers, body = token_attempt(site.port, PASSWORD, source)  # the right password: refused as well
    assert status == 429 and "Too many failed log-in attempts" in body
    assert 240 <= int(headers["Retry-After"]) <= 301
    assert "Too many failed log-in attempts: try again in 5 minutes." in form_attempt(site.port, PASSWORD, source)
    assert "Too many failed log-in attempts" in form_attempt(site.port, PASSWORD, "127.0.0.4")  # per account


def test_150_anonymous_requests_let_only_the_limit_through_whichever_worker_answers(site):
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: call(site.port, "GET", "/api/movies/", source="127.0.0.3"), range(150)))
    codes = Counter(status for status, _, _ in answers)
    assert codes == {200: 60, 429: 90}, codes  # per worker: up to 2 x 60
    assert all(0 < int(headers["Retry-After"]) <= 60 for status, headers, _ in answers if status == 429)
    assert len(site.workers_answering("/api/movies/")) == WORKERS, site.tail()
    assert call(site.port, "GET", "/api/movies/", source="127.0.0.5")[0] == 200  # another client: its own budget
