"""Small helpers shared by the tests that run child processes on loopback (and by .ci/api_fuzz_bodies.py).

Standard library only at import time: .ci/api_fuzz_bodies.py imports `send` from here outside of pytest and Django.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import quote


def free_port() -> int:
    """A loopback port nothing listens on (now): for a server to start on, or to be refused by."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until(
    check: Callable[[], object],
    timeout: float,
    what: str,
    interval: float = 0.1,
    ignore: tuple[type[BaseException], ...] = (OSError,),
    detail: Callable[[], object] | None = None,
):
    """check()'s first true value, calling it every `interval` s (an exception in `ignore` counts as false);
    AssertionError after `timeout` s, followed by detail() when given (a log's end, what is left). The one way the
    tests wait for something to happen: never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except ignore:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            more = f"\n{detail()}" if detail is not None else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{more}")
        time.sleep(interval)


@contextmanager
def running(service) -> Iterator:
    """service.start(), then service.kill() at the end whatever happens (for a fixture to yield inside)."""
    service.start()
    try:
        yield service
    finally:
        service.kill()


def database_url(db: dict) -> str:
    """DATABASE_URL for a Django settings_dict (a SQLite file or PostgreSQL), for a child process."""
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def child_database_url() -> str:
    """DATABASE_URL of the database this test process uses (a SQLite file or PostgreSQL test_<name>), for a child."""
    from django.db import connection

    return database_url(connection.settings_dict)


def send(host: str, port: int, method: str, path: str, body: bytes, content_type: str, token: str | None = None):
    """(status, content type, body) of one request; the body is sent from a thread while the answer is read, as
    browsers and curl do: a server may answer (and refuse) a body before it has read it."""
    sock = socket.create_connection((host, port), timeout=60)
    auth = f"Authorization: Token {token}\r\n" if token else ""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        f"Accept: application/json\r\n{auth}Connection: close\r\n\r\n"
    ).encode()

    def push() -> None:
        try:
            sock.sendall(head + body)
        except OSError:  # answered and closed before reading it all: the answer is what counts
            pass

    sender = threading.Thread(target=push, daemon=True)
    sender.start()
    try:
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        sock.close()
        sender.join(timeout=60)
