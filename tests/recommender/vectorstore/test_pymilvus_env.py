"""pymilvus reads MILVUS_URI itself when imported and refuses a Milvus Lite path; the project hides it from it.

The in-process side (manage.py with MILVUS_URI=<path>) is tested in tests/core/test_configuration.py; here the
other process that imports pymilvus: the ``milvus-lite server`` that serve_all starts with pymilvus_env().
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from recommender.vectorstore.pymilvus_env import pymilvus_env
from tests.support import free_port, listening, wait_until

pytestmark = pytest.mark.slow(reason="starts milvus-lite server processes")


def milvus_lite_server(tmp_path: Path, env: dict) -> tuple[subprocess.Popen, int]:
    port = free_port()
    exe = str(Path(sys.executable).with_name("milvus-lite"))
    argv = [exe, "server", "--data-dir", str(tmp_path / "served.db"), "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, port


def test_pymilvus_itself_refuses_a_path_in_milvus_uri(tmp_path):
    """Why the helper exists: with the variable as the README documents it, the server dies at import."""
    proc, _ = milvus_lite_server(tmp_path, {**os.environ, "MILVUS_URI": str(tmp_path / "milvus.db")})
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "Illegal uri" in output


def test_milvus_lite_server_started_with_pymilvus_env_serves(tmp_path):
    environ = {**os.environ, "MILVUS_URI": str(tmp_path / "milvus.db"), "MILVUS_DEFAULT_CONNECTION": "/x/y.db"}
    env = pymilvus_env(environ)
    assert "MILVUS_URI" not in env and env["PYTHON_DOTENV_DISABLED"] == "1"  # nor may pymilvus reload .env
    proc, port = milvus_lite_server(tmp_path, env)
    try:

        def up() -> bool:
            assert proc.poll() is None, proc.stdout.read()
            return listening(port)

        wait_until(up, 60, "the milvus-lite server to listen", interval=0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
