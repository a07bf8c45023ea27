"""
WSGI config for recsite project.

It exposes the WSGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/wsgi/
"""

import os

# Set before numpy loads OpenBLAS: a web process answers many small requests at once, and BLAS threads on small
# matrices (the user tower, "because you rated") cost more than they save: 40 -> 17 ms for a request that
# recomputes the user's suggestions, measured at load 5 on 2 cores. Training workers keep their threads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from django.core.wsgi import get_wsgi_application

from recsite.envfile import env_file_read

env_file_read()  # DJANGO_SETTINGS_MODULE may come from .env
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recsite.settings.base")

application = get_wsgi_application()
