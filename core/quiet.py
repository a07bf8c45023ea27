"""Quiet start and stop: library noise silenced where it comes from, one message at a time.

Each filter names the message, the category and the module that issues it, so every other warning, and every
error, still shows. The Paddle signal handlers are the other half: Paddle's SIGTERM handler turns a graceful stop
into "FatalError: Termination signal" and a C++ traceback.
"""

import faulthandler
import signal
import sys
import warnings

from celery.exceptions import SecurityWarning


def library_warnings_silence() -> None:
    """Install the filters; recsite/__init__.py calls this before any of these libraries is imported."""
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
