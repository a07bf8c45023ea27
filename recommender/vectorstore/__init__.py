"""Milvus vector store for movie vectors: the VectorStore class and the per-process Django factory."""

from __future__ import annotations

import os
import threading

from .filters import ML1M_GENRES, build_filter
from .store import LiveCollectionError, VectorStore, VectorStoreError

__all__ = [
    "ML1M_GENRES",
    "LiveCollectionError",
    "VectorStore",
    "VectorStoreError",
    "build_filter",
    "get_vector_store",
    "request_deadline_set",
    "reset_vector_store",
]

_factory_lock = threading.Lock()
_instance: VectorStore | None = None
_instance_pid: int | None = None
_request_timeout: float | None = None  # set in a web server's process: the deadline of a request's Milvus calls


def get_vector_store() -> VectorStore:
    """The process's VectorStore built from settings (every MILVUS_* one is declared: a missing one is an error
    that names it); created once under a lock (concurrent first opens fail).

    A forked child (Celery prefork, gunicorn --preload) gets its own store: the parent's gRPC channel and
    Lite server do not survive a fork. The client itself connects lazily on first use.
    """
    global _instance, _instance_pid
    with _factory_lock:
        if _instance is None or _instance_pid != os.getpid():
            from django.conf import settings

            _instance = VectorStore(
                settings.MILVUS_URI,
                token=settings.MILVUS_TOKEN,
                alias=settings.MILVUS_ALIAS,
                prefix=settings.MILVUS_COLLECTION_PREFIX,
                timeout=settings.MILVUS_TIMEOUT,
                index_type=settings.MILVUS_INDEX_TYPE,
                breaker_failures=settings.MILVUS_BREAKER_FAILURES,
                breaker_seconds=settings.MILVUS_BREAKER_SECONDS,
                search_ef=settings.MILVUS_SEARCH_EF,
                request_timeout=_request_timeout,
            )
            _instance_pid = os.getpid()
        return _instance


def reset_vector_store() -> None:
    """Close and forget the cached store (tests, or after changing settings)."""
    global _instance, _instance_pid
    with _factory_lock:
        if _instance is not None and _instance_pid == os.getpid():
            _instance.close()
        _instance, _instance_pid = None, None


def request_deadline_set(seconds: float | None) -> None:
    """Give a request's Milvus calls (connect, live version, search, count) this deadline in this process, at most
    MILVUS_TIMEOUT; called by each web worker (recsite/gunicorn_conf.py) with MILVUS_WEB_TIMEOUT, so a hung Milvus
    costs a request about that once (then the breaker refuses at once). None: MILVUS_TIMEOUT again."""
    global _request_timeout
    _request_timeout = seconds
    reset_vector_store()  # the next get_vector_store() builds the store with it
