"""Admin for cycles and the workflow: read-mostly. Workflow changes go through the portal's
pages (and so through the services); the audit trail is shown, never edited."""

from django.contrib import admin

from .models import (
    Answer,
    AnswerEvent,
    Assessment,
    AssessmentEvent,
    Comment,
    Cycle,
    DeadlineExtension,
    Evidence,
    Notification,
    OutboxMessage,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AnswerEventInline(ReadOnlyInline):
    model = AnswerEvent
    fields = ("at", "actor", "kind", "old_value", "new_value", "reason")
    readonly_fields = fields


class EvidenceInline(ReadOnlyInline):
    model = Evidence
    fields = (
        "original_name",
        "url",
        "content_type",
        "size",
        "uploaded_by",
        "uploaded_at",
        "removed_at",
    )
    readonly_fields = fields


class CommentInline(ReadOnlyInline):
    model = Comment
    fields = ("created_at", "author", "body")
    readonly_fields = fields


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Cycle)
class CycleAdmin(ReadOnlyAdmin):
    list_display = ("name", "year", "framework", "status", "entry_deadline", "review_deadline")
    list_filter = ("status", "year")
    search_fields = ("name",)


@admin.register(Assessment)
class AssessmentAdmin(ReadOnlyAdmin):
    list_display = ("region", "cycle", "state", "submitted_at", "approved_at")
    list_filter = ("cycle", "state", "region")
    list_select_related = ("region", "cycle")


@admin.register(Answer)
class AnswerAdmin(ReadOnlyAdmin):
    list_display = ("indicator", "assessment", "agency", "state", "self_level", "verified_level")
    list_filter = (
        "state",
        "assessment__cycle",
        "assessment__region",
        "indicator__element__dimension__code",
    )
    search_fields = ("indicator__code", "agency__short_name", "justification")
    list_select_related = ("indicator", "assessment__region", "assessment__cycle", "agency")
    inlines = [EvidenceInline, CommentInline, AnswerEventInline]


@admin.register(AssessmentEvent)
class AssessmentEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "assessment", "agency", "kind", "old_value", "new_value", "actor")
    list_filter = ("kind",)
    list_select_related = ("assessment__region", "assessment__cycle", "agency", "actor")


@admin.register(AnswerEvent)
class AnswerEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "answer", "kind", "old_value", "new_value", "actor")
    list_filter = ("kind",)
    search_fields = ("answer__indicator__code", "reason")
    list_select_related = (
        "answer__indicator",
        "answer__assessment__region",
        "answer__assessment__cycle",
        "actor",
    )


@admin.register(DeadlineExtension)
class DeadlineExtensionAdmin(ReadOnlyAdmin):
    list_display = ("cycle", "agency", "until", "reason", "granted_by", "granted_at")
    list_select_related = ("cycle", "agency__region", "granted_by")


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "kind", "read_at", "emailed_at")
    list_filter = ("kind",)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "topic", "dispatched_at", "attempts", "last_error")
    list_filter = ("topic",)
