"""gunicorn settings serve_all passes with ``--config python:recsite.gunicorn_conf`` (command-line flags win)."""

# Idle keep-alive connections stay open this long (gunicorn's default: 2 s). With 2 s, a client that reuses a
# connection after ~2 s idle (the admin's progress poll waits 2 s after each answer; a load client between bursts)
# races the server's close and sees a reset or "closed without response" (issue #24: 4 of 6,961 rating writes,
# 23 admin polls). Longer than the idle timeouts of browsers' polls and of a proxy's upstream pool (nginx: 60 s),
# so the client, not the server, closes an idle connection. Idle connections wait in the threaded worker's poller,
# not in a thread.
keepalive = 75


def post_worker_init(worker) -> None:
    """Load the live model and its movie vectors before the worker's first request, not during it, then freeze
    the objects that live as long as the worker out of the garbage collector's way.

    Paddle loads here (if the app did not load it already), after gunicorn set the worker's signal handlers: take
    SIGTERM back from Paddle so that a graceful stop stays graceful and silent (core/quiet.py).
    """
    import gc

    from django.conf import settings

    from core.quiet import paddle_signal_handlers_remove
    from recommender.serving import warm_up
    from recommender.vectorstore import request_deadline_set

    paddle_signal_handlers_remove()
    # a request's Milvus calls get a web request's deadline (MILVUS_WEB_TIMEOUT), not a worker's (issue #24)
    request_deadline_set(settings.MILVUS_WEB_TIMEOUT)
    warm_up()
    # Django, Paddle and the loaded model are ~270k long-lived objects: without this every full collection walks
    # them all, a pause of up to ~100 ms inside some request. Freezing what exists now leaves the collector only the
    # objects requests create. bench_load, 4 clients, medians of 3 runs: the API's p99 142 -> 38 ms (typical user)
    # and 85 -> 40 ms (heavy user).
    gc.collect()
    gc.freeze()
