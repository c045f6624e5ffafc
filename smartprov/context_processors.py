"""Navigation by role: each role sees the links to its own work."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from assessments.permissions import scope_for

# (url name, label, who sees it)
NAV = [
    ("assessments:worklist", _("My worklist"), lambda s: bool(s.operator_agencies)),
    ("assessments:region_overview", _("Region progress"), lambda s: bool(s.coordinator_regions)),
    ("assessments:review_queue", _("Review queue"), lambda s: s.is_reviewer or s.is_admin),
    ("assessments:cycle_list", _("Cycles"), lambda s: s.is_admin),
    (
        "internal:dashboard",
        _("Monitoring"),
        lambda s: s.is_admin or s.is_reviewer or bool(s.coordinator_regions),
    ),
    ("reports:run_list", _("Report builds"), lambda s: s.is_admin or s.is_reviewer),
    ("assessments:inbox", _("Inbox"), lambda s: s.is_authenticated),
]


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    scope = scope_for(user)
    items = []
    for name, label, visible in NAV:
        if not visible(scope):
            continue
        try:
            items.append({"url": reverse(name), "label": label, "name": name})
        except NoReverseMatch:
            continue  # the page is not built yet
    unread = 0
    if scope.is_authenticated:
        unread = user.notifications.filter(read_at__isnull=True).count()
    return {"nav_items": items, "unread_notifications": unread, "user_scope": scope}
