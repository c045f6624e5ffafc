"""Celery tasks of the workflow: thin wrappers that take ids and call one service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation

from .models import Notification

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, max_retries=5, default_retry_delay=30)
def send_notification_emails(self, notification_ids: list[int]) -> int:
    """E-mail each notification once: rows already e-mailed are skipped (idempotent). A send
    that fails does not stop the others; the failed ones are retried with a delay."""
    sent, failed = 0, []
    for pk in notification_ids:
        try:
            sent += _email_one(pk)
        except Exception:  # SMTP errors of any kind: retry that one later
            logger.exception("notification %s: e-mail failed", pk)
            failed.append(pk)
    if failed:
        raise self.retry(args=[failed])
    return sent


def _email_one(pk: int) -> int:
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True)
            .select_related("user")
            .filter(pk=pk, emailed_at__isnull=True)
            .first()
        )
        if notification is None or not notification.user.email:
            return 0
        language = notification.user.preferred_language or settings.LANGUAGE_CODE
        with translation.override(language):
            subject = f"[SmartProv] {notification.get_kind_display()}"
            body = notification.text()
        send_mail(subject, body, None, [notification.user.email])
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])
        return 1


@shared_task(acks_late=True)
def outbox_sweep() -> int:
    from .services import outbox_sweep as sweep

    return sweep()


@shared_task(acks_late=True)
def deadline_reminders() -> int:
    from .services import deadline_reminders_send

    return deadline_reminders_send()
