"""Throughput and latency under load: wrk against the site as serve_all runs it (gunicorn 2 × 4 threads, DEBUG off,
Milvus Lite server), ML-1M-size synthetic data, an untrained default-architecture model (speed does not depend on
the weights). Loopback only, bounded: each run lasts --seconds.

    python -m benchmarks.bench_load [--seconds 20] [--connections 4] [--repeat 3] [--no-write]

Needs wrk (Debian package `wrk`). Server and client share the 2 cores. Writes the "load" section of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.report import write_section

ROOT = Path(__file__).resolve().parent.parent
CACHE_OFF = ", cache off"  # RECS_CACHE_SECONDS=0: every request reads the history and searches Milvus
IMPRESSIONS_OFF = ", impressions off"  # IMPRESSIONS_WRITE=off: what recording the lists shown costs (issue #25)
SERVERS = {"": {}, CACHE_OFF: {"RECS_CACHE_SECONDS": "0"}, IMPRESSIONS_OFF: {"IMPRESSIONS_WRITE": "off"}}
# Servers compared with each other run side by side, and the runs of each request alternate between them (on, off,
# on, off, ...), so that a drift in the machine's load falls on both alike.
GROUPS = [("", IMPRESSIONS_OFF), (CACHE_OFF,)]
SETUP = """
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.db.models import Count
from rest_framework.authtoken.models import Token
from benchmarks.bench_serving import setup_model  # settings are already set up from this process's environment
setup_model()
users = list(get_user_model().objects.annotate(n=Count("ratings")).order_by("n").values_list("pk", "n"))
typical = min(users, key=lambda u: abs(u[1] - 100))
heaviest = users[-1]
for label, (pk, n) in (("typical", typical), ("heavy", heaviest)):
    session = SessionStore()
    session["_auth_user_id"], session["_auth_user_backend"] = str(pk), "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = get_user_model().objects.get(pk=pk).get_session_auth_hash()
    session.save()
    print(f"USER {label} {n} {Token.objects.get_or_create(user_id=pk)[0].key} {session.session_key}")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port: int, timeout: float, proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited with code {proc.returncode}")
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    sys.exit(f"{what} did not listen on {port} within {timeout:.0f} s")


def wrk(url: str, headers: list[str], seconds: int, connections: int) -> dict:
    argv = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency", "--timeout", "10s"]
    for header in headers:
        argv += ["-H", header]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True, timeout=seconds + 30).stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": ms("50%"), "p99": ms("99%"),
            "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "non2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": sum(map(int, sockets.groups())) if sockets else 0}  # fmt: skip


def row(name: str, tries: list[dict]) -> str:
    r = {key: statistics.median(t[key] for t in tries) for key in ("rps", "p50", "p99")}
    p99s = sorted(t["p99"] for t in tries)
    return (f"| {name} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} | {' / '.join(f'{x:.0f}' for x in p99s)} "
            f"| {sum(t['requests'] for t in tries)} | {sum(t['non2xx'] for t in tries)} | "
            f"{sum(t['socket_errors'] for t in tries)} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3, help="runs per row; the table gives their medians")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--impressions", action="store_true",
                        help="only the signed-in rows, impressions on and off: its own docs section")  # fmt: skip
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    work = Path(tempfile.mkdtemp(prefix="recsite-bench-load-"))
    milvus_port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    env.update(RECSITE_VAR_DIR=str(work), DEBUG="false", LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT),
               API_THROTTLE_USER="1000000/minute",  # measure the server, not the per-user throttle
               DJANGO_SETTINGS_MODULE="recsite.settings.local",
               MILVUS_URI=f"http://127.0.0.1:{milvus_port}")  # fmt: skip
    bin_dir = Path(sys.executable).parent
    lite_env = {k: v for k, v in env.items() if k != "MILVUS_URI"}
    milvus = subprocess.Popen([str(bin_dir / "milvus-lite"), "server", "--data-dir", str(work / "milvus.db"),
                               "--host", "127.0.0.1", "--port", str(milvus_port)], env=lite_env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    webs: list[subprocess.Popen] = []
    try:
        wait_listening(milvus_port, 60, milvus, "milvus-lite server")
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", "import django; django.setup(); exec(open(0).read())"],
                              input=SETUP, env=env, cwd=ROOT, capture_output=True, text=True, check=True)  # fmt: skip
        users = {line.split()[1]: line.split()[2:] for line in done.stdout.splitlines() if line.startswith("USER ")}
        print(f"set-up (generate, import, build, index, sessions) {time.perf_counter() - started:.0f} s", flush=True)
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], env=env, cwd=ROOT, check=True
        )
        kinds = [] if args.impressions else [("anonymous home page", "/", [], False)]
        for label, (count, token, session) in users.items():
            kinds += [(f"GET /api/me/recommendations/?k=10 ({label} user, {count} ratings)",
                       "/api/me/recommendations/?k=10", [f"Authorization: Token {token}"], True),
                      (f"logged-in home page ({label} user, {count} ratings)", "/",
                       [f"Cookie: sessionid={session}"], True)]  # fmt: skip
        rows = []
        # the servers of a group run side by side; their runs of each request alternate
        for group in GROUPS[:1] if args.impressions else GROUPS:
            ports = {note: free_port() for note in group}
            for note in group:
                webs.append(subprocess.Popen(
                    [str(bin_dir / "gunicorn"), "recsite.wsgi:application", "--bind", f"127.0.0.1:{ports[note]}",
                     "--config", "python:recsite.gunicorn_conf", "--workers", "2", "--threads", "4",
                     "--log-level", "warning"], env=env | SERVERS[note], cwd=ROOT, start_new_session=True))  # fmt: skip
                wait_listening(ports[note], 120, webs[-1], "gunicorn")
            time.sleep(5)  # both workers of each server load the model (post_worker_init)
            for name, path, headers, signed_in in kinds:
                notes = group if signed_in else group[:1]  # the anonymous page: no impressions, no per-user cache
                for note in notes:
                    wrk(f"http://127.0.0.1:{ports[note]}{path}", headers, 3, args.connections)  # warm
                tries = {note: [] for note in notes}
                for _ in range(args.repeat):
                    for note in notes:
                        tries[note].append(wrk(f"http://127.0.0.1:{ports[note]}{path}", headers, args.seconds,
                                               args.connections))  # fmt: skip
                for note in notes:
                    rows.append(row(name + note, tries[note]))
                    print(rows[-1], flush=True)
            while webs:
                web = webs.pop()
                os.killpg(web.pid, signal.SIGTERM)
                web.wait(timeout=30)
        load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    finally:
        for proc in (*webs, milvus):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    body = (
        f"wrk, {args.connections} connections, 2 threads, {args.repeat} runs of {args.seconds} s per row after a 3 s "
        "warm-up, on loopback; req/s, p50 and p99 are the medians of the runs, and every run's p99 is listed; "
        "server: gunicorn 2 workers × 4 threads (as serve_all runs it), DEBUG off, SQLite, Milvus Lite server, "
        'local-memory cache; ML-1M-size synthetic data, untrained default model. Rows marked "cache off" ran '
        "on a second server with RECS_CACHE_SECONDS=0: every request reads the user's history and hidden movies, "
        "runs the user tower and searches Milvus, as the first request after a rating does; the other rows reuse "
        "the user's cached vector and candidates (recommender/services/user_state.py), as every repeat visit "
        'does. Rows marked "impressions off" ran on a third server with IMPRESSIONS_WRITE=off (no list shown is '
        "recorded), side by side with the first, their runs alternating (on, off, on, ...): beside the rows without "
        "a mark, what recording them costs. *socket errors*: wrk's connect, "
        "read (a reset), write and timeout errors over the keep-alive connections. Server and client share the 2 "
        f"cores; load average at the end {load}.\n\n"
        "| request | req/s | p50 ms | p99 ms | p99 of each run | requests | non-2xx | socket errors |\n"
        "|---|---|---|---|---|---|---|---|\n" + "\n".join(rows)
    )
    print(body)
    if not args.no_write:
        if args.impressions:
            command = f"python -m benchmarks.bench_load --impressions --repeat {args.repeat} --seconds {args.seconds}"
            write_section("load-impressions", "Recording impressions under load (wrk): on vs off", command, body)
        else:
            write_section("load", "Throughput under load (wrk)", "python -m benchmarks.bench_load", body)


if __name__ == "__main__":
    main()
