"""Impressions and attribution on a real database (recommender/impressions): what is written, what is attributed
to which impression, the retention cleanup, the deferred writer, and that a failed write fails nothing."""

import logging
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from movies.models import HiddenMovie
from recommender.impressions import services
from recommender.impressions.models import Impression, ImpressionClick, ImpressionItem, Surface
from recommender.impressions.selectors import online_figures, version_impressions
from recommender.impressions.services import impression_record, impressions_cleanup, impressions_record
from recommender.services.recommendations import Recommendations, RecommendedItem
from tests.factories import ModelVersionFactory, RatingFactory, UserFactory, movies_create
from tests.support import wait_until


@pytest.fixture
def movies(db):
    return movies_create(10)


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


def recs(movies, version=None) -> Recommendations:
    return Recommendations(items=[RecommendedItem(movie=m, score=1.0) for m in movies], model_version=version)


def shown(user, movies, *, version=None, days_ago=0.0, surface=Surface.API_RECOMMENDATIONS):
    """Record a list as shown ``days_ago`` days ago (the rows' times moved back after the write)."""
    impression_id = impression_record(user=user, surface=surface, recs=recs(movies, version))
    at = timezone.now() - timedelta(days=days_ago)
    Impression.objects.filter(pk=impression_id).update(created_at=at)
    ImpressionItem.objects.filter(impression_id=impression_id).update(shown_at=at)
    return Impression.objects.get(pk=impression_id)


def test_a_list_is_one_impression_with_its_movies_in_order(alice, movies):
    v3 = ModelVersionFactory(number=3)
    result = recs([movies[4], movies[1], movies[7]], version=3)
    impression_id = impression_record(user=alice, surface=Surface.API_RANK, recs=result)
    impression = Impression.objects.get()
    assert impression.pk == impression_id == result.impression_id
    assert (impression.user, impression.surface, impression.model_version) == (alice, "api_rank", v3)
    items = list(impression.items.values_list("movie_id", "position", "user_id"))
    assert items == [(5, 0, alice.pk), (2, 1, alice.pk), (8, 2, alice.pk)]


def test_anonymous_users_and_empty_lists_record_nothing(alice, movies):
    from django.contrib.auth.models import AnonymousUser

    empty, anonymous = recs([]), recs(movies[:3])
    ids = impressions_record(user=alice, shown=[(Surface.SITE_HOME, empty), (Surface.SITE_HOME_GENRE, recs(movies))])
    assert ids[0] is None and ids[1] is not None and empty.impression_id is None
    assert impression_record(user=AnonymousUser(), surface=Surface.API_SIMILAR, recs=anonymous) is None
    assert Impression.objects.count() == 1


def test_a_page_with_several_rows_writes_them_in_one_transaction(alice, movies, django_assert_max_num_queries):
    ModelVersionFactory(number=1)
    rows = [(Surface.SITE_HOME, recs(movies[:4], 1))] + [(Surface.SITE_HOME_GENRE, recs(movies[i:i + 2], 1))
                                                         for i in (4, 6, 8)]  # fmt: skip
    with django_assert_max_num_queries(5):  # version lookup, savepoint, two bulk inserts, release
        impressions_record(user=alice, shown=rows)
    assert Impression.objects.count() == 4 and ImpressionItem.objects.count() == 10


def test_a_failed_write_records_nothing_logs_once_and_fails_nothing(alice, movies, monkeypatch, caplog):
    # the database refuses the items' insert (no such table): a real error from the real database
    monkeypatch.setattr(ImpressionItem._meta, "db_table", "impression_items_gone")
    services.write_log.state = None
    with caplog.at_level(logging.WARNING, logger="recommender.impressions.services"):
        first = impression_record(user=alice, surface=Surface.API_RECOMMENDATIONS, recs=recs(movies[:2]))
        second = impression_record(user=alice, surface=Surface.API_RECOMMENDATIONS, recs=recs(movies[:2]))
    assert first is None and second is None
    assert Impression.objects.count() == 0  # the savepoint took the impression row back too
    assert len([r for r in caplog.records if "not recorded" in r.getMessage()]) == 1
    assert list(HiddenMovie.objects.all()) == []  # the surrounding transaction still works
    services.write_log.state = None


def test_a_rating_is_attributed_to_the_latest_impression_that_showed_the_movie(alice, movies):
    v1, v2 = ModelVersionFactory(number=1), ModelVersionFactory(number=2)
    shown(alice, movies[:3], version=1, days_ago=3)
    shown(alice, movies[1:4], version=2, days_ago=1)  # shows movie 2 again, later: it wins for movie 2
    RatingFactory(user=alice, movie=movies[0])  # movie 1: only v1 showed it
    RatingFactory(user=alice, movie=movies[1])  # movie 2: v2's showing is the latest
    RatingFactory(user=alice, movie=movies[3], days_ago=2)  # movie 4: rated before v2 showed it: nobody's
    one, two = online_figures(version_impressions(v1)), online_figures(version_impressions(v2))
    assert (one["rated_after_shown"], two["rated_after_shown"]) == (1, 1)
    assert one["impressions"] == two["impressions"] == 1 and one["users"] == 1


def test_events_outside_the_window_are_not_attributed(alice, movies, settings):
    settings.ATTRIBUTION_WINDOW_DAYS = 7
    v1 = ModelVersionFactory(number=1)
    old = shown(alice, movies[:3], version=1, days_ago=10)
    RatingFactory(user=alice, movie=movies[0])  # 10 days after: too late
    HiddenMovie.objects.create(user=alice, movie=movies[1], created_at=timezone.now() - timedelta(days=4))  # 6 d
    ImpressionClick.objects.create(impression=old, movie_id=3, clicked_at=timezone.now())  # 10 days: too late
    figures = online_figures(version_impressions(v1))
    assert (figures["rated_after_shown"], figures["hidden_after_shown"], figures["clicks"]) == (0, 1, 0)
    settings.ATTRIBUTION_WINDOW_DAYS = 11
    figures = online_figures(version_impressions(v1))
    assert (figures["rated_after_shown"], figures["hidden_after_shown"], figures["clicks"]) == (1, 1, 1)


def test_other_users_ratings_are_never_attributed(alice, movies):
    v1, bob = ModelVersionFactory(number=1), UserFactory(username="bob")
    shown(alice, movies[:3], version=1, days_ago=1)
    RatingFactory(user=bob, movie=movies[0])
    assert online_figures(version_impressions(v1))["rated_after_shown"] == 0


def test_online_rates_are_per_user_with_a_wilson_interval(movies):
    v1 = ModelVersionFactory(number=1)
    users = [UserFactory() for _ in range(4)]
    for user in users:
        shown(user, movies[:3], version=1, days_ago=1)
        shown(user, movies[3:6], version=1, days_ago=1, surface=Surface.SITE_HOME)
    RatingFactory(user=users[0], movie=movies[0])
    RatingFactory(user=users[0], movie=movies[4])  # the same user twice: one success
    figures = online_figures(version_impressions(v1), by_surface=True)
    assert (figures["impressions"], figures["users"], figures["rated_after_shown"]) == (8, 4, 2)
    rated = figures["rates"]["rated"]
    assert (rated["successes"], rated["trials"], rated["rate"]) == (1, 4, 0.25)
    assert rated["ci95"][0] == pytest.approx(0.0456, abs=1e-3) and rated["ci95"][1] == pytest.approx(0.6994, abs=1e-3)
    surfaces = figures["surfaces"]
    assert set(surfaces) == {"api_recommendations", "site_home"}
    assert surfaces["site_home"]["rated_after_shown"] == surfaces["api_recommendations"]["rated_after_shown"] == 1


def test_cleanup_deletes_impressions_past_retention_with_their_items_and_clicks(alice, movies, settings):
    settings.IMPRESSION_RETENTION_DAYS = 90
    old, recent = shown(alice, movies[:3], days_ago=91), shown(alice, movies[3:5], days_ago=89)
    ImpressionClick.objects.create(impression=old, movie_id=1)
    assert impressions_cleanup() == 1
    assert list(Impression.objects.all()) == [recent]
    assert ImpressionItem.objects.count() == 2 and ImpressionClick.objects.count() == 0


def test_the_periodic_cleanup_is_scheduled(db):
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.filter(name="Impression retention").first()
    if task is None:  # a transactional test before this one emptied the table: the migration's function again
        from importlib import import_module

        from django.apps import apps

        import_module("recommender.migrations.0003_impressions").retention_schedule_create(apps, None)
        task = PeriodicTask.objects.get(name="Impression retention")
    assert task.task == "recommender.impressions.tasks.impressions_cleanup_task" and task.enabled


@pytest.mark.django_db(transaction=True)
def test_the_deferred_writer_flushes_from_its_thread(settings):
    """IMPRESSIONS_WRITE = "deferred": the answer has its id at once; the daemon thread writes it shortly after."""
    settings.IMPRESSIONS_WRITE, settings.IMPRESSIONS_FLUSH_SECONDS = "deferred", 0.05
    user, films = UserFactory(username="deferred"), movies_create(3)
    impression_id = impression_record(user=user, surface=Surface.API_RECOMMENDATIONS, recs=recs(films))
    assert impression_id is not None
    wait_until(lambda: Impression.objects.filter(pk=impression_id).exists(), 10, "the deferred write", interval=0.05)
    assert list(ImpressionItem.objects.filter(impression_id=impression_id).values_list("movie_id", flat=True)) == [
        1, 2, 3,
    ]  # fmt: skip
    settings.IMPRESSIONS_WRITE = "inline"
    services.buffer.flush()
    connection.close()


def test_auto_defers_in_a_web_server_process_only(settings, monkeypatch):
    import sys

    settings.IMPRESSIONS_WRITE = "auto"
    monkeypatch.delitem(sys.modules, "recsite.wsgi", raising=False)
    monkeypatch.delitem(sys.modules, "recsite.asgi", raising=False)
    assert not services.deferred()  # tests, shells, commands: written at once
    monkeypatch.setitem(sys.modules, "recsite.wsgi", object())  # gunicorn / runserver loaded the WSGI entry point
    assert services.deferred()
    settings.IMPRESSIONS_WRITE = "inline"
    assert not services.deferred()


def test_off_records_nothing_and_gives_no_ids(settings, alice, movies):
    settings.IMPRESSIONS_WRITE = "off"
    shown_list = recs(movies[:3], version=None)
    assert impressions_record(user=alice, shown=[(Surface.SITE_HOME, shown_list)]) == [None]
    assert shown_list.impression_id is None and Impression.objects.count() == 0
