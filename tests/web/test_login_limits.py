"""The site's and the admin's log-in forms share the token endpoint's failure limits (movies/logins.py): past
them the form says so, and the right password does not log in until the window ends."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-123"
BAD_LOGIN = "Please enter a correct username and password"
TOO_MANY = "Too many failed log-in attempts: try again in 5 minutes."


def log_in(client, username: str, password: str, url: str = "login", remote: str = "127.0.0.1"):
    return client.post(reverse(url), {"username": username, "password": password}, REMOTE_ADDR=remote)


def test_the_site_form_refuses_after_ten_failures_even_the_right_password(client, alice, movies):
    for i in range(10):
        response = log_in(client, "alice", f"wrong-{i}", remote=f"10.0.0.{i}")
        assert response.status_code == 200 and BAD_LOGIN in response.content.decode()
    response = log_in(client, "alice", PASSWORD)
    assert response.status_code == 200 and TOO_MANY in response.content.decode()
    assert response.context["form"].errors.as_data()["__all__"][0].code == "too_many_attempts"
    assert "_auth_user_id" not in client.session  # not logged in
    assert log_in(client, "bob-does-not-exist", "x").status_code == 200  # another account: an ordinary failure


def test_the_admin_form_and_the_token_endpoint_count_with_the_site(client, staff, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 6
    for _ in range(2):
        log_in(client, "staff", "wrong")
        log_in(client, "staff", "wrong", url="admin:login")
        assert APIClient().post("/api/auth/token/", {"username": "staff", "password": "wrong"}).status_code == 400
    response = log_in(client, "staff", PASSWORD, url="admin:login")
    assert response.status_code == 200 and "Too many failed log-in attempts" in response.content.decode()
    assert APIClient().post("/api/auth/token/", {"username": "staff", "password": PASSWORD}).status_code == 429


def test_a_good_log_in_under_the_limit_works(client, alice, movies):
    for _ in range(3):
        log_in(client, "alice", "wrong")
    response = log_in(client, "alice", PASSWORD)
    assert response.status_code == 302 and response.url == reverse("home")
