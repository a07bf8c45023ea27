"""First-run timeline of the main job, as `make run` does it on a fresh machine (dependencies installed):
start -> the site answers -> the model is live (or the pipeline ends), then a second start on the same folder.

    python -m benchmarks.bench_first_run [--data ../shared/datasets/ml-100k] [--synthetic-1m] [--no-write]

Each run uses a fresh folder (SQLite, Milvus Lite, the broker-less Celery transport, nothing from the environment):
`migrate` -> `setup_demo --path DATA` (import, training queued) -> `serve_all` (gunicorn, the two workers, the
Milvus Lite server). The site is polled every 0.5 s (GET /accounts/login/); the model version row is read from the
database until its pipeline ends. The pipeline's own stage times come from that row (training curve, progress).
`--synthetic-1m` writes ML-1M-sized files with scripts/make_synthetic_movielens.py (random tastes: the gate keeps
MostPop's place there, so "live" is "pipeline finished"). Writes the "first-run" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

from benchmarks.report import write_section
from scripts.make_synthetic_movielens import generate

ROOT = Path(__file__).resolve().parent.parent
DONE = {"active", "inactive", "failed"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def latest_version(db: Path) -> dict | None:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            conn.row_factory = sqlite3.Row
            row = conn.execute(
                "SELECT number, status, curve, metrics, gate_passed, started_at, finished_at, created_at "
                "FROM recommender_modelversion ORDER BY number DESC LIMIT 1"
            ).fetchone()
    except sqlite3.Error:
        return None
    return dict(row) if row else None


def _seconds(a: str | None, b: str | None) -> float | None:
    if not a or not b:
        return None
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


def one_start(data: Path, work: Path, log: Path, *, wait_for_model: bool, limit_s: float) -> dict:
    """migrate + setup_demo + serve_all in ``work``; times from the start of migrate."""
    env = {k: v for k, v in os.environ.items() if k not in {"MILVUS_URI", "CELERY_BROKER_URL", "REDIS_URL"}}
    env.update(DATABASE_URL=f"sqlite:///{work}/db.sqlite3", RECSITE_VAR_DIR=str(work / "var"), PYTHONUNBUFFERED="1")
    port = free_port()
    py = [sys.executable, "manage.py"]
    out = {}
    started = time.monotonic()
    with log.open("a") as fh:
        subprocess.run([*py, "migrate", "-v0"], cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, check=True)
        subprocess.run([*py, "setup_demo", "--path", str(data), "--url", f"http://127.0.0.1:{port}"], cwd=ROOT,
                       env=env, stdout=fh, stderr=subprocess.STDOUT, check=True)  # fmt: skip
        out["setup_s"] = time.monotonic() - started
        serve = subprocess.Popen([*py, "serve_all", "--addr", f"127.0.0.1:{port}", "--milvus-port", str(free_port())],
                                 cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            while not answers(f"http://127.0.0.1:{port}/accounts/login/"):
                if serve.poll() is not None or time.monotonic() - started > limit_s:
                    raise SystemExit(f"the site never answered; see {log}")
                time.sleep(0.5)
            out["site_s"] = time.monotonic() - started
            while wait_for_model:
                version = latest_version(work / "db.sqlite3")
                if version and version["status"] in DONE:
                    out["model_s"] = time.monotonic() - started
                    out["version"] = version
                    break
                if serve.poll() is not None or time.monotonic() - started > limit_s:
                    raise SystemExit(f"the pipeline did not end within {limit_s:.0f} s; see {log}")
                time.sleep(1.0)
        finally:
            serve.send_signal(signal.SIGTERM)
            try:
                serve.wait(60)
            except subprocess.TimeoutExpired:
                serve.kill()
    return out


def describe(version: dict) -> dict:
    curve = json.loads(version["curve"] or "[]")
    metrics = json.loads(version["metrics"] or "{}")
    return {
        "status": version["status"],
        "rounds": len(curve),
        "epochs": curve[-1]["epoch"] if curve else 0,
        "best_epoch": metrics.get("best_epoch"),
        "training_s": sum(row.get("seconds", 0) for row in curve),
        "pipeline_s": _seconds(version["started_at"], version["finished_at"]),
        "queued_s": _seconds(version["created_at"], version["started_at"]),
        "ndcg": (metrics.get("model") or {}).get("ndcg@10"),
        "stages": metrics.get("stage_seconds", {}),
        "ranker": metrics.get("ranker"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "ml-100k")
    parser.add_argument("--synthetic-1m", action="store_true", help="also time ML-1M-sized synthetic data")
    parser.add_argument("--limit", type=float, default=3600, help="give up after this many seconds per start")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rows, stage_rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        sources = [("real ML-100K", args.data.resolve())]
        if args.synthetic_1m:
            sources.append(("synthetic ML-1M size (6,040 × 3,883 × 1,000,209)", generate(Path(tmp) / "ml-1m")))
        for label, data in sources:
            work = Path(tmp) / label.split()[1]
            work.mkdir()
            log = work / "run.log"
            first = one_start(data, work, log, wait_for_model=True, limit_s=args.limit)
            load = os.getloadavg()
            again = one_start(data, work, log, wait_for_model=False, limit_s=args.limit)
            info = describe(first["version"])
            print(label, json.dumps({"first": {k: v for k, v in first.items() if k != "version"}, "again": again,
                                     **info}, default=str), flush=True)  # fmt: skip
            rows.append(
                f"| {label} | {first['setup_s']:.0f} | **{first['site_s']:.0f}** | **{first['model_s']:.0f}** "
                f"({info['status']}) | {info['pipeline_s']:.0f} | {info['training_s']:.0f} | {info['rounds']} rounds, "
                f"{info['epochs']} epochs (best {info['best_epoch']}) | {again['site_s']:.0f} | "
                f"{load[0]:.1f} / {load[1]:.1f} |"
            )
            stages = " + ".join(f"{name} {sec:.0f}" for name, sec in info["stages"].items())
            ranker = info["ranker"] or {}
            verdict = ("served" if ranker.get("keep") else "not served") if ranker else "not fitted"
            stage_rows.append(
                f"| {label} | {stages} | {verdict}: NDCG@10 {ranker.get('ranked_ndcg10', 0):.4f} vs the tower's order "
                f"{ranker.get('tower_ndcg10', 0):.4f} on {ranker.get('users', 0):,} users |"
            )
    body = (
        "Seconds from the start of `migrate` on an empty folder (dependencies installed, embedded default: SQLite, "
        "Milvus Lite, broker-less Celery). *Site answers*: GET /accounts/login/ is 200 (popular movies and the "
        "training notice from then on). *Model done*: the version's pipeline ended (active = live without a "
        "restart; inactive = the gate kept the popularity fallback, as on the synthetic data). *Pipeline* is "
        "the worker's train → evaluate (+ baselines) → ranker → refit → index → activate, *training* the holdout "
        "rounds alone. *Second start*: setup_demo + serve_all again on the same folder.\n\n"
        "| data | import + setup s | site answers s | model done s | pipeline s | training s | rounds | "
        "second start: site s | load avg (1 / 5 min) |\n|---|---|---|---|---|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n\nWhere the pipeline's seconds go (the version's metrics[\"stage_seconds\"]; *training* includes the "
        "export of the ratings, *evaluating* the four baselines, *refitting* the co-rating table; an inactive version "
        "is not indexed) and what the second stage did:\n\n| data | stages, s | ranker |\n|---|---|---|\n"
        + "\n".join(stage_rows)
    )
    print(body)
    if not args.no_write:
        write_section("first-run", "First run: start → site answers → model live", "python -m "
                      "benchmarks.bench_first_run --synthetic-1m", body)  # fmt: skip


if __name__ == "__main__":
    main()
