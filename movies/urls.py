"""Site URLs: home, browse, movie detail and rating, onboarding, the user's pages and sign-up."""

from django.urls import path

from .views import accounts, pages, ratings

urlpatterns = [
    path("", pages.home, name="home"),
    path("movies/", pages.movie_browse, name="movie_browse"),
    path("movies/<int:movie_id>/", pages.movie_detail, name="movie_detail"),
    path("movies/<int:movie_id>/rate/", ratings.movie_rate, name="movie_rate"),
    path("welcome/", pages.onboarding, name="onboarding"),
    path("me/ratings/", ratings.my_ratings, name="my_ratings"),
    path("me/profile/", accounts.profile, name="profile"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("training-status/", pages.training_status, name="training_status"),
]
