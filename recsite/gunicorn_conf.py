"""gunicorn settings serve_all passes with ``--config python:recsite.gunicorn_conf`` (command-line flags win)."""


def post_worker_init(worker) -> None:
    """Load the live model and its movie vectors before the worker's first request, not during it, then freeze
    the objects that live as long as the worker out of the garbage collector's way.

    Paddle loads here (if the app did not load it already), after gunicorn set the worker's signal handlers: take
    SIGTERM back from Paddle so that a graceful stop stays graceful and silent (recsite/quiet.py).
    """
    import gc

    from recommender.serving import warm_up
    from recsite.quiet import paddle_signal_handlers_remove

    paddle_signal_handlers_remove()
    warm_up()
    # Django, Paddle and the loaded model are ~270k long-lived objects: without this every full collection walks
    # them all, a pause of up to ~100 ms inside some request. Freezing what exists now leaves the collector only the
    # objects requests create. bench_load, 4 clients, medians of 3 runs: the API's p99 142 -> 38 ms (typical user)
    # and 85 -> 40 ms (heavy user).
    gc.collect()
    gc.freeze()
