"""Faults under a live site: Milvus hung and killed, Redis stopped and hung; what each request waits, whether any
answers 5xx, and how long the site takes to serve normally again once the service is back (no restart).

    python -m benchmarks.bench_faults [--seconds 10] [--clients 1 4] [--no-write]

The stack is the one of tests/faults/test_dead_services.py (tests/faults/stack.py), in a temporary folder: a
`milvus-lite server` process, a tiny catalogue and a tiny two-tower model trained through the real pipeline
(tests/tiny.py), gunicorn on recsite.wsgi (base settings, DEBUG off, 1 worker x 4 threads) on the embedded SQLite
database, and, for the Redis scenarios, a redis-server on a free loopback port as REDIS_URL. Settings of the run:
MILVUS_WEB_TIMEOUT=1.5 s (--milvus-web-timeout), breaker 3 failures / 3 s; Redis socket timeouts 0.5 s, skipped
2 s after a failure; the job broker a redis-server of its own (hung once: POST /api/models/train/ by a staff token,
a 503 within BROKER_PUBLISH_TIMEOUT expected, and no version left queued). "worst" is the longest wait of all.

Each scenario sends requests for --seconds while the service is down, from --clients clients at once, each one
request after another: the Milvus scenarios the two requests that search Milvus (logged-in home page,
/api/me/recommendations/ with a token), the Redis ones eight pages and API calls (anonymous and logged in), plus a
log-in through the form; one rating PUT at the end of every fault. "first" is the longest wait among the
requests sent before the first answer of the fault came back, "later" the longest of all the others.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from benchmarks.report import write_section
from tests.faults import stack

SETUP = """
import json
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from movies.models import Rating
from recommender.services.training import model_version_create, model_version_pipeline_run
from tests.tiny import PASSWORD, TINY_TRAIN_CONFIG, gate_passed_or_fail, tiny_catalogue_create
tiny_catalogue_create()
version = model_version_pipeline_run(version=model_version_create(config=TINY_TRAIN_CONFIG))
gate_passed_or_fail(version)  # the pipeline's own gate activates the tiny model: never forced
user = get_user_model().objects.get(username="ml1")
rated = set(Rating.objects.filter(user=user).values_list("movie_id", flat=True))
staff = get_user_model().objects.create_superuser("boss", "boss@example.com", PASSWORD)
print("SETUP", json.dumps({"token": Token.objects.create(user=user).key, "password": PASSWORD,
                           "staff_token": Token.objects.create(user=staff).key,
                           "unrated": [m for m in range(1, 61) if m not in rated]}))
"""


def prepare(var: Path, milvus: stack.MilvusLite, **extra: str) -> tuple[dict, dict]:
    """Migrate and train into the Milvus server; (the web server's environment without Redis, setup output)."""
    env = stack.web_environment(
        var_dir=var, database=f"sqlite:///{var / 'recsite.sqlite3'}", milvus=milvus.uri, **extra
    )
    env["LOG_LEVEL"] = "WARNING"
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=stack.ROOT, env=env, check=True)
    out = subprocess.run([*manage, "shell", "-v0", "-c", SETUP], cwd=stack.ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    return env, json.loads(out.split("SETUP ", 1)[1].splitlines()[0])


def ratings(var: Path) -> set[tuple[int, int, int]]:
    """Every (user, movie, score) in the run's SQLite database."""
    with closing(sqlite3.connect(var / "recsite.sqlite3", timeout=30)) as db:
        return set(db.execute("SELECT user_id, movie_id, score FROM movies_rating"))


def healthy(name: str, calls, seconds: float, clients: int) -> stack.Measured:
    result = stack.Measured(name, notes={"clients": clients})
    result.during = stack.requests_for(seconds, calls, clients=clients)
    return result


def queued_left(var: Path) -> int:
    """Model versions still queued or running in the run's database (a retrain the broker never got must not be)."""
    with closing(sqlite3.connect(var / "recsite.sqlite3", timeout=30)) as db:
        running = ("queued", "training", "evaluating", "indexing")
        return db.execute(
            f"SELECT COUNT(*) FROM recommender_modelversion WHERE status IN ({','.join('?' * len(running))})", running
        ).fetchone()[0]


def run(seconds: float, clients_list: list[int], milvus_web_timeout: float) -> tuple[list[dict], str]:
    """The table's rows, and a line on the ratings (all kept or not)."""
    rows: list[dict] = []
    written: list[stack.Answer] = []
    row_writes: list[list[stack.Answer]] = []  # each row's rating PUTs, to count the ones lost per fault
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        var = Path(tmp)
        milvus = stack.MilvusLite(var / "milvus", var / "milvus.log")
        redis = stack.Redis(var / "redis.log") if stack.redis_server_path() else None
        broker = stack.Redis(var / "broker.log") if stack.redis_server_path() else None
        servers = [milvus, redis, broker]
        try:
            milvus.start()
            extra = {"MILVUS_WEB_TIMEOUT": str(milvus_web_timeout)}
            if broker is not None:  # the job broker on a redis-server of its own (the broker_hang scenario)
                broker.start()
                extra["CELERY_BROKER_URL"] = broker.url
            env, data = prepare(var, milvus, **extra)
            before = ratings(var)
            unrated = list(data["unrated"])
            for with_redis in (False, True):
                if with_redis and redis is None:
                    print("redis-server is not on PATH: no Redis scenarios", file=sys.stderr)
                    break
                if with_redis:
                    redis.start()
                web_env = {**env, "LOG_LEVEL": "WARNING"}
                if with_redis:
                    web_env["REDIS_URL"] = redis.url
                web = stack.Web(var / f"web-{'redis' if with_redis else 'plain'}.log", web_env)
                servers.append(web)
                web.start()
                visitor = stack.Visitor(web.port, "ml1", data["password"], data["token"]).log_in()
                for clients in clients_list:
                    visitor.ratings = [(unrated.pop(0), 4) for _ in range(3)]
                    if with_redis:
                        calls = visitor.every_page()
                        found = [healthy("Redis up (every page)", calls, seconds / 2, clients)]
                        found.append(stack.redis_stop(redis, visitor, seconds, clients))
                        found.append(stack.redis_hang(redis, visitor, seconds, clients))
                    else:
                        calls = visitor.milvus_paths()
                        found = [healthy("Milvus up (pages that search it)", calls, seconds / 2, clients)]
                        found.append(stack.milvus_hang(milvus, visitor, seconds, clients))
                        found.append(stack.milvus_kill(milvus, visitor, seconds, clients))
                        if broker is not None and clients == clients_list[0]:
                            hung = stack.broker_hang(broker, visitor, data["staff_token"], seconds)
                            hung.notes["left queued"] = queued_left(var)
                            found.append(hung)
                    for result in found:
                        row = result.row()
                        if result is found[0]:  # healthy: nothing to wait out, nothing to recover from
                            row["first_s"] = None
                        row["writes"] = [a.status for a in result.writes]
                        row["notes"] = {k: v for k, v in result.notes.items() if k != "clients"}
                        written += result.writes
                        row_writes.append(result.writes)
                        rows.append(row)
                        print(json.dumps(row), flush=True)
                    time.sleep(stack.BREAKER_SECONDS)
                web.kill()
            after = ratings(var)
            user = next(user for user, _, _ in after - before) if after - before else None
            expected = before | {(user, a.json["movie_id"], a.json["score"]) for a in written if a.status == 201}
            for row, writes in zip(rows, row_writes, strict=True):  # answered 201 but not in the database
                row["lost"] = sum(
                    a.status == 201 and (user, a.json["movie_id"], a.json["score"]) not in after for a in writes
                )
            kept = (
                f"Ratings: {len(before)} before the faults, {len(written)} PUT during them "
                f"({sum(a.status == 201 for a in written)} answered 201), {len(after)} after: "
                + ("every one kept." if after == expected and len(after) == len(before) + len(written) else "MISMATCH.")
            )
        finally:
            for server in servers:
                if server is not None:
                    server.kill()
    return rows, kept


def fmt(value, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def table(rows: list[dict]) -> str:
    lines = [
        "| scenario | clients | requests | 5xx | popular fallback | first wait (s) | p50 (s) | max later (s) "
        "| worst (s) | ratings lost | recovered after (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['scenario']} | {r['clients']} | {r['requests']} | {r['5xx']} | {r['fallback']} | "
            f"{fmt(r['first_s'])} | {fmt(r['p50_s'], 3)} | {fmt(r['max_later_s'])} | {fmt(r['worst_s'])} | "
            f"{r.get('lost', '–')} | {fmt(r['recover_s'])} |"
        )
    return "\n".join(lines)


def worst_by_fault(rows: list[dict]) -> dict[str, dict]:
    """Per scenario, over its client counts: the worst request time, the 5xx and the ratings lost."""
    merged: dict[str, dict] = {}
    for r in rows:
        m = merged.setdefault(r["scenario"], {"worst_s": 0.0, "5xx": 0, "lost": 0, "requests": 0})
        m["worst_s"] = max(m["worst_s"], r["worst_s"] or 0.0)
        m["5xx"] += r["5xx"]
        m["lost"] += r.get("lost", 0)
        m["requests"] += r["requests"]
    return merged


def comparison(before: dict, after: list[dict]) -> str:
    """Before (a run of this script on an older commit, saved with --rows-out) beside this run, per fault."""
    old, new = worst_by_fault(before["rows"]), worst_by_fault(after)
    lines = [
        f"Before: commit {before['commit']} (run {before['run']}): this script and tests/faults/{{processes,stack}}.py "
        "copied into a checkout of that commit, the product's defaults of that commit (a request waited out "
        "MILVUS_TIMEOUT, 10 s; the script's MILVUS_TIMEOUT constant set to match), rows saved with --rows-out and "
        "given to this run with --before; after: this run.\n",
        "| fault | worst before (s) | worst after (s) | 5xx before | 5xx after | ratings lost before | "
        "ratings lost after |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, n in new.items():
        o = old.get(name)
        cells = [fmt(o["worst_s"]), fmt(n["worst_s"]), o["5xx"], n["5xx"], o["lost"], n["lost"]] if o else [
            "–", fmt(n["worst_s"]), "–", n["5xx"], "–", n["lost"]]  # fmt: skip
        lines.append(f"| {name} | " + " | ".join(str(c) for c in cells) + " |")
    for label, rows in (("before", before["rows"]), ("after", after)):
        for r in rows:
            if "left queued" in r["notes"]:  # the retrain requests: which answers (0: none in 60 s), what stayed queued
                lines.append(f"\n{r['scenario']}, {label}: answers {r['notes']['answers']} (0: none within 60 s), "
                             f"versions left queued {r['notes']['left queued']}.")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="requests per fault, in seconds")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4], help="clients at once (one run each)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument(
        "--milvus-web-timeout", type=float, default=stack.MILVUS_TIMEOUT,
        help="a request's Milvus deadline (MILVUS_WEB_TIMEOUT); 10 gives the figures before issue #24",
    )  # fmt: skip
    parser.add_argument("--rows-out", type=Path, help="save this run's rows (JSON), for a later run's --before")
    parser.add_argument("--before", type=Path, help="rows saved by --rows-out on an older commit: a before/after table")
    parser.add_argument("--rows-in", type=Path, help="no run: render rows saved by --rows-out (this commit's run)")
    args = parser.parse_args()
    saved = None
    if args.rows_in:
        saved = json.loads(args.rows_in.read_text())
        rows, kept = saved["rows"], saved["kept"]
    else:
        rows, kept = run(args.seconds, args.clients, args.milvus_web_timeout)
    if args.rows_out:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=stack.ROOT, capture_output=True,
                                text=True).stdout.strip()  # fmt: skip
        run_at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        args.rows_out.write_text(json.dumps({"commit": commit, "run": run_at, "rows": rows, "kept": kept}, indent=1))
    text = table(rows)
    if args.before:
        text = comparison(json.loads(args.before.read_text()), rows) + "\n\nEvery run of this commit:\n\n" + text
    print(text)
    print(kept)
    if args.no_write:
        return
    body = (
        f"{text}\n\n"
        f"Settings: MILVUS_WEB_TIMEOUT={args.milvus_web_timeout:g} s, BROKER_PUBLISH_TIMEOUT=2 s, "
        f"MILVUS_BREAKER_FAILURES={stack.BREAKER_FAILURES}, "
        f"MILVUS_BREAKER_SECONDS={stack.BREAKER_SECONDS:g} s; Redis socket timeouts 0.5 s, Redis skipped 2 s after "
        f"a failure. {args.seconds:g} s of requests per fault, each client one request after another; one rating "
        f"PUT at the end of each fault. {kept} *first wait*: the longest wait among the requests sent before "
        "the fault's first answer came back (these may wait out MILVUS_TIMEOUT); *max later*: the longest of all the "
        "others (the breaker is open, or Redis is skipped). *popular fallback*: answers that served popular movies "
        "instead of personal ones. *recovered after*: from SIGCONT / the restarted server listening until the "
        "first personal answer (Milvus) or the first request that wrote the cache again (Redis), same web server.\n"
    )
    path = write_section("faults", "Faults: Milvus and Redis hung or dead under a live site",
                         "python -m benchmarks.bench_faults", body,
                         run=(saved["run"], saved["commit"]) if saved else None)  # fmt: skip
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
