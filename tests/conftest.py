"""Shared fixtures: small hand-written MovieLens-shaped data (never real MovieLens files)."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def vector_store_closed_at_exit():
    """Close this process's Milvus Lite store while logging still works (its atexit hook logs to closed streams)."""
    yield
    from recommender.vectorstore import reset_vector_store

    reset_vector_store()
