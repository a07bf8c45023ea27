"""Site URLs: home, browse, movie detail, rating and "not interested", onboarding, the user's pages and sign-up."""

from django.urls import path

from .views import accounts, hidden, pages, ratings

urlpatterns = [
    path("", pages.home, name="home"),
    path("movies/", pages.movie_browse, name="movie_browse"),
    path("movies/<int:movie_id>/", pages.movie_detail, name="movie_detail"),
    path("movies/<int:movie_id>/rate/", ratings.movie_rate, name="movie_rate"),
    path("movies/<int:movie_id>/rate/undo/", ratings.movie_rate_undo, name="movie_rate_undo"),
    path("movies/<int:movie_id>/hide/", hidden.movie_hide_view, name="movie_hide"),
    path("movies/<int:movie_id>/unhide/", hidden.movie_unhide_view, name="movie_unhide"),
    path("welcome/", pages.onboarding, name="onboarding"),
    path("me/ratings/", ratings.my_ratings, name="my_ratings"),
    path("me/hidden/", hidden.hidden_movies, name="hidden_movies"),
    path("me/profile/", accounts.profile, name="profile"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("training-status/", pages.training_status, name="training_status"),
]
