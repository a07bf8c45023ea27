"""Writes on the catalogue: ratings (rating_*), "not interested" (movie_hide, movie_unhide) and site profiles
(profile_*). Each write that changes what a user's suggestions read calls feed_changed in its transaction."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.exceptions import ApplicationError, NotFoundError

from .models import HiddenMovie, Movie, Profile, Rating
from .movielens import SCORE_MAX, SCORE_MIN, SCORE_STEP, SCORES
from .selectors import half_stars_forget

User = get_user_model()


def feed_changed(*, user_ids) -> None:
    """These users' suggestions must be recomputed on their next request: bump their profiles' feed_version (one
    UPDATE, inside the caller's transaction; users without a profile are never cached, see
    recommender.services.user_state)."""
    Profile.objects.filter(user_id__in=list(user_ids)).update(feed_version=F("feed_version") + 1)


SCORE_RULE = f"a number from {SCORE_MIN:g} to {SCORE_MAX:g} in steps of {SCORE_STEP:g} (half stars)"


def score_validate(score) -> float:
    """A score as stored: one of SCORES (0.5, 1, 1.5, ..., 5). Accepts 4, 4.0, 3.5 and "3.5"; refuses booleans,
    NaN, 3.25 and anything outside the range with a message naming the rule."""
    if isinstance(score, bool) or not isinstance(score, (int, float, str)):
        raise ApplicationError(f"score must be {SCORE_RULE}", {"field": "score"})
    try:
        value = float(score)
    except (TypeError, ValueError, OverflowError):
        raise ApplicationError(f"score must be {SCORE_RULE}", {"field": "score"}) from None
    if value not in SCORES:  # NaN and infinities are not members either
        raise ApplicationError(f"score {score} is not {SCORE_RULE}", {"field": "score"})
    return value


@transaction.atomic
def rating_upsert(*, user, movie_id: int, score) -> tuple[Rating, bool]:
    """Create or change the user's rating of a movie; keeps the movie's counters in step. Returns (rating, created).

    Safe under concurrent calls: one row per (user, movie), the last write wins, the counters stay exact.
    """
    value = score_validate(score)
    if not value.is_integer():  # the star widgets offer halves from the next page on
        transaction.on_commit(half_stars_forget)
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
    return rating, created


def _rating_set(*, user, movie_id: int, value: float) -> tuple[Rating, bool]:
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
        feed_changed(user_ids=[user.pk])
        return rating, True
    delta = value - rating.score
    rating.score, rating.rated_at = value, now
    rating.save(update_fields=["score", "rated_at"])
    Movie.objects.filter(pk=movie_id).update(rating_total=F("rating_total") + delta)
    feed_changed(user_ids=[user.pk])
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
    feed_changed(user_ids=[user.pk])
    return True


@transaction.atomic
def rating_restore(
    *, user, movie_id: int, score: float | None, rated_at: datetime | None, replacing: datetime | None
) -> bool:
    """Undo one rating change: put back the rating the user had before it (``score`` given at ``rated_at``), or
    remove the rating when there was none (``score`` None). Keeps the movie's counters in step.

    Only while the rating is still the one that change left, made at ``replacing`` (None: the change removed it):
    an undo never overwrites a later change. Returns whether it restored anything.
    """
    value = None if score is None else score_validate(score)
    if value is not None and rated_at is None:
        raise ApplicationError("a restored rating needs the time it was made", {"field": "rated_at"})
    rating = Rating.objects.select_for_update().filter(user=user, movie_id=movie_id).first()
    current = rating.rated_at if rating is not None else None
    if current != replacing:
        return False
    if value is None:
        rating.delete()
        Movie.objects.filter(pk=movie_id).update(
            rating_count=F("rating_count") - 1, rating_total=F("rating_total") - rating.score
        )
    elif rating is None:
        rating = Rating(user=user, movie_id=movie_id, score=value, rated_at=rated_at)
        rating.full_clean(validate_unique=False, validate_constraints=False)
        try:
            with transaction.atomic():  # a rating saved meanwhile by another request wins: nothing to undo
                rating.save(force_insert=True)
        except IntegrityError:
            return False
        Movie.objects.filter(pk=movie_id).update(
            rating_count=F("rating_count") + 1, rating_total=F("rating_total") + value
        )
    else:
        delta = value - rating.score
        rating.score, rating.rated_at = value, rated_at
        rating.save(update_fields=["score", "rated_at"])
        Movie.objects.filter(pk=movie_id).update(rating_total=F("rating_total") + delta)
    feed_changed(user_ids=[user.pk])
    return True


@transaction.atomic
def movie_hide(*, user, movie_id: int) -> tuple[HiddenMovie, bool]:
    """Mark a movie "not interested" for the user (their suggestions leave it out). Returns (row, created).

    Idempotent and safe under concurrent calls: hiding a hidden movie returns the existing row.
    """
    if not Movie.objects.filter(pk=movie_id).exists():
        raise ApplicationError(f"movie {movie_id} does not exist", {"field": "movie_id"})
    hidden = HiddenMovie.objects.filter(user=user, movie_id=movie_id).first()
    if hidden is not None:
        return hidden, False
    hidden = HiddenMovie(user=user, movie_id=movie_id, created_at=timezone.now())
    hidden.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():  # a savepoint: a refused insert undoes only itself
            hidden.save(force_insert=True)
    except IntegrityError:
        # The same hide arrived twice at once and the other request inserted first (on PostgreSQL this insert
        # waited for it to commit): its row is the answer. Anything else (the movie deleted meanwhile) propagates.
        existing = HiddenMovie.objects.filter(user=user, movie_id=movie_id).first()
        if existing is None:
            raise
        return existing, False
    feed_changed(user_ids=[user.pk])
    return hidden, True


@transaction.atomic
def movie_unhide(*, user, movie_id: int) -> bool:
    """Show a hidden movie in the user's suggestions again; returns whether it was hidden (idempotent)."""
    deleted, _ = HiddenMovie.objects.filter(user=user, movie_id=movie_id).delete()
    if deleted:
        feed_changed(user_ids=[user.pk])
    return deleted > 0


@transaction.atomic
def profile_update(*, user, gender: str = "", age: int | None = None, occupation: int | None = None) -> Profile:
    """Set a site user's demographics (all optional); the user tower reads them on the next request."""
    profile, _ = Profile.objects.select_for_update().get_or_create(user=user)
    profile.gender, profile.age, profile.occupation = gender or "", age, occupation
    profile.full_clean()
    profile.save()
    return profile


@transaction.atomic
def user_signup(*, username: str, password: str, email: str = "") -> User:
    """Create a site user with an empty profile (no MovieLens id)."""
    user = User.objects.create_user(username=username, password=password, email=email)
    Profile.objects.create(user=user)
    return user
