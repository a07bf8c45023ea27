"""
ASGI config for recsite project.

It exposes the ASGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/asgi/
"""

from django.core.asgi import get_asgi_application

from recsite.envfile import web_process_environment

web_process_environment()  # .env, the settings module, BLAS threads: before Django loads the apps

application = get_asgi_application()
