"""Time import_movielens on synthetic full-size ML-1M: SQLite and PostgreSQL, fresh import and no-change re-run.

    python benchmarks/bench_import.py [--runs 3] [--ratings 1000209] [--no-postgres] [--no-report]

Each fresh run gets an empty database (a new SQLite file; PostgreSQL database ``recsite_bench``,
created and dropped with psycopg), ``migrate`` untimed, then the timed ``manage.py import_movielens``
in its own process. Both the process wall time (Python + Django start-up included) and the
importer's own elapsed time are reported.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from benchmarks.report import write_section  # noqa: E402
from scripts.make_synthetic_movielens import generate  # noqa: E402

PG_SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
PG_DB = "recsite_bench"
OWN_TIME = re.compile(r" in (\d+(?:\.\d+)?) s\.")


def manage(*args: str, database_url: str, var_dir: Path) -> tuple[float, str]:
    """Run manage.py in a fresh process; return (wall seconds, stdout)."""
    env = {**os.environ, "DATABASE_URL": database_url, "RECSITE_VAR_DIR": str(var_dir)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", *args, "--skip-checks"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return wall, done.stdout


def postgres_recreate(drop_only: bool = False) -> str:
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        if not drop_only:
            conn.execute(f"CREATE DATABASE {PG_DB}")
    return f"{PG_SERVER.replace('postgresql://', 'postgres://')}/{PG_DB}"


def bench_backend(name: str, fresh_db, data: Path, work: Path, runs: int) -> dict:
    """``runs`` fresh imports (each on an empty database), then ``runs`` no-change re-runs on the last one."""
    fresh, own, rerun, rerun_own = [], [], [], []
    for run in range(runs):
        url = fresh_db(run)
        manage("migrate", "--noinput", "-v0", database_url=url, var_dir=work)
        wall, out = manage("import_movielens", "--path", str(data), database_url=url, var_dir=work)
        fresh.append(wall)
        own.append(float(OWN_TIME.search(out).group(1)))
        print(f"{name} fresh import {run + 1}: {wall:.1f} s (importer {own[-1]:.1f} s)", flush=True)
    for run in range(runs):
        wall, out = manage("import_movielens", "--path", str(data), database_url=url, var_dir=work)
        assert "ratings: 0 created, 0 updated" in out, out
        rerun.append(wall)
        rerun_own.append(float(OWN_TIME.search(out).group(1)))
        print(f"{name} no-change re-run {run + 1}: {wall:.1f} s (importer {rerun_own[-1]:.1f} s)", flush=True)
    return {"fresh": fresh, "own": own, "rerun": rerun, "rerun_own": rerun_own, "summary": out.strip()}


def table(results: dict[str, dict]) -> str:
    def cell(values: list[float]) -> str:
        return f"**{statistics.median(values):.1f} s** ({', '.join(f'{v:.1f}' for v in values)})"

    rows = [
        "| database | fresh import, process wall | fresh import, importer's own time | no-change re-run, wall |",
        "|---|---|---|---|",
    ]
    for name, result in results.items():
        rows.append(f"| {name} | {cell(result['fresh'])} | {cell(result['own'])} | {cell(result['rerun'])} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ratings", type=int, default=1_000_209)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        data = generate(work / "ml-1m", ratings=args.ratings)
        print(f"synthetic ML-1M ({args.ratings} ratings) written in {time.perf_counter() - started:.1f} s", flush=True)
        sqlite_fresh = lambda run: f"sqlite:///{work}/bench{run}.sqlite3"  # noqa: E731  a new file per run
        results = {"SQLite": bench_backend("SQLite", sqlite_fresh, data, work, args.runs)}
        if not args.no_postgres:
            try:
                pg_fresh = lambda _: postgres_recreate()  # noqa: E731
                results["PostgreSQL"] = bench_backend("PostgreSQL", pg_fresh, data, work, args.runs)
            finally:
                postgres_recreate(drop_only=True)
    body = (
        f"Synthetic MovieLens 1M layout from `scripts/make_synthetic_movielens.py` (6,040 users, 3,883 movies, "
        f"{args.ratings:,} ratings, Latin-1 `::` files). Median of {args.runs} runs (each run in brackets); "
        "every fresh import starts from an empty, migrated database; the re-run imports the same files again "
        "(nothing changes). Goal: full ML-1M in ≤ 60 s on both databases. "
        f"1-minute load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after (2 cores shared).\n\n"
        f"{table(results)}\n\nLast importer summary:\n\n```\n{results[next(reversed(results))]['summary']}\n```"
    )
    print(body)
    if not args.no_report:
        path = write_section("import", "MovieLens 1M import", "python benchmarks/bench_import.py", body)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
