"""Root URLs: the site (movies), accounts, admin and the REST API."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("recommender.api.urls")),
    path("", include("movies.urls")),
]
