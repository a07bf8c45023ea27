"""Multi-process behaviour: a Lite folder held by another process, and the shared Lite server."""

import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recommender.vectorstore import VectorStore, VectorStoreError
from tests.support import free_port, listening, wait_until

from .conftest import make_catalogue

ROOT = Path(__file__).resolve().parents[3]
HOLD_SCRIPT = """
import sys, time
from recommender.vectorstore import VectorStore
store = VectorStore(sys.argv[1], timeout=5)
store.list_versions()
print("ready", flush=True)
time.sleep(30)
"""
SEARCH_SCRIPT = """
import sys, time, numpy as np
from recommender.vectorstore import VectorStore
store = VectorStore(sys.argv[1], timeout=5)
store.search(np.ones(16, dtype=np.float32), k=10)
print("ready", flush=True)
failures, seen, stop = 0, set(), time.monotonic() + float(sys.argv[2])
while time.monotonic() < stop:
    try:
        hits = store.search(np.ones(16, dtype=np.float32), k=10)
        assert len(hits) == 10
        seen.add(1 if hits[0][0] < 1000 else 2)
    except Exception as exc:
        failures += 1
        print("failed:", exc, file=sys.stderr)
print("failures", failures, "versions", sorted(seen), flush=True)
"""


def python(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", *args], env=env, cwd=ROOT, text=True, **kwargs)


@pytest.mark.slow(reason="a second Python process opens and holds the Lite folder")
def test_lite_folder_held_by_another_process_gives_clear_error(tmp_path):
    uri = str(tmp_path / "held.db")
    holder = python(HOLD_SCRIPT, uri, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(VectorStoreError, match="another process holds"):
            VectorStore(uri, timeout=2).list_versions()
    finally:
        holder.kill()
        holder.wait()


@pytest.fixture
def lite_server(tmp_path):
    """`milvus-lite server` on a free port; yields its http:// URI."""
    binary = shutil.which("milvus-lite") or str(Path(sys.executable).parent / "milvus-lite")
    if not os.access(binary, os.X_OK):
        pytest.skip("the milvus-lite command is not installed (pip install milvus-lite==3.2.2)")
    port = free_port()
    command = [binary, "server", "--data-dir", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with contextlib.suppress(AssertionError):
            wait_until(lambda: listening(port) or server.poll() is not None, 20, "the milvus-lite server")
        if server.poll() is not None or not listening(port):
            pytest.skip(f"milvus-lite server did not start (exit code {server.poll()})")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.slow(reason="a milvus-lite server shared with a second, searching process")
def test_lite_server_shared_by_two_processes_across_alias_switches(lite_server):
    store = VectorStore(lite_server, timeout=5)
    v1, v2 = make_catalogue(), make_catalogue(first_id=1001, seed=1)
    store.build_collection(1, v1.ids, v1.vectors, v1.genres, v1.years)
    store.build_collection(2, v2.ids, v2.vectors, v2.genres, v2.years)
    store.switch_alias(1)
    searcher = python(SEARCH_SCRIPT, lite_server, "2.0", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert searcher.stdout.readline().strip() == "ready"
        for version in (2, 1, 2, 1, 2, 1, 2):  # while the other process keeps searching through the alias
            time.sleep(0.1)  # the scenario's pace: searches land on each version
            store.switch_alias(version)
        out, err = searcher.communicate(timeout=60)
    finally:
        searcher.kill()
    assert out.strip() == "failures 0 versions [1, 2]", err[-2000:]
    assert store.live_version() == 2
    assert store.search(v2.vectors[0], k=1, exclude_ids=[1])[0][0] == int(v2.ids[0])
    store.drop_all()
    assert store.list_versions() == []
    store.close()
