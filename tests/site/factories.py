"""Builders of small hand-made catalogue data for the site and browser tests (never real MovieLens files)."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from movies.models import Genre, Movie, Profile, Rating

GENRES = ["Action", "Comedy", "Drama", "Romance", "Sci-Fi"]


def make_movies(n: int, start: int = 1) -> list[Movie]:
    """Movies start..start+n-1: popularity falls with the id, years 1980+, two genres each (cycling)."""
    genres = {name: Genre.objects.get_or_create(name=name)[0] for name in GENRES}
    movies = []
    for i in range(start, start + n):
        count = 5000 - i * 10
        movie = Movie.objects.create(
            id=i, title=f"Film {i:02d}", year=1980 + i, rating_count=count, rating_total=count * (1 + i % 5)
        )
        movie.genres.set([genres[GENRES[i % 5]], genres[GENRES[(i + 2) % 5]]])
        movies.append(movie)
    return movies


def make_user(username: str, **profile):
    user = get_user_model().objects.create_user(username=username, password="pw-for-tests-123")
    Profile.objects.create(user=user, **profile)
    return user


def rate(user, movie, score, days_ago=0) -> Rating:
    return Rating.objects.create(
        user=user, movie=movie, score=score, rated_at=timezone.now() - timedelta(days=days_ago)
    )
