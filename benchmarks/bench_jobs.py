"""Queue round-trip latency (enqueue a trivial task -> its result seen) per broker, through a real worker.

    python -m benchmarks.bench_jobs [--n 30] [--redis redis://127.0.0.1:6379/13]

Each broker is measured in its own child process (the Celery app binds its broker once): a worker
(`celery -A recsite worker -Q default -c 1`) is started on the broker, warmed up, then `ping` is sent N times
one after another and the time until its result is read is recorded. Results travel through a result backend
on the same kind of store (Redis for Redis; a SQLite file for the SQL broker), read with a 10 ms poll.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setup_env(broker: str, backend: str, var_dir: str, polling: float | None) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "recsite.settings.local",
        "RECSITE_VAR_DIR": var_dir,
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": backend,
        "LOG_LEVEL": "WARNING",
    }
    if polling is not None:
        env["CELERY_BROKER_POLLING_INTERVAL"] = str(polling)
    return env


def measure_one(n: int) -> dict:
    """Child mode: the environment names the broker; the worker is already running."""
    import django

    django.setup()
    from recommender.tasks import ping

    ping.apply_async(args=[0]).get(timeout=120, interval=0.01)  # warm: connections, queue declared
    samples = []
    for i in range(n):
        started = time.perf_counter()
        assert ping.apply_async(args=[i]).get(timeout=60, interval=0.01) == i
        samples.append(time.perf_counter() - started)
    return {"n": n, "median_ms": statistics.median(samples) * 1000, "p90_ms": sorted(samples)[int(0.9 * n)] * 1000}


def run_broker(label: str, broker: str, backend: str, n: int, polling: float | None = None) -> dict:
    var_dir = tempfile.mkdtemp(prefix="bench-jobs-")
    broker, backend = broker.format(var=var_dir), backend.format(var=var_dir)
    env = _setup_env(broker, backend, var_dir, polling)
    argv = [sys.executable, "-m", "celery", "-A", "recsite", "worker", "-Q", "default", "-c", "1"]
    argv += ["-n", f"bench-{os.getpid()}@%h", "--without-gossip", "--without-mingle", "-l", "warning"]
    log = open(Path(var_dir) / "worker.log", "wb")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        child = [sys.executable, "-m", "benchmarks.bench_jobs", "--child", "--n", str(n)]
        out = subprocess.run(child, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise RuntimeError(f"{label}: {out.stderr[-2000:]}")
        result = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
    return {"label": label, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure_one(args.n)))
        return
    sqla, sqla_results = "sqla+sqlite:///{var}/broker.sqlite3", "db+sqlite:///{var}/results.sqlite3"
    rows = [
        run_broker("sqla+sqlite (embedded default, poll 0.2 s)", sqla, sqla_results, args.n, polling=0.2),
        run_broker("sqla+sqlite (kombu default poll 1 s)", sqla, sqla_results, args.n, polling=1.0),
        run_broker("Redis (production)", args.redis, args.redis, args.n),
    ]
    lines = ["| broker | median round trip | p90 | N |", "|---|---|---|---|"]
    lines += [f"| {r['label']} | {r['median_ms']:.0f} ms | {r['p90_ms']:.0f} ms | {r['n']} |" for r in rows]
    body = (
        "Enqueue `recommender.tasks.ping` -> result read by the caller, one at a time, through a real worker "
        "(`-Q default -c 1`). The SQL transport polls its table (CELERY_BROKER_POLLING_INTERVAL); Redis pushes.\n\n"
        + "\n".join(lines)
    )
    print(body)
    from benchmarks.report import write_section

    write_section("jobs", "Job queue round trip", "python -m benchmarks.bench_jobs", body)


if __name__ == "__main__":
    main()
