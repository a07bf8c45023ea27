"""gunicorn settings serve_all passes with ``--config python:recsite.gunicorn_conf`` (command-line flags win)."""


def post_worker_init(worker) -> None:
    """Load the live model and its movie vectors before the worker's first request, not during it."""
    from recommender.serving import warm_up

    warm_up()
