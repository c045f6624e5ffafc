"""WSGI entry point (gunicorn smartprov.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartprov.settings.production")
application = get_wsgi_application()
