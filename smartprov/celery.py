"""The Celery application, wired the conventional way (configuration from Django settings)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartprov.settings.local")

app = Celery("smartprov")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
