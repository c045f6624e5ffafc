from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        # Register the tasks by name in every process, not only on workers: without a broker
        # the outbox dispatcher runs `reports.tasks.build_for_approved_assessment` eagerly,
        # looking it up in Celery's registry, where autodiscovery alone puts it too late.
        from . import tasks  # noqa: F401
