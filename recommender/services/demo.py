"""Demo access for a fresh install: a MovieLens user with a rich history and a staff account, with new passwords."""

import secrets

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count

from movies.models import Profile

RICH_HISTORY = 200  # ratings: enough for clearly personal suggestions, few enough to read through


@transaction.atomic
def demo_accounts_reset() -> dict:
    """Give the MovieLens user whose history is closest to RICH_HISTORY ratings, and a staff user "admin", fresh
    random passwords. Returns {"user": (username, password, n_ratings) | None, "admin": (username, password)}."""
    User = get_user_model()
    profiles = (
        Profile.objects.exclude(movielens_id=None)
        .annotate(n=Count("user__ratings"))
        .filter(n__gte=20)
        .values_list("user_id", "n")
    )
    best = min(profiles, key=lambda row: (abs(row[1] - RICH_HISTORY), row[0]), default=None)
    result: dict = {"user": None}
    if best is not None:
        user = User.objects.get(pk=best[0])
        password = secrets.token_urlsafe(9)
        user.set_password(password)
        user.save(update_fields=["password"])
        result["user"] = (user.username, password, best[1])
    admin, _ = User.objects.get_or_create(username="admin", defaults={"is_staff": True, "is_superuser": True})
    admin_password = secrets.token_urlsafe(9)
    admin.is_staff = admin.is_superuser = True
    admin.set_password(admin_password)
    admin.save()
    result["admin"] = ("admin", admin_password)
    return result
