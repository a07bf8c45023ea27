"""Fault test: a keep-alive client that waits a few seconds between requests on one connection (the admin's
progress poll waits 2 s after each answer) is answered every time, never reset: real gunicorn with the site's
config (recsite/gunicorn_conf.py), a threaded worker as serve_all runs it.
"""

import http.client
import time

import pytest

from . import stack

pytestmark = pytest.mark.slow(reason="real gunicorn, and idle gaps of up to 5 s on one connection")


@pytest.fixture
def web(tmp_path):
    env = stack.web_environment(var_dir=tmp_path, database=f"sqlite:///{tmp_path / 'db.sqlite3'}",
                                milvus=str(tmp_path / "milvus.db"))  # fmt: skip
    server = stack.Web(tmp_path / "web.log", env)
    try:
        server.start()
        yield server
    finally:
        server.kill()


def test_an_idle_keep_alive_connection_is_still_open_after_a_few_seconds(web):
    conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=10)
    try:
        for gap in [0, 1.9, 2.1, 3.0, 5.0]:  # gunicorn's default keep-alive (2 s) closed the connection at ~2 s
            time.sleep(gap)
            conn.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
            response = conn.getresponse()
            assert (response.status, response.read()) == (200, b'{"status": "ok"}'), gap
            assert (response.getheader("Connection") or "").lower() != "close", gap
    finally:
        conn.close()
