"""Migration 0005 (half stars) keeps every stored rating and every movie's counters."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("movies", "0004_profile_feed_version")]
AFTER = [("movies", "0005_rating_half_stars")]
WHEN = datetime(2001, 1, 1, tzinfo=UTC)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def back_to_latest():
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())  # later tests need the whole schema


@pytest.mark.django_db(transaction=True)
def test_whole_star_ratings_survive_the_migration_unchanged(back_to_latest):
    apps = migrate(BEFORE)
    User, Movie, Rating = (
        apps.get_model(*name) for name in (("auth", "User"), ("movies", "Movie"), ("movies", "Rating"))
    )
    users = [User.objects.create(username=f"u{i}") for i in range(5)]
    movie = Movie.objects.create(id=7, title="Seven (1995)", rating_count=5, rating_total=15)
    for user, score in zip(users, [1, 2, 3, 4, 5], strict=True):
        Rating.objects.create(user=user, movie=movie, score=score, rated_at=WHEN)

    apps = migrate(AFTER)
    Movie, Rating = apps.get_model("movies", "Movie"), apps.get_model("movies", "Rating")
    assert sorted(Rating.objects.values_list("score", flat=True)) == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert Movie.objects.values_list("rating_count", "rating_total").get() == (5, 15.0)
    Rating.objects.filter(score=5).update(score=4.5)  # the new column holds halves
    assert sorted(Rating.objects.values_list("score", flat=True)) == [1.0, 2.0, 3.0, 4.0, 4.5]
