"""MovieLens-25M-shaped data: generate, import, export and train, with the wall time and peak RSS of each phase.

    python benchmarks/bench_scale.py [--data DIR] [--work DIR] [--phases generate,subset,sqlite,export,train]
        [--postgres URL] [--train-seconds 300] [--steps 300] [--subset-ratings 5000000] [--no-report]

Synthetic files from scripts/make_synthetic_movielens.py --shape 25m (162,541 users, 62,423 movies, 25,000,095
ratings, ML-1M layout), generated once and reused from --data. Every phase runs in its own process; its peak RSS is
that process's ru_maxrss (os.wait4), so phases do not hide each other's memory:

- subset: the first --subset-ratings lines (5M) into a fresh SQLite database: the import at a fifth of the size;
- sqlite: the whole set into a fresh SQLite database (``manage.py migrate`` untimed, then ``import_movielens``);
- postgres-subset, postgres (with --postgres URL, a database this script may drop and create): the subset, the
  whole set into PostgreSQL;
- export: recommender.services.dataset.dataset_export() from the SQLite database, saved as .npz for the next phase;
- train: the temporal split, the trainer's setup (encoder, sequences) and epoch plan with the default config, then
  training steps until --steps or --train-seconds, the epoch's largest batch first (the step needing the most
  memory); the epoch time is projected from the measured time per target;
- pipeline: every stage of the training pipeline in one process at this shape (benchmarks/scale_pipeline.py):
  training steps, the holdout evaluation, the baselines, the second stage, the neighbours and the Milvus index,
  with the time and peak RSS after each;
- catalogue: the whole ``train_model`` pipeline on the same 1M ratings with 3,700 and with 62,000 movies, side by
  side (benchmarks/scale_catalogue.py).

Each phase's figures are kept in --work/results.json: ``--phases train`` re-measures one phase; the report (section
"scale" of docs/benchmarks.md) is written from the latest figures of every phase."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

SHAPE = (162_541, 62_423, 25_000_095)
PHASES = ("generate", "subset", "sqlite", "postgres-subset", "postgres", "export", "train", "catalogue", "pipeline")
DEFAULT_PHASES = "generate,subset,sqlite,export,train"
COMMAND = "python benchmarks/bench_scale.py"


def git_revision() -> str:
    from benchmarks.report import git_revision as revision

    return revision()


def run_measured(cmd: list[str], *, env: dict | None = None, log: Path | None = None) -> dict:
    """Run ``cmd`` to the end; its wall seconds, peak RSS (MiB, the process and the children it waited for) and
    the load average before and after. Its output goes to ``log``."""
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    with open(log or os.devnull, "w") as out:
        process = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    result = {
        "seconds": round(time.perf_counter() - started, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024),  # KiB on Linux
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "load_before": round(load_before, 1),
        "load_after": round(os.getloadavg()[0], 1),
    }
    if process.returncode != 0:
        tail = log.read_text()[-2000:] if log else ""
        raise RuntimeError(f"{' '.join(cmd)} failed ({process.returncode}):\n{tail}")
    return result


def child_json(log: Path) -> dict:
    """The last line of a child's output that is a JSON object (what the export and train children print)."""
    for line in reversed(log.read_text().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {}


# --- phases (run in this process; each measures a child) ---


def phase_generate(args) -> dict:
    marker = args.data / "shape.json"
    if marker.exists() and json.loads(marker.read_text()).get("shape") == list(SHAPE):
        return {**json.loads(marker.read_text()), "reused": True}
    users, movies, ratings = SHAPE
    cmd = [sys.executable, "scripts/make_synthetic_movielens.py", str(args.data), "--shape", "25m"]
    result = run_measured(cmd, log=args.work / "generate.log")
    result.update(shape=list(SHAPE), bytes=(args.data / "ratings.dat").stat().st_size)
    marker.write_text(json.dumps(result))
    return {**result, "reused": False}


def _subset(args) -> Path:
    """--data with ratings.dat cut to its first --subset-ratings lines (users and movies as they are)."""
    folder = args.work / "subset"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("movies.dat", "users.dat"):
        (folder / name).unlink(missing_ok=True)
        (folder / name).symlink_to(args.data / name)
    with open(args.data / "ratings.dat", "rb") as source, open(folder / "ratings.dat", "wb") as out:
        for index, line in enumerate(source):
            if index >= args.subset_ratings:
                break
            out.write(line)
    return folder


def _sqlite_url(args, name: str) -> str:
    path = args.work / f"{name}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def _postgres_url(args) -> str:
    import psycopg

    server, _, name = args.postgres.rpartition("/")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return args.postgres


def _import(args, path: Path, database_url: str, name: str) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url, "RECSITE_VAR_DIR": str(args.work / "var")}
    manage = [sys.executable, "manage.py"]
    run_measured([*manage, "migrate", "--noinput"], env=env, log=args.work / f"{name}-migrate.log")
    log = args.work / f"{name}.log"
    result = run_measured([*manage, "import_movielens", "--path", str(path), "-v", "2"], env=env, log=log)
    text = log.read_text()
    result["importer_log"] = [line for line in text.splitlines() if line.strip()][-12:]
    own = re.search(r" in (\d+(?:\.\d+)?) s\.", text)
    result["importer_seconds"] = float(own.group(1)) if own else None
    ratings = re.search(r"(\d+) ratings", text)
    result["ratings"] = int(ratings.group(1)) if ratings else None
    return result


def phase_subset(args) -> dict:
    return _import(args, _subset(args), _sqlite_url(args, "subset"), "subset")


def phase_sqlite(args) -> dict:
    return _import(args, args.data, _sqlite_url(args, "full"), "sqlite")


def phase_postgres(args) -> dict:
    if not args.postgres:
        raise SystemExit("the postgres phase needs --postgres postgres://user@host:port/database")
    return _import(args, args.data, _postgres_url(args), "postgres")


def phase_postgres_subset(args) -> dict:
    if not args.postgres:
        raise SystemExit("the postgres-subset phase needs --postgres postgres://user@host:port/database")
    return _import(args, _subset(args), _postgres_url(args), "postgres-subset")


def phase_export(args) -> dict:
    database = args.work / "full.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "RECSITE_VAR_DIR": str(args.work / "var")}
    cmd = [sys.executable, "benchmarks/bench_scale.py", "--child", "export", "--work", str(args.work)]
    log = args.work / "export.log"
    return {**run_measured(cmd, env=env, log=log), **child_json(log)}


def phase_catalogue(args) -> dict:
    from benchmarks.scale_catalogue import phase_catalogue as run

    return run(args, run_measured, child_json)


def phase_pipeline(args) -> dict:
    cmd = [sys.executable, "benchmarks/bench_scale.py", "--child", "pipeline", "--work", str(args.work),
           "--train-seconds", str(args.train_seconds)]  # fmt: skip
    log = args.work / "pipeline.log"
    return {**run_measured(cmd, log=log), **child_json(log)}


def phase_train(args) -> dict:
    cmd = [sys.executable, "benchmarks/bench_scale.py", "--child", "train", "--work", str(args.work),
           "--steps", str(args.steps), "--train-seconds", str(args.train_seconds)]  # fmt: skip
    log = args.work / "train.log"
    return {**run_measured(cmd, log=log), **child_json(log)}


# --- children (run in their own process) ---


# --- report ---


def _gib(mib) -> str:
    return f"{mib / 1024:.2f} GiB" if mib is not None else "—"


def _duration(hours: float) -> str:
    return f"{hours:.1f} h" if hours >= 1 else f"{hours * 60:.0f} min"


def report_body(results: dict) -> str:
    users, movies, ratings = SHAPE
    lines = [
        f"Synthetic MovieLens-25M shape in the ML-1M file layout ({users:,} users, {movies:,} movies, {ratings:,} "
        "ratings, Latin-1 `::`), `scripts/make_synthetic_movielens.py --shape 25m`. One run of each phase, each in its "
        "own process (peak RSS = that process's ru_maxrss; `manage.py` alone starts at ~0.48 GiB); the phases may "
        "come from separate invocations (their commits: "
        + ", ".join(f"{key} {r['commit']}" for key, r in results.items() if isinstance(r, dict) and r.get("commit"))
        + "). Load average (1 min) before → after each phase is shown: other engineers' jobs share the 2 cores, so "
        "wall times are pessimistic.",
        "",
        "| phase | wall | CPU | peak RSS | load avg | notes |",
        "|---|---|---|---|---|---|",
    ]

    def row(name: str, key: str, notes: str) -> None:
        r = results.get(key)
        if r is None:
            lines.append(f"| {name} | not run | | | | {notes} |")
            return
        lines.append(
            f"| {name} | {r['seconds']:.0f} s | {r.get('cpu_seconds', 0):.0f} s | {_gib(r['peak_rss_mib'])} | "
            f"{r.get('load_before', '—')} → {r.get('load_after', '—')} | {notes} |"
        )

    gen = results.get("generate", {})
    row("generate", "generate", f"{gen.get('bytes', 0) / 2**20:.0f} MiB ratings.dat" + (", measured when the cached "
        "set was written" if gen.get("reused") else ""))  # fmt: skip
    for key, label in (("subset", "import, SQLite, first lines only"), ("sqlite", "import, SQLite, whole set"),
                       ("postgres-subset", "import, PostgreSQL, first lines only"),
                       ("postgres", "import, PostgreSQL, whole set")):  # fmt: skip
        r = results.get(key, {})
        own = r.get("importer_seconds")
        rate = f"; {r['ratings'] / own:,.0f} ratings/s" if r.get("ratings") and own else ""
        row(label, key, f"{r.get('ratings') or 0:,} ratings, importer's own time {own} s{rate}")
    e = results.get("export", {})
    row("export (dataset_export → arrays)", "export", f"{e.get('ratings', 0):,} ratings in "
        f"{e.get('export_seconds')} s (catalogue + users {e.get('catalogue_users_seconds')} s); rating arrays "
        f"{e.get('array_mib')} MiB")  # fmt: skip
    t = results.get("train", {})
    row("train: split + setup + epoch plan, then steps", "train", f"data built in {t.get('build_seconds')} s, peak "
        f"{_gib(t.get('built_peak_rss_mib'))} after building; {t.get('steps')} steps")  # fmt: skip
    if t:
        movies = results.get("export", {}).get("movies") or SHAPE[1]
        lines += [
            "",
            "Training with the default config at the time of the run ("
            + (
                t.get("loss") or f"sampled softmax, {t['negatives']} uniform + in-batch negatives"
                if t.get("sampled")
                else "full softmax over the catalogue"
            )
            + f", batch_size = {t['batch_size']}, "
            f"max_history = {t['max_history']}): {t['train_ratings']:,} train ratings, {t['windows']:,} history "
            f"windows, {t['epoch_steps']:,} steps and {t['epoch_targets']:,} next-movie targets per epoch. "
            f"Measured {t['steps']} steps: median {t['step_median_s']} s, mean {t['step_mean_s']} s, "
            f"{t['targets_per_step']} targets per step; the first was the epoch's largest batch "
            f"({t.get('largest_step_targets')} targets, {t.get('largest_step_s')} s), so the peak includes the "
            "biggest step. Projected epoch (measured seconds per target × the epoch's "
            f"targets): **{_duration(t['projected_epoch_hours'])}** on this machine. Peak RSS: "
            f"{_gib(t['loaded_peak_rss_mib'])} with the export loaded, {_gib(t['built_peak_rss_mib'])} after the "
            f"split, encoder, sequences and windows, **{_gib(t['train_peak_rss_mib'])}** "
            f"({t['train_peak_rss_mib'] * 2**20 / 1e9:.2f} GB) after the steps (goal ≤ 8 GB). Of that, the trainer's "
            f"own arrays: the epoch's input and target windows, [{t['windows']:,} × {t['max_history']}] int64 each "
            f"({2 * t['windows'] * t['max_history'] * 8 / 2**30:.2f} GiB together), and in the largest step "
            f"[{t['largest_step_targets']:,} × {movies:,}] float32 logits "
            f"({t['largest_step_targets'] * movies * 4 / 2**30:.2f} GiB per tensor of that size, several live "
            "through the backward pass).",
        ]
    before = results.get("train-before")  # an earlier measurement kept for comparison (with its note)
    if before:
        lines += [
            "",
            f"{before['note']}: peak {_gib(before['built_peak_rss_mib'])} after building the training data, "
            f"{_gib(before['train_peak_rss_mib'])} after {before['steps']} steps (median {before['step_median_s']} s, "
            f"{before['targets_per_step']} targets per step).",
        ]
    sub, whole, pg_sub, pg = (results.get(k, {}) for k in ("subset", "sqlite", "postgres-subset", "postgres"))
    if sub and whole:
        lines += [
            "",
            f"Import memory against the number of ratings: SQLite {_gib(sub['peak_rss_mib'])} for "
            f"{sub['ratings']:,} ratings, {_gib(whole['peak_rss_mib'])} for {whole['ratings']:,}"
            + (f"; PostgreSQL {_gib(pg_sub['peak_rss_mib'])} and {_gib(pg['peak_rss_mib'])}" if pg_sub and pg else "")
            + ". The importer holds one chunk of ratings at a time (tests/movies/test_import_streaming.py checks the "
            "Python heap does not grow with them); the SQLite difference is SQLite's own memory inside the process "
            "(its page cache is capped at 256 MiB while importing), PostgreSQL keeps its caches in the server. "
            "The rest is the ~0.48 GiB `manage.py` starts with and the 162,541 users and their profiles.",
        ]
    for key in ("sqlite", "postgres"):  # the importer's own stage timings (-v 2), whole set
        log = [line for line in results.get(key, {}).get("importer_log", []) if not line.startswith(" ")]
        if log:
            lines += ["", f"Importer log, {key}, whole set:", "", "```", *log, "```"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/movielens-25m-synthetic"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-scale"))
    parser.add_argument("--phases", default=DEFAULT_PHASES, help=f"comma-separated, of {', '.join(PHASES)}")
    parser.add_argument("--postgres", help="database URL for the postgres phase (dropped and created)")
    parser.add_argument("--subset-ratings", type=int, default=5_000_000)
    parser.add_argument("--steps", type=int, default=300, help="most training steps to time")
    parser.add_argument("--train-seconds", type=float, default=300, help="stop timing steps after this long")
    parser.add_argument("--catalogue-epochs", type=int, default=1, help="train_model --epochs in the catalogue phase")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--report-only", action="store_true", help="run no phase: write the report from results.json")
    parser.add_argument("--child", choices=("export", "train", "pipeline"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        from benchmarks.scale_children import child_export, child_train
        from benchmarks.scale_pipeline import child_pipeline

        {"export": child_export, "train": child_train, "pipeline": child_pipeline}[args.child](args)
        return
    args.data.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    store = args.work / "results.json"
    results = json.loads(store.read_text()) if store.exists() else {}
    phases = [] if args.report_only else [p.strip() for p in args.phases.split(",") if p.strip()]
    for phase in phases:
        if phase not in PHASES:
            raise SystemExit(f"unknown phase {phase!r}")
        print(f"{time.strftime('%H:%M:%S')} {phase} ...", flush=True)
        results[phase] = globals()[f"phase_{phase.replace('-', '_')}"](args)
        results[phase]["commit"] = git_revision()
        store.write_text(json.dumps(results, indent=1))
        print(json.dumps({k: v for k, v in results[phase].items() if k != "importer_log"}), flush=True)
    own_sections = {  # phases reported in sections of their own
        "catalogue": ("scale-catalogue", "Catalogue size: the whole train_model pipeline at 3,700 and 62,000 movies"),
        "pipeline": ("scale-pipeline", "The pipeline's stages at ML-25M shape: time and memory"),
    }
    sections = []
    shared = [key for key in PHASES if key in results and key not in own_sections]
    if any(phase not in own_sections for phase in phases) or (args.report_only and shared):
        command = COMMAND + (f" --phases {args.phases}" if args.phases != DEFAULT_PHASES else "")
        if args.report_only:
            command = f"{COMMAND} --phases {','.join(shared)}"
        sections.append(("scale", "MovieLens-25M-shaped data: import, export, training memory", command,
                         report_body(results)))  # fmt: skip
    for phase, (name, title) in own_sections.items():
        if results.get(phase) and (phase in phases or args.report_only):
            from benchmarks.scale_catalogue import report_catalogue
            from benchmarks.scale_pipeline import report_pipeline

            body = "\n".join((report_catalogue if phase == "catalogue" else report_pipeline)(results[phase]))
            sections.append((name, title, f"{COMMAND} --phases {phase}", body))
    for name, title, command, body in sections:
        print(body)
        if not args.no_report:
            from benchmarks.report import write_section

            print(write_section(name, title, command, body))


if __name__ == "__main__":
    main()
