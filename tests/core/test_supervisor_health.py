"""The supervisor's health checks with real child processes on loopback: a child that is alive but stops
answering (SIGSTOP) is SIGKILLed with its process group and restarted, the reason logged; a Milvus Lite server
replaced that way keeps its vectors (they live in its data folder).

Only the processes these tests start are signalled (by the pid Popen gave, or their process group).
"""

import os
import signal
import sys
import time

import numpy as np
import pytest

from core.supervisor import Child, Supervisor, http_ping
from recommender.vectorstore.ping import milvus_ping
from tests.faults.processes import BIN
from tests.support import free_port, wait_until

pytestmark = pytest.mark.slow(reason="real children (http.server, milvus-lite) hung with SIGSTOP, restarted")


def supervise_until(sup: Supervisor, done, timeout: float) -> float:
    """Run supervision passes every 0.1 s until done(); the seconds it took (AssertionError after `timeout`)."""

    def passed() -> bool:
        assert sup.check() is True, sup.gave_up
        return done()

    started = time.monotonic()
    if not done():
        wait_until(passed, timeout, "the supervisor's passes to get there", ignore=())
    return time.monotonic() - started


def test_a_child_that_stops_answering_is_killed_and_restarted_with_the_reason_logged(tmp_path):
    lines: list[str] = []
    sup = Supervisor(lines.append)
    port = free_port()
    argv = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)]
    web = Child("web", argv, env={}, health=lambda: http_ping("127.0.0.1", port, "/", timeout=0.5), health_every=0.3)
    try:
        sup.start(web)
        supervise_until(sup, lambda: web.answered, 30)
        first = web.proc
        assert sup.check() is True and web.proc is first and web.health_bad == 0  # answering: left alone

        os.killpg(first.pid, signal.SIGSTOP)
        supervise_until(sup, lambda: web.proc is not first and web.answered, 30)
        assert first.poll() == -signal.SIGKILL and web.replaced == 1
        text = "\n".join(lines)
        assert "web failed its health check (1/3): GET http://127.0.0.1" in text
        assert f"web (pid {first.pid}) is alive but not answering: 3 health checks in a row failed" in text
        assert "restarting in 1 s" in text
        assert http_ping("127.0.0.1", port, "/", timeout=2) is None
    finally:
        sup.stop_all(grace=5)


def test_a_child_still_starting_is_given_its_grace_and_a_crashing_ping_counts_as_a_failure():
    lines: list[str] = []
    sup = Supervisor(lines.append)

    def ping() -> str | None:
        raise RuntimeError("boom")

    slow = sup.start(Child("slow", [sys.executable, "-c", "import time; time.sleep(60)"], env={}, health=ping,
                           health_every=0, health_grace=60))  # fmt: skip
    now = time.monotonic()
    for step in range(5):
        assert sup.check(now + step) is True
    assert slow.health_bad == 0 and slow.replaced == 0  # within its start-up grace
    for step in range(3):
        sup.check(now + 61 + step)
    assert slow.replaced == 1 and "the health check crashed: RuntimeError: boom" in "\n".join(lines)
    sup.stop_all(grace=5)


def test_a_hung_milvus_server_is_replaced_within_90_s_and_keeps_its_vectors(tmp_path):
    from pymilvus import MilvusClient

    lines: list[str] = []
    sup = Supervisor(lines.append)
    port = free_port()
    argv = [str(BIN / "milvus-lite"), "server", "--data-dir", str(tmp_path / "data"), "--host", "127.0.0.1",
            "--port", str(port)]  # fmt: skip
    milvus = Child("milvus", argv, env=dict(os.environ), stop_signal=signal.SIGINT,
                   health=lambda: milvus_ping(f"127.0.0.1:{port}", timeout=1.0), health_every=1.0)  # fmt: skip
    try:
        sup.start(milvus)
        supervise_until(sup, lambda: milvus.answered, 60)
        client = MilvusClient(uri=f"http://127.0.0.1:{port}", timeout=10)
        client.create_collection("kept", dimension=4)
        rows = [{"id": i, "vector": np.random.default_rng(i).random(4).tolist()} for i in range(50)]
        client.insert("kept", rows)
        client.flush("kept")
        client.load_collection("kept")  # its index files written whole before the stop (a kill mid-write tears them)
        assert len(client.search("kept", data=[rows[0]["vector"]], limit=1)[0]) == 1
        client.close()
        first = milvus.proc

        os.killpg(first.pid, signal.SIGSTOP)
        took = supervise_until(sup, lambda: milvus.proc is not first and milvus.answered, 90)
        assert took < 90 and first.poll() == -signal.SIGKILL
        assert "milvus failed its health check (1/3): CheckHealth on 127.0.0.1" in "\n".join(lines)
        assert "DEADLINE_EXCEEDED" in "\n".join(lines)

        client = MilvusClient(uri=f"http://127.0.0.1:{port}", timeout=10)
        wait_until(lambda: client.has_collection("kept"), 30, "the collection after the restart")
        client.load_collection("kept")
        assert client.query("kept", filter="", output_fields=["count(*)"])[0]["count(*)"] == 50
        client.close()
    finally:
        sup.stop_all(grace=10)
