"""Milvus search latency (k=50, ~100 excluded ids) and build time, in Lite and through the Lite server."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from benchmarks.report import write_section  # noqa: E402
from recommender.vectorstore import ML1M_GENRES, VectorStore  # noqa: E402

DIM, K, EXCLUDED = 256, 50, 100
GENRES = sorted(ML1M_GENRES)


def synthetic_catalogue(n: int, seed: int = 0):
    """Clustered unit vectors (real embeddings are clustered, unlike i.i.d. noise) with genres and years."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(8, n // 200), DIM)).astype(np.float32)
    vectors = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.normal(size=(n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    genres = [[GENRES[i % 18], GENRES[(i * 7) % 18]] if i % 3 else [GENRES[i % 18]] for i in range(n)]
    return np.arange(1, n + 1), vectors, genres, 1919 + np.arange(n) % 82


def queries(vectors: np.ndarray, count: int, seed: int = 1):
    """User-like queries: a mix of a few movies' vectors, and the ~100 'rated' ids to exclude."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        rated = rng.choice(len(vectors), EXCLUDED, replace=False)
        query = vectors[rated[:10]].mean(axis=0)
        out.append((query / np.linalg.norm(query), (rated + 1).tolist()))
    return out


def percentiles(samples: list[float]) -> str:
    ms = np.asarray(samples) * 1000
    return f"{np.percentile(ms, 50):.1f} | {np.percentile(ms, 99):.1f}"


def measure(store: VectorStore, ids, vectors, genres, years, n_queries: int) -> dict:
    """Build (insert+flush+index+load) and switch, then time searches; recall against exact numpy."""
    started = time.perf_counter()
    store.build_collection(1, ids, vectors, genres, years, force=True)
    build_s = time.perf_counter() - started
    store.switch_alias(1)
    work = queries(vectors, n_queries)
    for query, rated in work[:10]:  # warm-up: first-search costs are not steady state
        store.search(query, k=K, exclude_ids=rated)
    plain, filtered, recall = [], [], []
    for query, rated in work:
        started = time.perf_counter()
        hits = store.search(query, k=K, exclude_ids=rated)
        plain.append(time.perf_counter() - started)
        started = time.perf_counter()
        store.search(query, k=K, exclude_ids=rated, genres=["Drama", "Comedy"], year_min=1970, year_max=1999)
        filtered.append(time.perf_counter() - started)
        scores = vectors @ query
        scores[np.asarray(rated) - 1] = -np.inf
        exact = set((np.argsort(-scores)[:K] + 1).tolist())
        recall.append(len(exact & {m for m, _ in hits}) / K)
    return {"build_s": build_s, "plain": plain, "filtered": filtered, "recall": float(np.mean(recall))}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def lite_server(data_dir: Path):
    """Start `milvus-lite server` on a free port; yields its URI, or None if the command is unavailable."""
    binary = shutil.which("milvus-lite") or str(Path(sys.executable).parent / "milvus-lite")
    if not Path(binary).exists():
        yield None
        return
    port = free_port()
    command = [binary, "server", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while server.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}" if server.poll() is None else None
    finally:
        server.terminate()
        server.wait(timeout=30)


def run_case(uri: str, n: int, index_type: str, n_queries: int, ef: int = 0) -> dict:
    store = VectorStore(uri, timeout=60, index_type=index_type, prefix="bench_v", alias="bench_live", search_ef=ef)
    try:
        result = measure(store, *synthetic_catalogue(n), n_queries)
        store.drop_all()
        return result
    finally:
        store.close()


TABLE_HEAD = (
    "| store | movies | index | build s | search p50 ms | p99 ms | filtered p50 ms | p99 ms | recall@50 |\n"
    "|---|---|---|---|---|---|---|---|---|\n"
)


def table_rows(modes: list[tuple[str, str]], args) -> list[str]:
    """One row per store x size x index type (x ef floor for HNSW), printed as they come."""
    rows = []
    for label, uri in modes:
        for n in map(int, args.sizes.split(",")):
            for index_type in args.index_types.split(","):
                for ef in map(int, args.ef.split(",")) if index_type == "HNSW" else [0]:
                    r = run_case(uri, n, index_type, args.queries, ef)
                    index = index_type + (f", ef ≥ {ef}" if ef else "")
                    timing = f"{percentiles(r['plain'])} | {percentiles(r['filtered'])} | {r['recall']:.3f} |"
                    rows.append(f"| {label} | {n:,} | {index} | {r['build_s']:.1f} | {timing}")
                    print(rows[-1], flush=True)
    return rows


def report(args, argv, section: str, title: str, body: str) -> None:
    print(body)
    if not args.no_write:
        command = "python -m benchmarks.bench_milvus " + " ".join(argv if argv is not None else sys.argv[1:])
        write_section(section, title, command.strip(), body)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="3883,100000", help="comma-separated catalogue sizes")
    parser.add_argument("--index-types", default="HNSW,FLAT", help="FLAT is exact (brute force)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--no-server", action="store_true", help="skip the milvus-lite server runs")
    parser.add_argument("--no-write", action="store_true", help="print only, do not touch docs/benchmarks.md")
    parser.add_argument("--ef", default="0", help="comma-separated HNSW ef floors (MILVUS_SEARCH_EF) to compare")
    parser.add_argument("--milvus-server", metavar="URI", help="measure only this Milvus server (http://host:19530); "
                        "writes the 'milvus-server' section")  # fmt: skip
    parser.add_argument("--section", default="milvus-server", help="with --milvus-server: the section to write "
                        "(e.g. milvus-server-1m for a run of the largest catalogue alone)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.milvus_server:
        return server_main(args, argv)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-milvus-") as tmp:
        with lite_server(Path(tmp) / "server") as server_uri:
            modes = [("Lite (embedded)", str(Path(tmp) / "lite.db"))]
            if server_uri and not args.no_server:
                modes.append(("Lite server (gRPC, separate process)", server_uri))
            rows = table_rows(modes, args)
    body = (
        f"Synthetic clustered {DIM}-d unit vectors; each query excludes {EXCLUDED} ids (a user's rated movies), "
        f"k={K}, {args.queries} queries after 10 warm-up. Build = insert + flush + index + load. "
        "Filtered = exclusion plus genres any-of [Drama, Comedy] and years 1970-1999. "
        "Recall@50 against exact numpy dot products. Metric COSINE; HNSW M=16, efConstruction=100, "
        "ef=max(64, 2k), with a genre/year filter max(512, 8k). Server rows: client and server share the 2 cores. "
        f"Load average (1 min) {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after: other work on this "
        "machine inflates the p99s.\n\n" + TABLE_HEAD + "\n".join(rows)
    )
    report(args, argv, "milvus", "Milvus vector search (Lite and Lite server)", body)


def server_main(args, argv) -> None:
    """The same cases against a real Milvus server (e.g. .ci/milvus-server-tests' 2.3.5 standalone)."""
    from pymilvus import MilvusClient

    version = MilvusClient(uri=args.milvus_server).get_server_version()
    load_before = os.getloadavg()
    rows = table_rows([(f"Milvus {version} standalone", args.milvus_server)], args)
    body = (
        f"The cases of the section above against a real Milvus server ({version}, PyPI's `milvus` wheel: standalone "
        "with embedded etcd and local storage) on loopback, sharing the 2 cores with the client. "
        f"Load average (1 min) {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after.\n\n"
        + TABLE_HEAD
        + "\n".join(rows)
    )
    title = "Milvus vector search on a Milvus server" + ("" if args.section == "milvus-server" else f" ({args.sizes})")
    report(args, argv, args.section, title, body)


if __name__ == "__main__":
    main()
