"""TRAINING_PROCESSES / TRAINING_NODES / TRAINING_MASTER: bad values stop a process at start-up with the reason."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from recsite.settings.base import training_settings_check

ROOT = Path(__file__).resolve().parents[2]
SETUP = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.TRAINING_PROCESSES, settings.TRAINING_NODES)"
)


def start(**env: str) -> subprocess.CompletedProcess:
    child_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "recsite.settings.test", **env}
    return subprocess.run([sys.executable, "-c", SETUP], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env=child_env)  # fmt: skip


@pytest.mark.slow(reason="starts a fresh Django process per training setting")
def test_a_bad_value_stops_the_start_with_the_reason_and_good_ones_are_read():
    bad = start(TRAINING_PROCESSES="two")
    assert bad.returncode != 0
    assert "ImproperlyConfigured: TRAINING_PROCESSES and TRAINING_NODES must be whole numbers" in bad.stderr
    good = start(TRAINING_PROCESSES="2", TRAINING_NODES="3", TRAINING_MASTER="10.0.0.1:8090")
    assert good.returncode == 0, good.stderr[-2000:]
    assert good.stdout.split() == ["2", "3"]


@pytest.mark.parametrize(
    ("processes", "nodes", "master", "timeout", "reason"),
    [
        (0, 1, "", 300, "must be >= 1"),
        (1, 0, "", 300, "must be >= 1"),
        (1, 2, "", 300, "needs TRAINING_MASTER=host:port"),
        (1, 2, "10.0.0.1", 300, "needs TRAINING_MASTER=host:port"),
        (1, 2, "10.0.0.1:99999", 300, "needs TRAINING_MASTER=host:port"),
        (1, 1, "", 0, "TRAINING_JOIN_TIMEOUT_SECONDS must be > 0"),
    ],
)
def test_values_the_training_cannot_run_with_are_refused(processes, nodes, master, timeout, reason):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match=reason):
        training_settings_check(processes, nodes, master, timeout)
    training_settings_check(2, 1, "", 300)  # one machine needs no master
    training_settings_check(1, 2, "host.internal:8090", 300)
