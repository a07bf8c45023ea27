"""The embedded-mode supervisor with real child processes: restart with back-off, give up on a crash loop."""

import subprocess
import sys
import time

from core.supervisor import CRASH_WINDOW_SECONDS, Child, Supervisor


def child(name: str, code: str) -> Child:
    return Child(name, [sys.executable, "-c", code], env={})


def wait_exit(proc: subprocess.Popen) -> None:
    proc.wait(timeout=30)


def test_a_crashed_child_is_restarted_after_a_growing_pause():
    lines: list[str] = []
    sup = Supervisor(lines.append)
    crashing = sup.start(child("flaky", "raise SystemExit(3)"))
    first = crashing.proc
    wait_exit(first)
    now = time.monotonic()
    assert sup.check(now) is True
    assert crashing.restart_at == now + 1.0 and "flaky exited with code 3: restarting in 1 s" in lines[-1]
    assert sup.check(now + 0.5) is True and crashing.proc is first  # not yet due
    assert sup.check(now + 1.0) is True and crashing.proc is not first  # a fresh process
    wait_exit(crashing.proc)
    assert sup.check(now + 2.0) is True and crashing.restart_at == now + 4.0  # the second crash waits 2 s
    sup.stop_all(grace=5)


def test_a_crash_loop_makes_the_supervisor_give_up_and_stop_leaves_nothing_running():
    lines: list[str] = []
    sup = Supervisor(lines.append, max_crashes=2)
    steady = sup.start(child("steady", "import time; time.sleep(60)"))
    loop = sup.start(child("loop", "raise SystemExit(1)"))
    now = time.monotonic()
    for step in range(3):
        wait_exit(loop.proc)
        ok = sup.check(now + step * 10)
        if step < 2:
            assert ok is True
            sup.check(loop.restart_at)  # due: started again
    assert ok is False and "loop exited 3 times" in sup.gave_up and "giving up" in lines[-1]
    assert steady.proc.poll() is None  # the others are untouched until the caller stops them
    sup.stop_all(grace=5)
    assert steady.proc.poll() is not None


def test_crashes_outside_the_window_are_forgotten():
    sup = Supervisor(lambda line: None, max_crashes=1)
    loop = sup.start(child("rare", "raise SystemExit(1)"))
    now = time.monotonic()
    wait_exit(loop.proc)
    assert sup.check(now) is True
    sup.check(loop.restart_at)
    wait_exit(loop.proc)
    assert sup.check(now + CRASH_WINDOW_SECONDS + 1) is True  # the first crash is too old to count
    sup.stop_all(grace=5)
