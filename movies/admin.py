"""Admin for the catalogue: movies (with their ratings one click away), genres, profiles, ratings, hidden movies,
users."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from .models import Genre, HiddenMovie, Movie, Profile, Rating, score_text
from .movielens import SCORE_MAX
from .services import feed_changed

User = get_user_model()
RECENT_RATINGS_SHOWN = 10


class DecadeListFilter(admin.SimpleListFilter):
    """Release year by decade (a plain year filter would list ~80 values)."""

    title = "release decade"
    parameter_name = "decade"

    def lookups(self, request, model_admin):
        years = Movie.objects.exclude(year=None).values_list("year", flat=True).distinct()
        decades = sorted({y // 10 * 10 for y in years}, reverse=True)
        return [(str(d), f"{d}s") for d in decades]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            start = int(self.value())
            prefix = "" if queryset.model is Movie else "movie__"
            return queryset.filter(**{f"{prefix}year__gte": start, f"{prefix}year__lt": start + 10})
        return queryset


def ratings_changelist_url(**params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{reverse('admin:movies_rating_changelist')}?{query}"


@admin.register(Genre)
class GenreAdmin(admin.ModelAdmin):
    list_display = ["name", "movie_count"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_movies=Count("movies"))

    @admin.display(description="movies", ordering="n_movies")
    def movie_count(self, obj):
        url = reverse("admin:movies_movie_changelist") + f"?genres__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, obj.n_movies)


@admin.register(Movie)
class MovieAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "year", "genre_list", "rating_count", "average", "ratings_link"]
    list_display_links = ["id", "title"]
    search_fields = ["title", "=id"]
    list_filter = ["genres", DecadeListFilter]  # ?year=1995 works too (a list of ~80 years would be noise)
    filter_horizontal = ["genres"]
    readonly_fields = ["rating_count", "rating_total", "average", "ratings_link", "recent_ratings"]
    fields = ["id", "title", "year", "genres", "rating_count", "average", "ratings_link", "recent_ratings"]
    list_per_page = 50

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("genres")

    @admin.display(description="genres")
    def genre_list(self, obj):
        return ", ".join(g.name for g in obj.genres.all())

    @admin.display(description="average", ordering="rating_total")
    def average(self, obj):
        return f"{obj.average_rating:.2f}" if obj.average_rating is not None else "-"

    @admin.display(description="ratings")
    def ratings_link(self, obj):
        if not obj.pk:
            return "-"
        return format_html(
            '<a href="{}">{} ratings</a>', ratings_changelist_url(movie__id__exact=obj.pk), obj.rating_count
        )

    @admin.display(description=f"latest {RECENT_RATINGS_SHOWN} ratings")
    def recent_ratings(self, obj):
        # A movie can have thousands of ratings: show a few here, the rest in the filtered rating list.
        rows = obj.ratings.select_related("user").order_by("-rated_at")[:RECENT_RATINGS_SHOWN] if obj.pk else []
        top = score_text(SCORE_MAX)
        shown = ((r.user.get_username(), score_text(r.score), top, f"{r.rated_at:%Y-%m-%d}") for r in rows)
        items = format_html_join("", "<li>{} — {}/{} ({})</li>", shown)
        return format_html("<ul>{}</ul>", items) if rows else "-"


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "movielens_id", "gender", "age", "occupation", "zip_code"]
    list_select_related = ["user"]
    search_fields = ["user__username", "=movielens_id", "zip_code"]
    list_filter = ["gender", "age", "occupation"]
    raw_id_fields = ["user"]


class FeedChangedOnEditMixin:
    """Edits made here change what the users' suggestions read: mark those users' suggestions stale."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        feed_changed(user_ids=[obj.user_id])

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        feed_changed(user_ids=[obj.user_id])

    def delete_queryset(self, request, queryset):
        user_ids = set(queryset.values_list("user_id", flat=True))
        super().delete_queryset(request, queryset)
        feed_changed(user_ids=user_ids)


@admin.register(Rating)
class RatingAdmin(FeedChangedOnEditMixin, admin.ModelAdmin):
    list_display = ["movie", "user", "score", "rated_at"]
    list_select_related = ["movie", "user"]
    search_fields = ["movie__title", "user__username", "=user__profile__movielens_id"]
    list_filter = [
        "score",
        "movie__genres",  # not RelatedOnly: that scans every rating to find the genres in use
        DecadeListFilter,
        "user__profile__gender",
        "user__profile__age",
        "user__profile__occupation",
    ]
    autocomplete_fields = ["movie", "user"]
    ordering = ["-id"]  # newest first by primary key: no sort of a million rows by rated_at
    show_full_result_count = False  # a second COUNT(*) over a million rows per page is not worth it
    list_per_page = 50


@admin.register(HiddenMovie)
class HiddenMovieAdmin(FeedChangedOnEditMixin, admin.ModelAdmin):
    """Who is not interested in what (support questions: "why is this movie never suggested to me?")."""

    list_display = ["movie", "user", "created_at"]
    list_select_related = ["movie", "user"]
    search_fields = ["movie__title", "user__username"]
    autocomplete_fields = ["movie", "user"]
    ordering = ["-id"]
    list_per_page = 50


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    extra = 0
    max_num = 1
    fields = ["movielens_id", "gender", "age", "occupation", "zip_code"]


if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class RecsiteUserAdmin(UserAdmin):
    """Django's user admin with the MovieLens profile inline and searchable by MovieLens id."""

    inlines = [ProfileInline]
    search_fields = [*UserAdmin.search_fields, "=profile__movielens_id"]
    list_filter = [*UserAdmin.list_filter, "profile__gender", "profile__age", "profile__occupation"]
    list_display = [*UserAdmin.list_display, "movielens_id"]
    list_select_related = ["profile"]

    @admin.display(description="MovieLens id", ordering="profile__movielens_id")
    def movielens_id(self, obj):
        profile = getattr(obj, "profile", None)
        return profile.movielens_id if profile else None
