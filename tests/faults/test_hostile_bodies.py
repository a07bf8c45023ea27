"""Hostile bodies over HTTP against a real server process: 400 in the API's JSON format, DEBUG on or off.

The server is gunicorn on recsite.wsgi (what ``serve_all`` runs) with the base settings, on loopback, opening this
run's test database. The bodies are the issue's probes: 6 KB of nested JSON to the anonymous token endpoint (a
RecursionError, 500, before) and 17 MB / 44 MB bodies (Django's HTML 400 debug page before). The client reads
the answer while it is still sending, as browsers and curl do: the server answers as soon as it sees the
Content-Length, without reading a body it will refuse.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import child_database_url, free_port, listening, send, wait_until

pytestmark = pytest.mark.slow(reason="real gunicorn, with 17 MB and 44 MB bodies over loopback")

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
DOCUMENTED = {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "MILVUS_URI", "DEBUG", "RECSITE_VAR_DIR"}


def post(port: int, path: str, body: bytes, content_type: str) -> tuple[int, str, bytes]:
    """POST body, reading the answer while a thread still sends (a refused body is answered before it is read)."""
    return send("127.0.0.1", port, "POST", path, body, content_type)


@pytest.fixture(params=["true", "false"], ids=["DEBUG on", "DEBUG off"])
def server(request, transactional_db, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in DOCUMENTED and not k.startswith("RECSITE_")}
    env.update(
        DJANGO_SETTINGS_MODULE="recsite.settings.local",
        RECSITE_ENV_FILE=os.devnull,
        RECSITE_VAR_DIR=str(tmp_path),
        DATABASE_URL=child_database_url(),
        DEBUG=request.param,
        ALLOWED_HOSTS="127.0.0.1",
    )
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    argv = [gunicorn, "recsite.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"]
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:

        def up() -> bool:
            assert proc.poll() is None, f"the server exited:\n{log_path.read_text()[-3000:]}"
            return listening(port)

        wait_until(up, START_TIMEOUT, "the server to listen", interval=0.2)
        yield {"port": port, "log": log_path}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


PROBES = [
    ("6 KB of nested JSON", b"[" * 3072 + b"]" * 3072, "application/json", "nest deeper than 32"),
    ("200 KB unclosed JSON", b"{" * 200_000, "application/json", "JSON parse error"),
    ("17 MB of JSON", json.dumps({"username": "a" * 17_000_000}).encode(), "application/json", "too large"),
    ("44 MB form", b"username=a&password=" + b"x" * 44_000_000, "application/x-www-form-urlencoded", "too large"),
    ("wrong password", b'{"username": "nobody", "password": "x"}', "application/json", "Unable to log in"),
]


def test_hostile_bodies_are_json_400s(server):
    for name, body, content_type, says in PROBES:
        code, answer_type, answer = post(server["port"], "/api/auth/token/", body, content_type)
        assert (code, answer_type) == (400, "application/json"), f"{name}: {code} {answer[:300]!r}"
        message = json.loads(answer)
        assert set(message) == {"message", "extra"} and says in message["message"], f"{name}: {message}"
    log = server["log"].read_text()
    assert "Traceback" not in log and "RecursionError" not in log, log[-3000:]
