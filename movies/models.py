"""Catalogue (Movie, Genre), MovieLens demographics (Profile), Rating and HiddenMovie ("not interested")."""

from django.conf import settings
from django.db import models
from django.db.models import F, FloatField, Q
from django.db.models.functions import Cast

from movies.movielens import AGE_BUCKETS, SCORES
from movies.titles import display_title, search_key

SEARCH_KEY_LENGTH = 255


def score_text(score) -> str:
    """A score as people read it: 4.0 -> "4", 3.5 -> "3.5"; empty for no score."""
    return "" if score in (None, "") else f"{float(score):g}"


def title_search_key(title: str) -> str:
    """The stored ``Movie.search_key`` for a title (cut to the column's length)."""
    return search_key(title)[:SEARCH_KEY_LENGTH]


class Genre(models.Model):
    name = models.CharField(max_length=40, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MovieQuerySet(models.QuerySet):
    def with_mean(self):
        """Annotate ``rating_mean`` from the denormalised counters (no join over ratings)."""
        return self.annotate(rating_mean=Cast(F("rating_total"), FloatField()) / Cast(F("rating_count"), FloatField()))

    # bulk_create/bulk_update skip Model.save(): fill search_key here so that no write path leaves it stale.
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for movie in objs:
            movie.search_key = title_search_key(movie.title)
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs = list(objs)
        if "title" in fields:
            for movie in objs:
                movie.search_key = title_search_key(movie.title)
            fields = [*fields, "search_key"] if "search_key" not in fields else fields
        return super().bulk_update(objs, fields, *args, **kwargs)


class Movie(models.Model):
    """A MovieLens movie; ``id`` is the MovieLens movie id."""

    id = models.IntegerField(primary_key=True)
    title = models.CharField(max_length=255)  # as MovieLens stores it: "Godfather, The (1972)"
    # What searches compare against: search_key(title), e.g. "godfather" (lower case, no accents, no leading
    # article). Stored and indexed so that exact and prefix matches use the index; set on every save.
    search_key = models.CharField(max_length=SEARCH_KEY_LENGTH, blank=True, default="", db_index=True, editable=False)
    year = models.PositiveSmallIntegerField(null=True, blank=True, db_index=True)
    genres = models.ManyToManyField(Genre, related_name="movies", blank=True)
    # Denormalised from Rating (kept in step by the importer and the rating services) so that
    # popularity sorts and list pages never aggregate a million rows.
    rating_count = models.PositiveIntegerField(default=0, db_index=True)
    rating_total = models.FloatField(default=0)  # sum of the scores (half stars add up exactly in a float)

    objects = MovieQuerySet.as_manager()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        self.search_key = title_search_key(self.title)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "title" in update_fields and "search_key" not in update_fields:
            kwargs["update_fields"] = [*update_fields, "search_key"]
        super().save(*args, **kwargs)

    @property
    def display_title(self) -> str:
        """The title as people write it: "The Godfather" for the stored "Godfather, The (1972)"."""
        return display_title(self.title)

    @property
    def average_rating(self) -> float | None:
        return self.rating_total / self.rating_count if self.rating_count else None


class Profile(models.Model):
    """MovieLens demographics for a Django user (site sign-ups have no MovieLens id)."""

    class Gender(models.TextChoices):
        FEMALE = "F", "Female"
        MALE = "M", "Male"

    AGE_CHOICES = list(AGE_BUCKETS.items())  # ML-1M's age buckets (movies/movielens.py)

    class Occupation(models.IntegerChoices):
        OTHER = 0, "other or not specified"
        EDUCATOR = 1, "academic/educator"
        ARTIST = 2, "artist"
        CLERICAL = 3, "clerical/admin"
        GRAD_STUDENT = 4, "college/grad student"
        CUSTOMER_SERVICE = 5, "customer service"
        HEALTHCARE = 6, "doctor/health care"
        EXECUTIVE = 7, "executive/managerial"
        FARMER = 8, "farmer"
        HOMEMAKER = 9, "homemaker"
        K12_STUDENT = 10, "K-12 student"
        LAWYER = 11, "lawyer"
        PROGRAMMER = 12, "programmer"
        RETIRED = 13, "retired"
        SALES = 14, "sales/marketing"
        SCIENTIST = 15, "scientist"
        SELF_EMPLOYED = 16, "self-employed"
        ENGINEER = 17, "technician/engineer"
        TRADESMAN = 18, "tradesman/craftsman"
        UNEMPLOYED = 19, "unemployed"
        WRITER = 20, "writer"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    movielens_id = models.PositiveIntegerField(unique=True, null=True, blank=True)
    gender = models.CharField(max_length=1, choices=Gender.choices, blank=True)
    age = models.PositiveSmallIntegerField(choices=AGE_CHOICES, null=True, blank=True)
    occupation = models.PositiveSmallIntegerField(choices=Occupation.choices, null=True, blank=True)
    zip_code = models.CharField(max_length=16, blank=True)
    # Bumped in the same transaction as every write that changes what the user's suggestions read (a rating, a
    # "not interested"): it keys the cached suggestion state, so the next request after a write recomputes it.
    feed_version = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        if self.movielens_id is not None:
            return f"MovieLens user {self.movielens_id}"
        return f"Profile of {self.user}"


class Rating(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ratings")
    movie = models.ForeignKey(Movie, on_delete=models.CASCADE, related_name="ratings")
    score = models.FloatField()  # one of SCORES: 0.5 to 5.0 in half stars
    rated_at = models.DateTimeField()

    class Meta:
        ordering = ["-rated_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "movie"], name="rating_one_per_user_movie"),
            models.CheckConstraint(condition=Q(score__in=SCORES), name="rating_score_half_stars"),
        ]
        indexes = [models.Index(fields=["user", "rated_at"], name="rating_user_time")]

    def __str__(self) -> str:
        return f"{self.user_id} rated {self.movie_id}: {self.score}"


class HiddenMovie(models.Model):
    """A movie the user said "not interested" in: left out of their suggestions until they show it again."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="hidden_movies")
    movie = models.ForeignKey(Movie, on_delete=models.CASCADE, related_name="hidden_by")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "id"]
        # the constraint's (user, movie) index also serves "the ids this user hid", read with every recommendation
        constraints = [models.UniqueConstraint(fields=["user", "movie"], name="hidden_one_per_user_movie")]
        indexes = [models.Index(fields=["user", "created_at"], name="hidden_user_time")]

    def __str__(self) -> str:
        return f"{self.user_id} hid {self.movie_id}"
