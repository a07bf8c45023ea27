"""pymilvus must not read this project's MILVUS_URI: import it (and start milvus-lite) with that variable hidden.

pymilvus 3.0.2 reads MILVUS_URI (or the legacy MILVUS_DEFAULT_CONNECTION) from the environment when it is
imported (``pymilvus.settings.Config``), first loading a ``.env`` file it finds by itself (python-dotenv), and
builds a default connection from it: a local path such as ``/data/milvus.db``, which this project documents
for Milvus Lite, makes ``import pymilvus`` fail with "Illegal uri". This project never uses that default
connection: the URI comes from settings.MILVUS_URI and is handed to ``MilvusClient`` explicitly. So pymilvus
is imported once per process with the variables hidden and its own .env loading off (the settings have
read .env already), and the environment is restored at once, so child processes still inherit MILVUS_URI.
"""

import os
import threading
from collections.abc import Mapping

PYMILVUS_READS = ("MILVUS_URI", "MILVUS_DEFAULT_CONNECTION")
DOTENV_OFF = {"PYTHON_DOTENV_DISABLED": "1"}  # python-dotenv's switch: pymilvus calls load_dotenv() on import

_lock = threading.Lock()
_imported = False


def pymilvus_env(environ: Mapping[str, str]) -> dict[str, str]:
    """A copy of environ fit for a process that imports pymilvus itself (the ``milvus-lite server`` command)."""
    return {**{k: v for k, v in environ.items() if k not in PYMILVUS_READS}, **DOTENV_OFF}


def pymilvus_import() -> None:
    """Import pymilvus in this process without letting it see MILVUS_URI; call before any ``from pymilvus``."""
    global _imported
    if _imported:
        return
    with _lock:
        if _imported:
            return
        hidden = (*PYMILVUS_READS, *DOTENV_OFF)
        saved = {name: os.environ.get(name) for name in hidden}
        for name in PYMILVUS_READS:
            os.environ.pop(name, None)
        os.environ.update(DOTENV_OFF)
        try:
            import pymilvus  # noqa: F401
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        _imported = True
