"""Fault test: 60 simultaneous rating PUTs over HTTP against a real server process never answer 5xx.

The server is ``manage.py runserver`` (threaded, as ``serve_all`` runs it) on loopback with the default
settings (``recsite.settings.local``), opening this run's test database: a SQLite file on the embedded default,
test_<name> on PostgreSQL (CI's second run). Half the requests are 30 users rating one movie at the same
instant; the other half is one user PUTting a rating of a movie they had not rated, 30 times at once.
"""

import http.client
import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Count, Sum
from rest_framework.authtoken.models import Token

from movies.models import Movie, Rating
from tests.support import child_database_url, free_port, wait_until

pytestmark = pytest.mark.slow(reason="a real runserver process answering 60 simultaneous requests")

ROOT = Path(__file__).resolve().parents[2]
CROWD, REPEATS = 30, 30  # 30 users rate one movie + one user PUTs one rating 30 times = 60 requests at once
SHARED_MOVIE, REPEATED_MOVIE = 1, 2
REQUEST_TIMEOUT = 60.0  # seconds, per request (connect + answer); SQLite writers may queue behind each other
START_TIMEOUT = 90.0
# `manage.py runserver --noreload`, with one change: runserver listens with a backlog of 10 connections, and
# a burst of 60 overflows it; the kernel then answers part of the burst with a reset (SYN cookies) before
# Django sees it. That is the web server's limit, not the database's: this test is about what Django does
# with 60 requests at once, so the listen backlog is raised to let all of them in.
SERVER_SCRIPT = """
import sys
from django.core.management import execute_from_command_line
from django.core.servers.basehttp import WSGIServer
WSGIServer.request_queue_size = 128
execute_from_command_line(["manage.py", "runserver", sys.argv[1], "--noreload"])
"""


def server_database_url() -> str:
    """DATABASE_URL of the database this test process uses; skipped where a server process cannot share it."""
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        if connection.is_in_memory_db():
            pytest.skip("an in-memory SQLite database cannot be shared with a server process")
    elif db["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip(f"no server process set-up for {db['ENGINE']}")
    return child_database_url()


def request(port: int, method: str, path: str, token: str, body: dict | None = None) -> tuple[int, dict | str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
        payload = None
        if body is not None:
            payload, headers["Content-Type"] = json.dumps(body), "application/json"
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text[:300]
    finally:
        conn.close()


@pytest.fixture
def server(transactional_db, tmp_path):
    """A real runserver process (see SERVER_SCRIPT) on a free loopback port; always killed at the end."""
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL", "MILVUS_URI", "PYTHONPATH"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="recsite.settings.local",  # the default set-up, not the test settings
        RECSITE_VAR_DIR=str(tmp_path),
        DATABASE_URL=server_database_url(),
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1",
        PYTHONPATH=str(ROOT),
    )
    log_path = tmp_path / "server.log"
    argv = [sys.executable, "-c", SERVER_SCRIPT, f"127.0.0.1:{port}"]
    with log_path.open("wb") as log:  # the child keeps its own handle
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield {"port": port, "proc": proc, "log": log_path}
    finally:
        proc.kill()
        proc.wait(timeout=30)


def wait_ready(server: dict, token: str) -> None:
    def answers() -> bool:
        assert server["proc"].poll() is None, f"the server exited:\n{server['log'].read_text()[-3000:]}"
        return request(server["port"], "GET", "/api/me/ratings/", token)[0] == 200

    def log_end() -> str:
        return server["log"].read_text()[-3000:]

    wait_until(answers, START_TIMEOUT, "the server's first answer", 0.3, detail=log_end)


def fire_at_once(port: int, calls: list[tuple[str, int, int]]) -> list[tuple[int, dict | str] | BaseException]:
    """PUT /api/me/ratings/<movie>/ {"score"} for every (token, movie, score), all threads released together."""
    results: list = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def one(i: int, token: str, movie_id: int, score: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = request(port, "PUT", f"/api/me/ratings/{movie_id}/", token, {"score": score})
        except BaseException as exc:  # reported by the assertions, never swallowed
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i, *call), daemon=True) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=REQUEST_TIMEOUT + 35)
    assert not any(thread.is_alive() for thread in threads), "a request thread is still running"
    return results


def test_sixty_simultaneous_rating_puts_answer_no_5xx_and_keep_one_row_and_counters(server):
    user_model = get_user_model()
    Movie.objects.create(id=SHARED_MOVIE, title="Shared film", year=1999)
    Movie.objects.create(id=REPEATED_MOVIE, title="Repeated film", year=2000)
    crowd = [user_model.objects.create_user(f"crowd{i}") for i in range(CROWD)]
    repeater = user_model.objects.create_user("repeater")
    tokens = {user.pk: Token.objects.create(user=user).key for user in [*crowd, repeater]}
    # one earlier rating of the shared movie, counted the way the services count it
    Rating.objects.create(user=repeater, movie_id=SHARED_MOVIE, score=3, rated_at=datetime(2001, 1, 1, tzinfo=UTC))
    Movie.objects.filter(pk=SHARED_MOVIE).update(rating_count=1, rating_total=3)
    wait_ready(server, tokens[repeater.pk])

    calls = [(tokens[user.pk], SHARED_MOVIE, 1 + i % 5) for i, user in enumerate(crowd)]
    calls += [(tokens[repeater.pk], REPEATED_MOVIE, 1 + i % 5) for i in range(REPEATS)]
    calls = calls[0::2] + calls[1::2]  # interleave the two kinds of write
    results = fire_at_once(server["port"], calls)

    answered = [result for result in results if isinstance(result, tuple)]
    tally = {
        "2xx": sum(200 <= status < 300 for status, _ in answered),
        "5xx": sum(status >= 500 for status, _ in answered),
        "other": sorted(status for status, _ in answered if not 200 <= status < 300 and status < 500),
        "no answer": [repr(result) for result in results if not isinstance(result, tuple)],
    }
    examples = [body for status, body in answered if status >= 500][:2]
    assert tally["2xx"] == len(calls), f"{len(calls)} simultaneous PUTs: {tally}; 5xx bodies: {examples}"

    # one row per (user, movie); every crowd member created theirs, the repeater created theirs exactly once
    assert not Rating.objects.values("user", "movie").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert Rating.objects.filter(movie_id=SHARED_MOVIE).count() == CROWD + 1
    assert Rating.objects.filter(movie_id=REPEATED_MOVIE).count() == 1
    repeated = [(s, body) for (_, movie, _), (s, body) in zip(calls, results, strict=True) if movie == REPEATED_MOVIE]
    assert sorted(s for s, _ in repeated) == [200] * (REPEATS - 1) + [201]
    for i, user in enumerate(crowd):
        assert Rating.objects.get(user=user, movie_id=SHARED_MOVIE).score == 1 + i % 5

    # last write wins: the stored rating is the answer with the latest rated_at (writes are serialised)
    last = max((body for _, body in repeated), key=lambda body: datetime.fromisoformat(body["rated_at"]))
    stored = Rating.objects.get(user=repeater, movie_id=REPEATED_MOVIE)
    assert (stored.score, stored.rated_at) == (last["score"], datetime.fromisoformat(last["rated_at"])), (
        "the stored rating is not the last one written"
    )
    status, body = request(
        server["port"], "PUT", f"/api/me/ratings/{REPEATED_MOVIE}/", tokens[repeater.pk], {"score": 4}
    )
    assert (status, body["score"]) == (200, 4)
    assert Rating.objects.get(user=repeater, movie_id=REPEATED_MOVIE).score == 4

    # the denormalised counters equal the real aggregates
    for movie in Movie.objects.filter(pk__in=[SHARED_MOVIE, REPEATED_MOVIE]):
        real = Rating.objects.filter(movie=movie).aggregate(n=Count("id"), total=Sum("score"))
        assert (movie.rating_count, movie.rating_total) == (real["n"], real["total"]), movie.title

    log = server["log"].read_text()
    assert "database is locked" not in log and "Traceback" not in log, log[-3000:]
