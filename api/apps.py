"""The REST API app (/api/): installed to name the API layer among the apps; it has no models."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    label = "api"
    verbose_name = "REST API"
