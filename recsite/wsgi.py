"""
WSGI config for recsite project.

It exposes the WSGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/wsgi/
"""

import os

from django.core.wsgi import get_wsgi_application

from recsite.envfile import env_file_read

env_file_read()  # DJANGO_SETTINGS_MODULE may come from .env
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recsite.settings.base")

application = get_wsgi_application()
