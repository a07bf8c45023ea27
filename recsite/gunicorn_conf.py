"""gunicorn settings serve_all passes with ``--config python:recsite.gunicorn_conf`` (command-line flags win)."""


def post_worker_init(worker) -> None:
    """Load the live model and its movie vectors before the worker's first request, not during it.

    Paddle loads here (if the app did not load it already), after gunicorn set the worker's signal handlers: take
    SIGTERM back from Paddle so that a graceful stop stays graceful and silent (recsite/quiet.py).
    """
    from recommender.serving import warm_up
    from recsite.quiet import paddle_signal_handlers_remove

    paddle_signal_handlers_remove()
    warm_up()
