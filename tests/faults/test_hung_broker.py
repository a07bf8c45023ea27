"""Fault test: a hung job broker (a redis-server this test started, then stopped with SIGSTOP: it accepts TCP
connections and never answers) costs a retrain at most the publish deadline: POST /api/models/train/ answers 503
within 5 s saying why, the admin's Retrain says "Retrain refused" as fast, and nothing is left queued (each
version made for a message that never got through is failed, with the reason). Real gunicorn on recsite.wsgi with
the base settings, on this run's test database, CELERY_BROKER_URL at the stopped redis-server.
"""

import signal
import time

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from rest_framework.authtoken.models import Token

from recommender.models import ModelVersion
from recommender.selectors import model_version_running
from tests.support import child_database_url

from . import stack

pytestmark = [
    pytest.mark.slow(reason="real gunicorn and a redis-server hung with SIGSTOP: waits out publish deadlines"),
    pytest.mark.django_db(transaction=True),
]

ANSWER_WITHIN = 5.0
PASSWORD = "pw-boss-123"


@pytest.fixture
def redis(tmp_path):
    with stack.redis_running(tmp_path / "redis.log") as server:
        yield server
        server.signal(signal.SIGCONT)  # killed stopped or not (SIGKILL works on a stopped process)


@pytest.fixture
def web(redis, tmp_path):
    staff = get_user_model().objects.create_superuser("boss", "boss@example.com", "x")
    hasher = PBKDF2PasswordHasher()  # the web server runs the base settings' hashers, not the tests' MD5
    get_user_model().objects.filter(pk=staff.pk).update(password=hasher.encode(PASSWORD, hasher.salt()))
    ModelVersion.objects.create(number=1, status=ModelVersion.Status.ACTIVE)
    env = stack.web_environment(
        var_dir=tmp_path, database=child_database_url(), milvus=str(tmp_path / "milvus.db"),
        CELERY_BROKER_URL=redis.url, BROKER_PUBLISH_TIMEOUT="2",
    )  # fmt: skip
    server = stack.Web(tmp_path / "web.log", env)
    try:
        server.start()
        yield server, Token.objects.create(user=staff).key
    finally:
        server.kill()


def admin_retrain(port: int, cookie: str) -> stack.Answer:
    csrf = cookie.split("csrftoken=")[1].split(";")[0]
    return stack.request(
        port, "POST", "/admin/recommender/modelversion/retrain/", cookie=cookie,
        headers={"X-CSRFToken": csrf, "Referer": f"http://127.0.0.1:{port}/admin/"},
    )  # fmt: skip


def test_a_hung_broker_answers_503_within_the_deadline_and_leaves_nothing_queued(web, redis):
    server, token = web
    cookie = stack.login(server.port, "boss", PASSWORD)
    # the broker works: a retrain is queued (nobody consumes it here), then failed by hand to free the lock
    ok = stack.request(server.port, "POST", "/api/models/train/", token=token, body={})
    assert ok.status == 202, (ok.status, ok.body[:500])
    ModelVersion.objects.filter(number=2).update(status=ModelVersion.Status.FAILED, error="test")

    redis.signal(signal.SIGSTOP)
    started = time.monotonic()
    api = [stack.request(server.port, "POST", "/api/models/train/", token=token, body={}) for _ in range(2)]
    site = admin_retrain(server.port, cookie)
    redis.signal(signal.SIGCONT)

    for answer, number in zip(api, [3, 4], strict=True):
        assert answer.status == 503, (answer.status, answer.body[:500], server.tail())
        assert answer.seconds < ANSWER_WITHIN, answer.seconds
        assert answer.json["extra"] == {"model_version": number}
        assert f"model version {number} was not queued" in answer.json["message"]
        assert f"127.0.0.1:{redis.port}" in answer.json["message"]
    assert site.status == 302 and site.seconds < ANSWER_WITHIN, (site.status, site.seconds, site.body[:300])
    assert time.monotonic() - started < 3 * ANSWER_WITHIN
    flashed = [v.split(";")[0] for k, v in site.headers if k.lower() == "set-cookie" and v.startswith("messages=")]
    page = stack.get(server.port, dict(site.headers)["Location"], cookie="; ".join([cookie, *flashed]))
    assert "Retrain refused: model version 5 was not queued" in page.body, page.body[-3000:]

    failed = ModelVersion.objects.filter(number__in=[3, 4, 5]).order_by("number")
    assert [v.status for v in failed] == ["failed"] * 3
    assert all("could not be reached within" in v.error and v.finished_at for v in failed), [v.error for v in failed]
    assert model_version_running() is None  # nothing holds the training lock
    assert ModelVersion.objects.get(number=1).status == "active"
    assert "Internal Server Error" not in server.tail(200_000)
