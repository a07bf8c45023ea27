"""
WSGI config for recsite project.

It exposes the WSGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/wsgi/
"""

from django.core.wsgi import get_wsgi_application

from recsite.envfile import web_process_environment

web_process_environment()  # .env, the settings module, BLAS threads: before Django loads the apps

application = get_wsgi_application()
