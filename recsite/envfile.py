"""The optional ``.env`` file, copied into the environment before anything reads a variable.

Every entry point (manage.py, wsgi.py, asgi.py, the Celery app) and the settings call ``env_file_read()``
first, so each variable works the same from the environment and from the file, including the ones read
before the settings: DJANGO_SETTINGS_MODULE, CELERY_BROKER_POLLING_INTERVAL and RECSITE_VAR_DIR (every
default path derives from it). A variable set in the real environment wins over the file.

The file is ``.env`` in the project folder, or the one RECSITE_ENV_FILE names. Its syntax is python-dotenv's:
``KEY=value  # comment`` (as in ``.env.example``), quotes optional, no ``${VAR}`` expansion.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from dotenv import dotenv_values

PROJECT_DIR = Path(__file__).resolve().parent.parent


def env_file_path() -> Path:
    return Path(os.environ.get("RECSITE_ENV_FILE") or PROJECT_DIR / ".env")


def env_file_read() -> Path | None:
    """Set each variable of the file that the environment does not already have; the file read, or None.

    No ``.env`` is fine (every variable is optional); a RECSITE_ENV_FILE that names no file is an error.
    """
    path = env_file_path()
    if not path.exists():  # RECSITE_ENV_FILE=/dev/null reads nothing, as it should
        if os.environ.get("RECSITE_ENV_FILE"):
            raise ImproperlyConfigured(f"RECSITE_ENV_FILE names {path}, which does not exist")
        return None
    for name, value in dotenv_values(path, interpolate=False).items():
        if value is not None:  # a bare "NAME" line without "=" sets nothing
            os.environ.setdefault(name, value)
    return path


def web_process_environment() -> None:
    """What the web entry points (wsgi.py, asgi.py) set before Django loads: the ``.env`` file, the default
    settings module, and numpy's BLAS on one thread (before numpy loads it). A web process answers many small
    requests at once, and BLAS threads on small matrices (the user tower, "because you rated") cost more than they
    save: 40 -> 17 ms for a request that recomputes a user's suggestions, measured at load 5 on 2 cores. Training
    workers keep their threads. A variable already set wins."""
    env_file_read()  # DJANGO_SETTINGS_MODULE may come from .env
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recsite.settings.local")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
