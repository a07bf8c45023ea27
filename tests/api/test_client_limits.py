"""Limits keyed on the real client: the anonymous throttle ignores a client-sent X-Forwarded-For unless a trusted
proxy (NUM_PROXIES) put it there, and the token endpoint refuses log-ins (429) after too many failures for one
account or from one address, with the counts in Django's cache (the site's forms: tests/web/test_login_limits.py).
"""

import socket
import time

import pytest
from django.test import RequestFactory
from rest_framework.test import APIClient

from movies.logins import client_address, login_authenticate

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-123"  # UserFactory's (tests/factories.py)


@pytest.fixture
def anon_rate_3(settings):
    """3 anonymous requests a minute (the API's throttles read the rates when used: api/throttling.py)."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "3/minute", "user": "1000/minute"},
    }


@pytest.fixture
def trusted_proxies(settings):
    def trust(n: int) -> None:
        settings.NUM_PROXIES = n
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": n}

    return trust


def anonymous_get(forwarded_for: str | None = None, remote: str = "127.0.0.1") -> int:
    headers = {"REMOTE_ADDR": remote}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return APIClient().get("/api/no-such-thing/", **headers).status_code  # AllowAny: throttled, else a 404


def test_a_changed_x_forwarded_for_does_not_reset_the_anonymous_throttle(anon_rate_3):
    codes = [anonymous_get(forwarded_for=f"203.0.113.{i}") for i in range(1, 6)]
    assert codes == [404, 404, 404, 429, 429]
    assert anonymous_get(remote="127.0.0.2") == 404  # another client (socket address) has its own budget


def test_behind_a_trusted_proxy_the_client_is_the_address_it_appended(anon_rate_3, trusted_proxies):
    trusted_proxies(1)
    assert [anonymous_get(forwarded_for=f"203.0.113.{i}") for i in range(1, 6)] == [404] * 5  # 5 clients
    # one client, whatever it prepends: the proxy appends the address it saw, and only that one is trusted
    codes = [anonymous_get(forwarded_for=f"198.51.100.{i}, 192.0.2.7") for i in range(1, 6)]
    assert codes == [404, 404, 404, 429, 429]


def test_client_address_is_the_throttles(trusted_proxies):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 5.6.7.8")
    assert client_address(request) == "10.0.0.1"
    trusted_proxies(1)
    assert client_address(request) == "5.6.7.8"
    trusted_proxies(2)
    assert client_address(request) == "1.2.3.4"


def token(username: str, password: str, remote: str = "127.0.0.1", **headers):
    return APIClient().post(
        "/api/auth/token/", {"username": username, "password": password}, format="json", REMOTE_ADDR=remote, **headers
    )


def test_token_log_ins_are_refused_after_ten_failures_for_an_account(users, settings):
    assert settings.LOGIN_FAILURES_PER_ACCOUNT == 10 and settings.LOGIN_FAILURES_WINDOW_SECONDS == 300
    codes = [token("alice", f"wrong-{i}", remote=f"10.0.0.{i}").status_code for i in range(10)]  # 10 addresses
    assert codes == [400] * 10
    refused = token("alice", PASSWORD, remote="10.0.1.1")  # the right password, from yet another address
    body = refused.json()
    assert refused.status_code == 429 and set(body) == {"message", "extra"}
    assert "Too many failed log-in attempts" in body["message"]
    assert 290 <= body["extra"]["wait"] <= 301 and int(refused["Retry-After"]) == body["extra"]["wait"]
    assert token("ALICE", "wrong").status_code == 429  # the same account, whatever the case
    assert token("bob", PASSWORD, remote="10.0.0.1").status_code == 200  # other accounts are not locked


def test_token_log_ins_are_refused_after_too_many_failures_from_an_address(users, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 5
    assert [token(f"nobody{i}", "guess").status_code for i in range(5)] == [400] * 5  # spraying many accounts
    assert token("alice", PASSWORD).status_code == 429
    assert token("alice", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.9").status_code == 429  # no way around it
    assert token("alice", PASSWORD, remote="127.0.0.9").status_code == 200  # another client is not refused


def test_the_window_ends_and_a_success_clears_the_account(users, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT, settings.LOGIN_FAILURES_WINDOW_SECONDS = 3, 1
    assert [token("alice", "wrong").status_code for _ in range(4)] == [400, 400, 400, 429]
    time.sleep(1.5)  # the scenario: the 1 s window ends
    assert [token("alice", "wrong").status_code for _ in range(2)] == [400, 400]
    assert token("alice", PASSWORD).status_code == 200  # clears alice's two failures
    assert [token("alice", "wrong").status_code for _ in range(4)] == [400, 400, 400, 429]


def test_a_dead_cache_lets_log_ins_through(users, settings, caplog):
    """Counting needs the cache; when it fails (Redis down) logging in still works, uncounted, rather than 500."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": f"redis://127.0.0.1:{port}"}
    settings.CACHES = {"default": dead, settings.LIMITS_CACHE: dead}  # the limits count in LIMITS_CACHE
    request = RequestFactory().post("/api/auth/token/", REMOTE_ADDR="127.0.0.1")
    assert login_authenticate(request=request, username="alice", password=PASSWORD) == users["user"]
    assert login_authenticate(request=request, username="alice", password="wrong") is None
    assert "log-in limits unavailable (cache error)" in caplog.text  # the cache really failed (and was logged)


def test_the_schema_documents_the_429(clients):
    schema = clients["anonymous"].get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "429" in schema["paths"]["/api/auth/token/"]["post"]["responses"]
