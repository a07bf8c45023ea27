"""Root URLs: the site (movies), accounts, admin and the REST API; errors Django answers itself are JSON under
/api/ (recommender.api.exceptions)."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("recommender.api.urls")),
    path("", include("movies.urls")),
]

handler400 = "recommender.api.exceptions.bad_request"
handler500 = "recommender.api.exceptions.server_error"
