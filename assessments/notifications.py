"""Notification texts, rendered in the reader's language from the kind and its details."""

from __future__ import annotations

from django.utils.translation import gettext as _

from .choices import NotificationKind


def notification_text(notification) -> str:
    p = notification.params or {}
    kind = notification.kind
    if kind == NotificationKind.ANSWER_RETURNED:
        return _("Indicator %(indicator)s (%(region)s) was returned for revision: %(reason)s") % p
    if kind == NotificationKind.ANSWER_VERIFIED:
        return _("Indicator %(indicator)s (%(region)s) was verified at level %(level)s.") % p
    if kind == NotificationKind.ASSESSMENT_APPROVED:
        return _("The assessment of %(region)s in %(cycle)s was approved.") % p
    if kind == NotificationKind.ASSESSMENT_REOPENED:
        return _("The assessment of %(region)s in %(cycle)s was reopened: %(reason)s") % p
    if kind == NotificationKind.DEADLINE_SOON:
        return (
            _(
                "The entry deadline of %(cycle)s for %(agency)s is %(deadline)s: "
                "%(open)s answer(s) are still open."
            )
            % p
        )
    return str(notification.get_kind_display())
