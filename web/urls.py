"""Site URLs: home, browse, movie detail, rating and "not interested", onboarding, the user's pages and sign-up.

Movie ids in paths are 1-9 digits (core/urls.py's <id:>, as in the API): Movie.id is a 32-bit integer, so a
longer number names no movie, and the path not matching is the site's 404 (with <int:> a 20-digit id reached the
database: an OverflowError on SQLite, a 500).
"""

from django.urls import path

import core.urls  # noqa: F401 - registers the <id:...> path converter

from .views import accounts, hidden, pages, ratings

urlpatterns = [
    path("", pages.home, name="home"),
    path("movies/", pages.movie_browse, name="movie_browse"),
    path("movies/<id:movie_id>/", pages.movie_detail, name="movie_detail"),
    path("movies/<id:movie_id>/rate/", ratings.movie_rate, name="movie_rate"),
    path("movies/<id:movie_id>/rate/undo/", ratings.movie_rate_undo, name="movie_rate_undo"),
    path("movies/<id:movie_id>/hide/", hidden.movie_hide_view, name="movie_hide"),
    path("movies/<id:movie_id>/unhide/", hidden.movie_unhide_view, name="movie_unhide"),
    path("welcome/", pages.onboarding, name="onboarding"),
    path("me/ratings/", ratings.my_ratings, name="my_ratings"),
    path("me/hidden/", hidden.hidden_movies, name="hidden_movies"),
    path("me/profile/", accounts.profile, name="profile"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("training-status/", pages.training_status, name="training_status"),
]
