"""Development defaults for one machine (the embedded mode of `make run`): the base settings plus DEBUG on unless
DEBUG says otherwise, a development secret key and the loopback host names, each still overridable by the
environment. Never for a public server: that is ``production``."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="django-insecure-embedded-mode-only-not-for-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
