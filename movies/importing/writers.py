"""Write genres, users with their profiles, and movies: create what is new, update only what changed."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from movies.models import Genre, Movie, Profile, title_search_key

from .dataset import MovieLensImportError, MovieRecord, UserRecord

PROFILE_FIELDS = ("gender", "age", "occupation", "zip_code")
DELETE_CHUNK = 500  # movie ids per DELETE ... IN (...), well under SQLite's variable limit


@dataclass
class Counts:
    created: int = 0
    updated: int = 0


def username_for(movielens_id: int) -> str:
    return f"ml{movielens_id}"


def genres_write(names: list[str]) -> tuple[dict[str, int], Counts]:
    """Ensure a Genre row per name; return name -> id."""
    existing = dict(Genre.objects.values_list("name", "id"))
    missing = [Genre(name=name) for name in names if name not in existing]
    Genre.objects.bulk_create(missing)
    return dict(Genre.objects.values_list("name", "id")), Counts(created=len(missing))


def users_write(users: dict[int, UserRecord]) -> Counts:
    """A Django user ``ml<id>`` (unusable password) and a Profile per MovieLens user."""
    profiles = {profile.movielens_id: profile for profile in Profile.objects.filter(movielens_id__isnull=False)}
    new_ids = [ml_id for ml_id in users if ml_id not in profiles]
    user_ids = _accounts_for(new_ids)
    Profile.objects.bulk_create(
        [Profile(user_id=user_ids[ml_id], movielens_id=ml_id, **_profile_values(users[ml_id])) for ml_id in new_ids]
    )
    changed = []
    for ml_id, profile in profiles.items():
        record = users.get(ml_id)
        if record is None or not _has_demographics(record):  # a layout without them (CSV) says nothing about them
            continue
        if _profile_values(record) != {name: getattr(profile, name) for name in PROFILE_FIELDS}:
            for name, value in _profile_values(record).items():
                setattr(profile, name, value)
            changed.append(profile)
    Profile.objects.bulk_update(changed, PROFILE_FIELDS)
    return Counts(created=len(new_ids), updated=len(changed))


def _has_demographics(record: UserRecord) -> bool:
    return any(value not in ("", None) for value in _profile_values(record).values())


def _profile_values(record: UserRecord) -> dict:
    return {"gender": record.gender, "age": record.age, "occupation": record.occupation, "zip_code": record.zip_code}


def _accounts_for(ml_ids: list[int]) -> dict[int, int]:
    """Django user id per MovieLens id: adopt a profile-less ``ml<id>`` account, else create one."""
    if not ml_ids:
        return {}
    User = get_user_model()
    wanted = {username_for(ml_id): ml_id for ml_id in ml_ids}
    found = {
        username: (pk, has_profile)
        for username, pk, has_profile in User.objects.filter(username__startswith="ml")
        .values_list("username", "pk", "profile__id")
        .iterator()
        if username in wanted
    }
    for username, (_, profile_id) in found.items():
        if profile_id is not None:
            raise MovieLensImportError(f"username {username} already belongs to another account; rename it and re-run")
    new_users = [User(username=name, password=make_password(None)) for name in wanted if name not in found]
    User.objects.bulk_create(new_users)
    ids = {wanted[username]: pk for username, (pk, _) in found.items()}
    ids.update({wanted[user.username]: user.pk for user in new_users})
    if len(ids) != len(ml_ids) or None in ids.values():  # backends without RETURNING: read the keys back
        ids = {wanted[name]: pk for name, pk in User.objects.filter(username__in=wanted).values_list("username", "pk")}
    return ids


def movies_write(movies: dict[int, MovieRecord], genre_ids: dict[str, int]) -> Counts:
    """Create new movies, update changed titles, years or search keys, replace genre links only where changed."""
    existing = {
        movie_id: (title, year, key)
        for movie_id, title, year, key in Movie.objects.values_list("id", "title", "year", "search_key")
    }
    Through = Movie.genres.through
    linked: dict[int, set[int]] = {}
    for movie_id, genre_id in Through.objects.values_list("movie_id", "genre_id"):
        linked.setdefault(movie_id, set()).add(genre_id)
    new, changed, relink = [], [], []
    for movie in movies.values():
        wanted_genres = {genre_ids[name] for name in movie.genres}
        key = title_search_key(movie.title)
        if movie.id not in existing:
            new.append(Movie(id=movie.id, title=movie.title, year=movie.year))  # bulk_create fills search_key
        elif existing[movie.id] != (movie.title, movie.year, key):
            changed.append(Movie(id=movie.id, title=movie.title, year=movie.year))
        if linked.get(movie.id, set()) != wanted_genres:
            relink.append((movie.id, wanted_genres))
    Movie.objects.bulk_create(new)
    Movie.objects.bulk_update(changed, ["title", "year"])  # with "title", bulk_update rewrites search_key too
    stale = [movie_id for movie_id, _ in relink if movie_id in linked]
    for start in range(0, len(stale), DELETE_CHUNK):
        Through.objects.filter(movie_id__in=stale[start : start + DELETE_CHUNK]).delete()
    Through.objects.bulk_create(
        [Through(movie_id=movie_id, genre_id=genre_id) for movie_id, genre_ids in relink for genre_id in genre_ids]
    )
    updated = {movie.id for movie in changed} | {movie_id for movie_id, _ in relink if movie_id in existing}
    return Counts(created=len(new), updated=len(updated))
