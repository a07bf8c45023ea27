"""Per-process bookkeeping for Milvus URIs: one lock per URI, and the embedded Lite server's lifetime."""

from __future__ import annotations

import os
import threading


class LiteRegistry:
    """Class-level state for Milvus Lite paths: one lock and one embedded server per path, whatever the store."""

    _guard = threading.Lock()
    _locks: dict[str, threading.RLock] = {}
    _open: dict[str, int] = {}

    @classmethod
    def lock_for(cls, uri: str) -> threading.RLock:
        """The same RLock for every store on this Lite path: the embedded server runs in this process and its
        engine is single-writer per collection (milvus_lite/adapter/grpc/server.py). Server URIs take no lock."""
        with cls._guard:
            return cls._locks.setdefault(uri, threading.RLock())

    @classmethod
    def acquire(cls, path: str) -> None:
        with cls._guard:
            cls._open[path] = cls._open.get(path, 0) + 1

    @classmethod
    def release(cls, path: str) -> None:
        """Stop the embedded server when the last store on the path closes, which frees the data-dir lock."""
        with cls._guard:
            remaining = cls._open.get(path, 0) - 1
            if remaining > 0:
                cls._open[path] = remaining
                return
            cls._open.pop(path, None)
        try:
            from milvus_lite.server_manager import server_manager_instance
        except ImportError:
            return
        server_manager_instance.release_server(path)


def lite_dir_locked(path: str) -> bool:
    """Whether another process holds the advisory flock milvus_lite takes on <data dir>/LOCK."""
    try:
        import fcntl
    except ImportError:  # not Unix: cannot tell
        return False
    try:
        with open(os.path.join(path, "LOCK"), "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(handle, fcntl.LOCK_UN)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


def client_error_message(exc: BaseException, uri: str) -> str:
    """A message that says what went wrong, naming the known Lite traps instead of a bare gRPC status."""
    # milvus_lite logs DataDirLockedError and pymilvus re-raises a bare "Open local milvus failed": probe the lock
    if "Open local milvus failed" in str(exc) and lite_dir_locked(uri):
        return (
            f"another process holds the Milvus Lite data directory {uri}; only one process may open it. "
            "Run `milvus-lite server --data-dir <dir> --port 19530` and point MILVUS_URI at "
            "http://127.0.0.1:19530 to share one store between processes"
        )
    code, details = getattr(exc, "code", None), getattr(exc, "details", None)
    if callable(code) and callable(details):  # a bare grpc.RpcError: its status, not its multi-line repr
        return f"{type(exc).__name__}: {getattr(code(), 'name', code())} {details() or ''}".rstrip()
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {message}"
