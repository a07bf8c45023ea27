"""
ASGI config for recsite project.

It exposes the ASGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/asgi/
"""

import os

from django.core.asgi import get_asgi_application

from recsite.envfile import env_file_read

env_file_read()  # DJANGO_SETTINGS_MODULE may come from .env
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recsite.settings.base")

application = get_asgi_application()
