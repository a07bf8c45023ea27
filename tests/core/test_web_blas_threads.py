"""A web process (recsite.wsgi / recsite.asgi) runs numpy's BLAS on one thread; other processes keep the default."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CODE = """
import json, sys
if sys.argv[1] != "none":
    __import__(sys.argv[1])
import numpy, threadpoolctl
print(json.dumps([p["num_threads"] for p in threadpoolctl.threadpool_info() if p["internal_api"] == "openblas"]))
"""


def blas_threads(module: str, tmp_path) -> list[int]:
    env = {k: v for k, v in os.environ.items() if k not in {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"}}
    env.update(DJANGO_SETTINGS_MODULE="recsite.settings.local", RECSITE_VAR_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", CODE, module], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True)  # fmt: skip
    return __import__("json").loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", ["recsite.wsgi", "recsite.asgi"])
def test_web_entry_points_run_blas_on_one_thread(module, tmp_path):
    assert blas_threads(module, tmp_path) == [1]


def test_other_processes_keep_the_default(tmp_path):
    threads = blas_threads("none", tmp_path)  # e.g. the training worker: BLAS may use every core
    assert len(threads) == 1 and (threads[0] > 1 or os.cpu_count() == 1)
