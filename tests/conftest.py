"""Shared fixtures: small hand-written MovieLens-shaped data (never real MovieLens files)."""

import pytest
from django.core.cache import cache


@pytest.fixture(scope="session", autouse=True)
def vector_store_closed_at_exit():
    """Close this process's Milvus Lite store while logging still works (its atexit hook logs to closed streams)."""
    yield
    from recommender.vectorstore import reset_vector_store

    reset_vector_store()


@pytest.fixture(autouse=True)
def clear_cache():
    """The recommendation service caches movie rows, serving a copy of the running experiment: never let one test's
    movies or experiment leak into the next."""
    from recommender.experiments.assignment import running

    cache.clear()
    running.reset()
    yield
    cache.clear()
    running.reset()


def pytest_collection_modifyitems(config, items):
    """A test over 10 s carries @pytest.mark.slow(reason="...") (or a module's pytestmark) saying what real process
    or training it waits for (tests/README.md): a `slow` without a reason fails the collection."""
    bare = sorted(
        {
            item.nodeid.split("::")[0]
            for item in items
            for mark in item.iter_markers("slow")
            if not str(mark.kwargs.get("reason", "")).strip()
        }
    )
    if bare:
        raise pytest.UsageError(
            'pytest.mark.slow needs reason="..." (what real process or training the test waits for), missing in:\n  '
            + "\n  ".join(bare)
        )
