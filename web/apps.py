"""The web app: installed so Django finds its template tag library (site_tags); it has no models."""

from django.apps import AppConfig


class WebConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "web"
    verbose_name = "Website"
