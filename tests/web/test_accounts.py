"""Sign-up leads to onboarding; Django's auth pages use the site's templates."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_signup_logs_in_and_goes_to_onboarding(client, movies):
    response = client.post(
        reverse("signup"),
        {"username": "newbie", "email": "", "password1": "a-long-Passphrase-9", "password2": "a-long-Passphrase-9"},
        follow=True,
    )
    assert response.redirect_chain[0][0] == reverse("onboarding")
    assert response.context["user"].username == "newbie"
    assert "0</strong> of 5 rated" in response.content.decode()
    user = get_user_model().objects.get(username="newbie")
    assert user.profile.movielens_id is None


@pytest.mark.parametrize(
    "data, error",
    [
        ({"username": "x", "password1": "a-long-Passphrase-9", "password2": "different-Pass-1"}, "password2"),
        ({"username": "x", "password1": "123", "password2": "123"}, "password2"),
        ({"username": "alice", "password1": "a-long-Passphrase-9", "password2": "a-long-Passphrase-9"}, "username"),
        ({"username": "", "password1": "", "password2": ""}, "username"),
    ],
)
def test_signup_errors_are_shown(client, alice, data, error):
    response = client.post(reverse("signup"), data)
    assert response.status_code == 200
    assert error in response.context["form"].errors
    assert 'role="alert"' in response.content.decode()


def test_signup_page_renders_and_redirects_logged_in_users(client, alice):
    assert "Create your account" in client.get(reverse("signup")).content.decode()
    client.force_login(alice)
    assert client.get(reverse("signup")).url == reverse("home")


def test_login_logout_and_password_change(client, alice, movies):
    assert 'name="username"' in client.get(reverse("login")).content.decode()
    response = client.post(reverse("login"), {"username": "alice", "password": "pw-for-tests-123"})
    assert response.status_code == 302 and response.url == reverse("home")
    assert "Change your password" in client.get(reverse("password_change")).content.decode()
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "pw-for-tests-123",
            "new_password1": "Another-long-pass-7",
            "new_password2": "Another-long-pass-7",
        },
        follow=True,
    )
    assert "Password changed" in response.content.decode()
    assert client.post(reverse("logout")).url == reverse("home")
    assert "Log in" in client.get("/").content.decode()
