"""Quiet start and stop: library noise silenced where it comes from, one message at a time.

Each filter names the message, the category and the module that issues it, so every other warning, and every
error, still shows. The Paddle signal handlers are the other half: Paddle's SIGTERM handler turns a graceful stop
into "FatalError: Termination signal" and a C++ traceback.
"""

import faulthandler
import logging
import os
import signal
import sys
import threading
import warnings

from celery.exceptions import SecurityWarning


def library_warnings_silence() -> None:
    """Install the filters; recsite/__init__.py calls this before any of these libraries is imported."""
    # gRPC's C core logs at INFO through absl unless told otherwise (grpcio 1.85 prints "Got goaway ..." on each
    # reconnect, a Milvus restart included); its errors still show. Every failed call reaches Python as an
    # RpcError anyway (a VectorStoreError, logged by the site). Set before grpc loads; GRPC_VERBOSITY=INFO or
    # DEBUG in the environment still wins, for debugging gRPC itself. Children (the Milvus server) inherit it.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    # Paddle looks for ccache at every import, for compiling C++ extensions, which this project never does.
    warnings.filterwarnings(
        "ignore", message="No ccache found", category=UserWarning, module=r"paddle\.utils\.cpp_extension\."
    )
    # implicit (the ALS baseline of the evaluation) checks the BLAS thread pool when a model is created.
    warnings.filterwarnings(
        "ignore", message="OpenBLAS is configured to use", category=RuntimeWarning, module=r"implicit\."
    )
    # Celery warns a worker running as root (containers, CI). Pickle is not accepted (CELERY_ACCEPT_CONTENT is
    # JSON), which is what makes root dangerous; Celery would refuse to start otherwise (SecurityError).
    warnings.filterwarnings(
        "ignore",
        message="You're running the worker with superuser privileges",
        category=SecurityWarning,
        module=r"celery\.platforms",
    )


def paddle_signal_handlers_remove() -> None:
    """Take back the signals Paddle claims when it loads (SIGTERM and the crash signals); main thread only.

    Paddle installs C-level handlers as its library loads; in a process that set its own SIGTERM handler first
    (a gunicorn worker) Paddle's replaces it, and a graceful stop prints "FatalError: Termination signal".
    ``paddle.disable_signal_handler()`` resets them to the default, the Python handlers set before Paddle loaded
    are put back, and faulthandler reports a real crash (SIGSEGV, SIGABRT, ...) with a Python traceback instead.
    """
    import paddle  # loads the library now, so that a later import installs nothing

    on_term = signal.getsignal(signal.SIGTERM)  # what Python set (Paddle's C handler may be in force instead)
    paddle.disable_signal_handler()  # SIGSEGV, SIGILL, SIGFPE, SIGABRT, SIGBUS and SIGTERM back to the default
    if on_term is not None:  # None: not set from Python; the default (exit) is the right thing then
        signal.signal(signal.SIGTERM, on_term)
    if sys.__stderr__ is not None:  # the real stderr: Celery replaces sys.stderr with a logging proxy
        faulthandler.disable()  # if it was on, Paddle had replaced its handlers: install them again
        faulthandler.enable(file=sys.__stderr__)


class ServerErrorsOnly(logging.Filter):
    """For django.request (settings.LOGGING): only 5xx answers reach the console. A 4xx is the client's business
    (a 404, a bad query parameter, a throttled client), answered by the site itself; Django would log a WARNING
    line for each one, which tells the person watching the console nothing to act on."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "status_code", 500) >= 500  # a record without a status (an exception): kept


class StateLatch:
    """A condition logged when it begins and when it ends, not each time it is met: the site serving popular
    movies while no model is live, which every page view meets. Per process, thread-safe; a new kind of state
    (another reason) is logged again, the same one is not."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger, self._lock, self.state = logger, threading.Lock(), None

    def enter(self, state: str, message: str, *args, level: int = logging.INFO) -> bool:
        """Log ``message`` if the condition was not ``state`` already; True when it logged."""
        if self.state == state:  # the per-request path: no lock
            return False
        with self._lock:
            if self.state == state:
                return False
            self.state = state
        self.logger.log(level, message, *args)
        return True

    def leave(self, message: str, *args, level: int = logging.INFO) -> bool:
        """Log ``message`` if the condition held; True when it logged."""
        if self.state is None:
            return False
        with self._lock:
            if self.state is None:
                return False
            self.state = None
        self.logger.log(level, message, *args)
        return True
