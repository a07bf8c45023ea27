"""Production settings: no insecure defaults; refuses to start without a strong SECRET_KEY and ALLOWED_HOSTS."""

from django.core.checks.security.base import SECRET_KEY_INSECURE_PREFIX, SECRET_KEY_MIN_LENGTH
from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

# Keys published with the project (.env.example, local.py's development default): never a production key.
SECRET_KEY_EXAMPLES = {
    "change-me-to-50-random-characters",
    "django-insecure-embedded-mode-only-not-for-production",
}
SECRET_KEY_MIN_DISTINCT = 10  # Django's check.W009 asks 5; a get_random_secret_key() key has about 32 of 50
SECRET_KEY_HOW = (
    'make one with: python -c "from django.core.management.utils import get_random_secret_key; '
    'print(get_random_secret_key())"'
)


def secret_key_problem(key: str) -> str | None:
    """Why ``key`` is not fit for production (Django's check.W009 criteria, stricter on distinct characters, and
    the published examples), or None."""
    if not key:
        return "SECRET_KEY must be set in production"
    if key in SECRET_KEY_EXAMPLES or key.startswith(SECRET_KEY_INSECURE_PREFIX) or "change-me" in key.lower():
        return "SECRET_KEY is a published example or development key, not a secret"
    if len(key) < SECRET_KEY_MIN_LENGTH:
        return f"SECRET_KEY is too short ({len(key)} characters, at least {SECRET_KEY_MIN_LENGTH})"
    if len(set(key)) < SECRET_KEY_MIN_DISTINCT:
        return f"SECRET_KEY has too few distinct characters ({len(set(key))}, at least {SECRET_KEY_MIN_DISTINCT})"
    return None


DEBUG = False
SECRET_KEY = env.str("SECRET_KEY", default="")
if problem := secret_key_problem(SECRET_KEY):  # the key's value is never part of the message
    raise ImproperlyConfigured(f"{problem}: a long random value; {SECRET_KEY_HOW}")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the site's host names in production.")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
