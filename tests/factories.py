"""factory_boy factories for the rows tests build by hand (never real MovieLens files): genres, movies, users with
their profile, ratings, model versions as the training pipeline leaves them; plus token_client for the API.

tests/tiny.py keeps its own structured catalogue (users who prefer one genre), which a model can learn from.
"""

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from factory.django import DjangoModelFactory, Password

from movies.models import Genre, Movie, Profile, Rating
from recommender.models import ModelVersion

PASSWORD = "pw-for-tests-123"
GENRES = ["Action", "Comedy", "Drama", "Romance", "Sci-Fi"]


class GenreFactory(DjangoModelFactory):
    class Meta:
        model = Genre
        django_get_or_create = ("name",)

    name = factory.Iterator(GENRES)


class MovieFactory(DjangoModelFactory):
    """Movie ``id`` (pass it: tests name movies by id): "Film 07", 1987, popularity falling with the id, and two
    genres cycling with the id (``genres=[...]`` names others, ``genres=[]`` none)."""

    class Meta:
        model = Movie
        skip_postgeneration_save = True

    id = factory.Sequence(lambda n: n + 1)
    title = factory.LazyAttribute(lambda m: f"Film {m.id:02d}")
    year = factory.LazyAttribute(lambda m: 1980 + m.id)
    rating_count = factory.LazyAttribute(lambda m: 5000 - m.id * 10)
    rating_total = factory.LazyAttribute(lambda m: m.rating_count * (1 + m.id % 5))

    @factory.post_generation
    def genres(movie, create, extracted, **kwargs):
        if not create:
            return
        names = extracted if extracted is not None else [GENRES[movie.id % 5], GENRES[(movie.id + 2) % 5]]
        movie.genres.set([GenreFactory(name=name) for name in names])


def movies_create(n: int, start: int = 1, **fields) -> list[Movie]:
    """Movies start..start+n-1 with MovieFactory's defaults (popularity falls with the id)."""
    return [MovieFactory(id=i, **fields) for i in range(start, start + n)]


class ProfileFactory(DjangoModelFactory):
    class Meta:
        model = Profile

    user = factory.SubFactory("tests.factories.UserFactory", profile=None)


class UserFactory(DjangoModelFactory):
    """A user with PASSWORD and a profile; profile fields (movielens_id, gender, age, occupation) are arguments
    too; ``staff=True`` sets is_staff, ``service=True`` adds the API's service group."""

    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    class Params:
        staff = factory.Trait(is_staff=True)
        movielens_id = None
        gender = ""
        age = None
        occupation = None

    username = factory.Sequence(lambda n: f"user{n}")
    password = Password(PASSWORD)
    profile = factory.RelatedFactory(
        ProfileFactory,
        factory_related_name="user",
        movielens_id=factory.SelfAttribute("..movielens_id"),
        gender=factory.SelfAttribute("..gender"),
        age=factory.SelfAttribute("..age"),
        occupation=factory.SelfAttribute("..occupation"),
    )

    @factory.post_generation
    def service(user, create, extracted, **kwargs):
        if create and extracted:
            from api.permissions import SERVICE_GROUP

            user.groups.add(Group.objects.get_or_create(name=SERVICE_GROUP)[0])


class RatingFactory(DjangoModelFactory):
    """A rating ``days_ago`` days before now (0 unless given). It writes the row only: the movie's counters are
    the services' business (rating_upsert), as tests that need them use."""

    class Meta:
        model = Rating

    class Params:
        days_ago = 0

    user = factory.SubFactory(UserFactory)
    movie = factory.SubFactory(MovieFactory)
    score = 3
    rated_at = factory.LazyAttribute(lambda r: timezone.now() - timedelta(days=r.days_ago))


KS = (10, 20, 50)
BASELINES = {"MostPop": 0.45, "ItemKNN": 0.8, "EASE": 0.9, "ALS": 0.7}  # share of the model's quality


def metric_block(quality: float, users: int = 610) -> dict:
    """The keys evaluate_scores returns (without the _pos4 twins): recall/ndcg/hit/precision@k with _se, coverage,
    mean_pop; values grow with ``quality``."""
    out: dict = {"users": users}
    for k in KS:
        for i, name in enumerate(("recall", "ndcg", "hit", "precision")):
            out[f"{name}@{k}"] = round(quality * (0.1 + 0.05 * i) * (1 + k / 50), 6)
            out[f"{name}@{k}_se"] = 0.004
        out[f"coverage@{k}"] = round(0.2 + quality / 4, 6)
        out[f"mean_pop@{k}"] = round(250 - 100 * quality, 3)
    return out


def pipeline_metrics(quality: float, active: ModelVersion | None = None) -> dict:
    """metrics as _evaluate_stage writes them; ``active`` re-scored on the same split at 95% of its own quality."""
    metrics = {
        "model": metric_block(quality),
        "baselines": {name: metric_block(quality * share) for name, share in BASELINES.items()},
        "active": None,
        "active_note": "no active version",
        "split": {"train": 80000, "test": 20000, "users": 610},
        "best_epoch": 7,
    }
    if active is not None:
        own = active.metrics["model"]["ndcg@10"] / metric_block(1.0)["ndcg@10"]
        metrics["active"] = {"version": active.number, **metric_block(own * 0.95)}
        metrics["active_note"] = f"active v{active.number} re-scored on this split"
    return metrics


def training_curve(epochs: int) -> list[dict]:
    return [
        {"epoch": e, "epochs": 30, "loss": round(6.0 - 0.3 * e, 3), "val_ndcg@10": round(0.1 + 0.01 * e, 4)}
        for e in range(1, epochs + 1)
    ]


class ModelVersionFactory(DjangoModelFactory):
    """A complete version as the pipeline leaves it (metrics measured against the active version at the time,
    an 8-epoch curve, config, artifact, collection); ``quality`` scales its metrics. No files or vectors exist."""

    class Meta:
        model = ModelVersion

    class Params:
        quality = 1.0

    number = factory.Sequence(lambda n: n + 1)
    status = ModelVersion.Status.INACTIVE
    metrics = factory.LazyAttribute(lambda v: pipeline_metrics(v.quality, ModelVersion.objects.active().first()))
    curve = factory.LazyFunction(lambda: training_curve(8))
    config = factory.LazyFunction(
        lambda: {"epochs": 30, "batch_size": 32, "learning_rate": 0.002, "title_encoder": "mean", "refit": True}
    )
    artifact_path = factory.LazyAttribute(lambda v: f"/srv/recsite/models/v{v.number}/model")
    collection_name = factory.LazyAttribute(lambda v: f"movies_v{v.number}")
    gate_passed = True
    gate_reason = "NDCG@10 beats every baseline beyond noise"
    finished_at = factory.LazyAttribute(lambda v: timezone.now() - timedelta(days=10 - v.number))
    started_at = factory.LazyAttribute(lambda v: (v.finished_at or timezone.now()) - timedelta(minutes=12))


def token_client(user=None):
    """An APIClient sending ``user``'s token (created if missing); anonymous without a user."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client
