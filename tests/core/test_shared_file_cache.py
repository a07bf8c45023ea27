"""core.cache.SharedFileCache, the limits' store of the embedded default (recsite/settings/base.py), with real
processes sharing one folder: add and incr are atomic across them, incr keeps the entry's expiry, a full cache drops
expired entries before live ones; and window_hit counts a fixed window that starts at the first hit."""

import subprocess
import sys
import time
from pathlib import Path

from core.cache import SharedFileCache, window_hit

ROOT = Path(__file__).resolve().parents[2]
PROCESSES, HITS = 4, 150

COUNTER = """
import sys
from core.cache import SharedFileCache, window_hit
cache = SharedFileCache(sys.argv[1], {})
sys.stdin.readline()  # every process starts counting at once
added = sum(cache.add(f"first-{i}", 1, timeout=60) for i in range(50))
last = [window_hit(cache, "key", 60)[0] for _ in range(int(sys.argv[2]))]
print(added, max(last))
"""


def test_processes_sharing_the_folder_lose_no_hit_and_add_once(tmp_path):
    folder = str(tmp_path / "limits")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", COUNTER, folder, str(HITS)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )  # fmt: skip
        for _ in range(PROCESSES)
    ]
    try:
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = [proc.communicate(timeout=120)[0].split() for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    assert all(proc.returncode == 0 for proc in procs)
    assert sum(int(added) for added, _ in outputs) == 50  # each of the 50 keys added by exactly one process
    assert max(int(last) for _, last in outputs) == PROCESSES * HITS  # no increment lost
    assert SharedFileCache(folder, {}).get("key") == PROCESSES * HITS


def test_incr_keeps_the_expiry_and_a_missing_key_is_a_value_error(tmp_path):
    cache = SharedFileCache(str(tmp_path), {})
    cache.set("n", 1, timeout=1)
    assert cache.incr("n") == 2 and cache.incr("n", 5) == 7
    time.sleep(1.2)  # the scenario: the 1 s timeout passes
    assert cache.get("n") is None  # Django's FileBasedCache.incr would have set a fresh 300 s timeout
    for key in ("n", "never"):
        try:
            cache.incr(key)
        except ValueError:
            pass
        else:
            raise AssertionError(f"incr of the missing {key!r} did not raise")


def test_window_hit_counts_a_fixed_window_from_the_first_hit(tmp_path):
    cache = SharedFileCache(str(tmp_path), {})
    started = time.time()
    counts = [window_hit(cache, "client", 1) for _ in range(3)]
    assert [count for count, _ in counts] == [1, 2, 3]
    assert len({until for _, until in counts}) == 1 and started + 1 <= counts[0][1] <= time.time() + 1
    time.sleep(1.2)  # the scenario: the 1 s timeout passes
    assert window_hit(cache, "client", 1)[0] == 1  # a new window


def test_a_full_cache_drops_expired_entries_before_live_ones(tmp_path):
    cache = SharedFileCache(str(tmp_path), {"OPTIONS": {"MAX_ENTRIES": 10, "CULL_FREQUENCY": 1}})
    for i in range(8):
        cache.set(f"old-{i}", i, timeout=1)
    cache.set("live-a", 1, timeout=60)
    cache.set("live-b", 2, timeout=60)
    time.sleep(1.2)  # the scenario: the 1 s timeout passes
    cache.add("new", 3, timeout=60)  # full: the 8 expired go; CULL_FREQUENCY=1 would have cleared everything
    assert [cache.get(k) for k in ("live-a", "live-b", "new")] == [1, 2, 3]
    assert len(list(tmp_path.glob("*.djcache"))) == 3


def test_an_entry_torn_by_a_killed_writer_reads_as_missing_and_is_removed(tmp_path):
    cache = SharedFileCache(str(tmp_path), {})
    for torn in (b"", b"\x80\x05garbage", b"\x80\x05N.not-zlib"):
        cache.set("n", 5, timeout=60)
        (entry,) = tmp_path.glob("*.djcache")
        entry.write_bytes(torn)
        assert cache.get("n", "missing") == "missing" and not entry.exists()
        entry.write_bytes(torn)
        try:
            cache.incr("n")
        except ValueError:
            pass
        else:
            raise AssertionError("incr of a torn entry did not raise")
        assert not entry.exists() and cache.add("n", 1, timeout=60)  # a new window can start
        cache.delete("n")
