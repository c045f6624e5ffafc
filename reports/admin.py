"""Read-only admin of report builds and snapshots, with a "Rebuild" action.

Snapshots are immutable and builds are status rows written by the pipeline, so the admin only
shows them; the "Rebuild" action starts new builds through `reports.services`.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from assessments.exceptions import WorkflowError

from .models import MaturityReport, ReportEvent, ReportRun
from .services import report_run_start


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.action(description=_("Rebuild (same cycle, region and kind)"))
def rebuild(modeladmin, request, queryset) -> None:
    """Start one build per distinct (cycle, region, kind) among the selected rows."""
    scopes = {
        (row.cycle_id, row.region_id, row.kind): row
        for row in queryset.select_related("cycle", "region")
    }
    started, refused = 0, []
    for row in scopes.values():
        try:
            report_run_start(actor=request.user, cycle=row.cycle, region=row.region, kind=row.kind)
            started += 1
        except (WorkflowError, PermissionDenied) as error:
            refused.append(str(getattr(error, "message", error)))
    if started:
        modeladmin.message_user(
            request,
            ngettext("%(n)d build queued.", "%(n)d builds queued.", started) % {"n": started},
            messages.SUCCESS,
        )
    for reason in refused:
        modeladmin.message_user(request, reason, messages.ERROR)


class ReportEventInline(admin.TabularInline):
    model = ReportEvent
    extra = 0
    fields = ("at", "action", "actor")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(MaturityReport)
class MaturityReportAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "cycle",
        "region",
        "kind",
        "index",
        "predicate",
        "completeness",
        "published",
        "engine_version",
        "created_at",
    )
    list_filter = ("kind", "published", "cycle", "region")
    list_select_related = ("cycle", "region")
    search_fields = ("input_hash",)
    date_hierarchy = "created_at"
    exclude = ("results",)
    readonly_fields = (
        "cycle",
        "region",
        "kind",
        "framework",
        "engine_version",
        "input_hash",
        "weights",
        "index",
        "predicate",
        "completeness",
        "created_at",
        "published",
        "published_at",
        "published_by",
    )
    inlines = [ReportEventInline]
    actions = [rebuild]


@admin.register(ReportRun)
class ReportRunAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "cycle",
        "region",
        "kind",
        "trigger",
        "state",
        "progress",
        "attempts",
        "queued_at",
        "finished_at",
    )
    list_filter = ("state", "kind", "trigger", "cycle")
    list_select_related = ("cycle", "region")
    date_hierarchy = "queued_at"
    readonly_fields = (
        "started_by",
        "trigger",
        "cycle",
        "region",
        "kind",
        "state",
        "progress",
        "attempts",
        "attempt_log",
        "error",
        "outbox_message",
        "queued_at",
        "started_at",
        "finished_at",
        "reports",
    )
    actions = [rebuild]
