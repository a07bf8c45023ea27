"""Writes on the catalogue: ratings (rating_*) and site profiles (profile_*)."""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from recsite.exceptions import ApplicationError, NotFoundError

from .models import Movie, Profile, Rating
from .signals import rating_changed

User = get_user_model()


def _score_validate(score) -> int:
    if isinstance(score, bool) or not isinstance(score, (int, str)):
        raise ApplicationError("score must be an integer from 1 to 5", {"field": "score"})
    try:
        value = int(score)
    except (TypeError, ValueError):
        raise ApplicationError("score must be an integer from 1 to 5", {"field": "score"}) from None
    if not 1 <= value <= 5:
        raise ApplicationError(f"score {value} is outside 1-5", {"field": "score"})
    return value


def _announce(user_id: int, movie_id: int) -> None:
    transaction.on_commit(lambda: rating_changed.send(sender=Rating, user_id=user_id, movie_id=movie_id))


@transaction.atomic
def rating_upsert(*, user, movie_id: int, score) -> tuple[Rating, bool]:
    """Create or change the user's rating of a movie; keeps the movie's counters in step. Returns (rating, created).

    Safe under concurrent calls: one row per (user, movie), the last write wins, the counters stay exact.
    """
    value = _score_validate(score)
    if not Movie.objects.filter(pk=movie_id).exists():
        raise NotFoundError(f"movie {movie_id} does not exist", {"field": "movie_id"})
    try:
        with transaction.atomic():  # a savepoint: a refused insert undoes only itself
            rating, created = _rating_set(user=user, movie_id=movie_id, value=value)
    except IntegrityError:
        # The same user's first rating of this movie arrived twice at once. On PostgreSQL the row lock below
        # has no row to lock yet, so both requests insert and the unique constraint refuses the later one once
        # the first commits; that row is visible now, so the retry updates it. (SQLite's IMMEDIATE transactions
        # serialise writers and never get here.) A second IntegrityError is not a race: it propagates.
        rating, created = _rating_set(user=user, movie_id=movie_id, value=value)
    _announce(user.pk, movie_id)
    return rating, created


def _rating_set(*, user, movie_id: int, value: int) -> tuple[Rating, bool]:
    rating = Rating.objects.select_for_update().filter(user=user, movie_id=movie_id).first()
    now = timezone.now()  # after the row lock: of two writes, the one that commits last has the later time
    if rating is None:
        rating = Rating(user=user, movie_id=movie_id, score=value, rated_at=now)
        # the database enforces one row per (user, movie): a racing insert raises IntegrityError (retried above),
        # where a uniqueness check in Python would answer a ValidationError (400) to one of two valid requests
        rating.full_clean(validate_unique=False, validate_constraints=False)
        rating.save(force_insert=True)
        Movie.objects.filter(pk=movie_id).update(
            rating_count=F("rating_count") + 1, rating_total=F("rating_total") + value
        )
        return rating, True
    delta = value - rating.score
    rating.score, rating.rated_at = value, now
    rating.save(update_fields=["score", "rated_at"])
    Movie.objects.filter(pk=movie_id).update(rating_total=F("rating_total") + delta)
    return rating, False


@transaction.atomic
def rating_delete(*, user, movie_id: int) -> bool:
    """Remove the user's rating of a movie if there is one; returns whether one was removed."""
    rating = Rating.objects.select_for_update().filter(user=user, movie_id=movie_id).first()
    if rating is None:
        return False
    rating.delete()
    Movie.objects.filter(pk=movie_id).update(
        rating_count=F("rating_count") - 1, rating_total=F("rating_total") - rating.score
    )
    _announce(user.pk, movie_id)
    return True


@transaction.atomic
def profile_update(*, user, gender: str = "", age: int | None = None, occupation: int | None = None) -> Profile:
    """Set a site user's demographics (all optional); the user tower reads them on the next request."""
    profile, _ = Profile.objects.select_for_update().get_or_create(user=user)
    profile.gender, profile.age, profile.occupation = gender or "", age, occupation
    profile.full_clean()
    profile.save()
    _announce(user.pk, 0)
    return profile


@transaction.atomic
def user_signup(*, username: str, password: str, email: str = "") -> User:
    """Create a site user with an empty profile (no MovieLens id)."""
    user = User.objects.create_user(username=username, password=password, email=email)
    Profile.objects.create(user=user)
    return user
