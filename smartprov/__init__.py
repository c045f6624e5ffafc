"""SmartProv project package. Importing it makes the Celery app available to shared tasks."""

from .celery import app as celery_app

__all__ = ("celery_app",)
