"""Library noise is silenced where it comes from (core/quiet.py), and only that noise: in fresh processes.

Each check runs the same library calls twice: bare (the noise is there, so the check means something) and as a
recsite process (none of it; a warning or a log line of the same libraries that is not noise still shows).
"""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow(reason="fresh Python processes import Paddle, Celery and gRPC (with a 4 s idle)")

ROOT = Path(__file__).resolve().parents[2]

# What a worker does at start and in a training run: Paddle (the tasks module), the ALS baseline, a vector index.
LIBRARY_CALLS = (
    """
import logging, warnings
import paddle
from implicit.cpu.als import AlternatingLeastSquares
AlternatingLeastSquares(factors=4)  # implicit checks the BLAS thread pool here
import faiss  # the loader logs which CPU build it loads
from celery.platforms import check_privileges
check_privileges(["json"])  # Celery's warning when the worker runs as root
warnings.warn("a warning of our own", UserWarning)
logging.getLogger("faiss.loader").warning("a faiss warning that matters")
"""
    + """
# gRPC's C core: a client that pings an idle connection (pymilvus's keepalive_permit_without_calls, here every
# 200 ms) gets GOAWAY too_many_pings from a server with gRPC's defaults (Milvus Lite's), logged at INFO and ERROR
import time
from concurrent import futures
import grpc
from pymilvus.grpc_gen import milvus_pb2, milvus_pb2_grpc
server = grpc.server(futures.ThreadPoolExecutor(1))
milvus_pb2_grpc.add_MilvusServiceServicer_to_server(milvus_pb2_grpc.MilvusServiceServicer(), server)
port = server.add_insecure_port("127.0.0.1:0")
server.start()
options = [("grpc.keepalive_time_ms", 200), ("grpc.keepalive_permit_without_calls", 1),
           ("grpc.http2.max_pings_without_data", 0)]
channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=options)
stub = milvus_pb2_grpc.MilvusServiceStub(channel)
for pause in (4, 0):  # a call, idle pings, a call
    try:
        stub.CheckHealth(milvus_pb2.CheckHealthRequest(), timeout=10)
    except grpc.RpcError:
        pass  # UNIMPLEMENTED: the bare servicer; the connection is what matters
    time.sleep(pause)
server.stop(0)
"""
)
BARE = "import logging; logging.basicConfig(level=logging.INFO)\n" + LIBRARY_CALLS
AS_RECSITE = "import django; django.setup()\n" + LIBRARY_CALLS  # the settings' LOGGING, recsite/__init__.py first


def environment(tmp_path: Path) -> dict:
    # OMP_NUM_THREADS too: Paddle sets it to 1 in a process that imported it (an earlier test), which would silence
    # the OpenBLAS warning in the "bare" child and fail the check that the noise exists without recsite's filters;
    # GRPC_VERBOSITY too: this process imported recsite, which sets it (core/quiet.py)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "RECSITE_", "PYTHON")) and k not in {"OMP_NUM_THREADS", "GRPC_VERBOSITY"}
    }
    env.update(PYTHONPATH=str(ROOT), RECSITE_ENV_FILE=os.devnull, RECSITE_VAR_DIR=str(tmp_path),
               DJANGO_SETTINGS_MODULE="recsite.settings.local", LOG_LEVEL="INFO")  # fmt: skip
    return env


def python(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)


def expected_noise() -> list[str]:
    """The noise this machine makes: ccache and root depend on the machine, the BLAS pool on its cores."""
    noise = ["Loading faiss", "Got goaway"]  # gRPC's INFO line (its ERROR line about it stays: a fix is due)
    if shutil.which("ccache") is None:
        noise.append("No ccache found")
    if (os.cpu_count() or 1) > 1 and os.environ.get("OPENBLAS_NUM_THREADS", "") in {"", "0"}:
        noise.append("OpenBLAS is configured to use")
    if os.geteuid() == 0:
        noise.append("running the worker with superuser privileges")
    return noise


def test_paddle_implicit_faiss_and_celery_print_none_of_their_start_noise(tmp_path):
    noise = expected_noise()
    bare = python(BARE, environment(tmp_path))
    assert bare.returncode == 0, bare.stderr[-3000:]
    assert [text for text in noise if text not in bare.stderr] == []

    quiet = python(AS_RECSITE, environment(tmp_path))
    assert quiet.returncode == 0, quiet.stderr[-3000:]
    assert [text for text in noise if text in quiet.stderr] == [], quiet.stderr
    assert "UserWarning: a warning of our own" in quiet.stderr
    assert "WARNING faiss.loader: a faiss warning that matters" in quiet.stderr


SIGNALLED = """
import os, signal, sys, time
import recsite  # what every entry point imports first
signal.signal(signal.SIGTERM, lambda number, frame: (print("stopped gracefully", flush=True), sys.exit(0)))
import paddle  # after the process set its own SIGTERM handler, as in a gunicorn worker
if sys.argv[1] == "quiet":
    from core.quiet import paddle_signal_handlers_remove
    paddle_signal_handlers_remove()
paddle.to_tensor([1.0, 2.0]).sum()
os.kill(os.getpid(), signal.SIGTERM)
time.sleep(30)
"""


@pytest.mark.parametrize("mode", ["paddle", "quiet"])
def test_sigterm_after_paddle_loaded_reaches_the_process_own_handler(tmp_path, mode):
    done = subprocess.run([sys.executable, "-c", SIGNALLED, mode], cwd=ROOT, env=environment(tmp_path),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=180)  # fmt: skip
    if mode == "paddle":  # how a graceful stop ended: Paddle's handler, a C++ "traceback" (on stdout), killed
        assert "FatalError: `Termination signal`" in done.stdout and done.returncode == -signal.SIGTERM
    else:
        assert (done.returncode, done.stdout) == (0, "stopped gracefully\n")


CRASH = """
import ctypes
from core.quiet import paddle_signal_handlers_remove
paddle_signal_handlers_remove()
ctypes.string_at(0)  # a segmentation fault
"""


def test_a_real_crash_still_shows_once_paddle_handlers_are_gone(tmp_path):
    done = python(CRASH, environment(tmp_path))
    assert done.returncode == -signal.SIGSEGV
    assert "Fatal Python error: Segmentation fault" in done.stderr and 'File "<string>", line 5' in done.stderr
