"""Assessment cycles and what people enter in them: answers, evidence, reviews, the audit trail.

Workflow models are written only by `assessments.services`; the state machines live in
`assessments.choices` (states and transition tables).
"""

from __future__ import annotations

import datetime
import os
import uuid

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from dimensions.models import FrameworkVersion, Indicator
from regions.models import Agency, Region

from .choices import AnswerState, AssessmentState, CycleStatus, EventKind, NotificationKind

LEVEL_VALIDATORS = [MinValueValidator(1), MaxValueValidator(5)]


class PrivateStorage(FileSystemStorage):
    """Evidence storage outside any public path; files are streamed by a permission-checked
    view. The folder is read from settings when used, not frozen at import."""

    @property
    def base_location(self):
        return settings.PRIVATE_STORAGE_ROOT

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    @property
    def base_url(self):
        return None


def private_storage() -> FileSystemStorage:
    """A callable, so that migrations do not record one machine's folder."""
    return PrivateStorage()


def evidence_path(instance: Evidence, filename: str) -> str:
    # The stored name is random: an uploaded name never becomes a path (no traversal, no guessing).
    return f"evidence/{instance.answer.assessment.cycle_id}/{uuid.uuid4().hex}"


class Cycle(models.Model):
    """One round of assessment (usually a year), bound to one frozen framework version."""

    year = models.PositiveSmallIntegerField(_("year"))
    name = models.CharField(_("name"), max_length=200)
    framework = models.ForeignKey(
        FrameworkVersion,
        verbose_name=_("framework version"),
        on_delete=models.PROTECT,
        related_name="cycles",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=CycleStatus.choices, default=CycleStatus.OPEN
    )
    starts_on = models.DateField(
        _("starts on"), help_text=_("Decides which regions belong to Semarang Raya in this cycle.")
    )
    entry_deadline = models.DateField(_("entry deadline"))
    review_deadline = models.DateField(_("review deadline"))
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)

    class Meta:
        verbose_name = _("cycle")
        verbose_name_plural = _("cycles")
        ordering = ["-year", "-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(review_deadline__gte=models.F("entry_deadline")),
                name="cycle_review_after_entry",
                violation_error_message=_("The review deadline cannot precede the entry deadline."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Assessment(models.Model):
    """One region's assessment in one cycle: the unit that is submitted, approved and scored."""

    cycle = models.ForeignKey(
        Cycle, verbose_name=_("cycle"), on_delete=models.PROTECT, related_name="assessments"
    )
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="assessments"
    )
    state = models.CharField(
        _("state"), max_length=12, choices=AssessmentState.choices, default=AssessmentState.OPEN
    )
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("assessment")
        verbose_name_plural = _("assessments")
        ordering = ["cycle", "region__code"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "region"], name="assessment_one_per_region"),
        ]

    def __str__(self) -> str:
        return f"{self.region.name} · {self.cycle.name}"

    @property
    def is_locked(self) -> bool:
        return self.state == AssessmentState.APPROVED


class Answer(models.Model):
    """One indicator's answer of one region in one cycle, owned by the element's lead agency.

    Three levels are kept and never overwrite each other: `self_level` (mandiri, by the agency),
    `verified_level` (by the reviewer, with a reason when it differs) and `final_level`
    (= verified level once verified). `version` is the optimistic lock: a save must name the
    version it read.
    """

    assessment = models.ForeignKey(
        Assessment, verbose_name=_("assessment"), on_delete=models.CASCADE, related_name="answers"
    )
    indicator = models.ForeignKey(
        Indicator, verbose_name=_("indicator"), on_delete=models.PROTECT, related_name="answers"
    )
    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), on_delete=models.PROTECT, related_name="answers"
    )
    state = models.CharField(
        _("state"), max_length=10, choices=AnswerState.choices, default=AnswerState.DRAFT
    )
    self_level = models.PositiveSmallIntegerField(
        _("self-assessed level"), null=True, blank=True, validators=LEVEL_VALIDATORS
    )
    justification = models.TextField(_("justification"), blank=True)
    links = models.JSONField(_("links"), default=list, blank=True)
    verified_level = models.PositiveSmallIntegerField(
        _("verified level"), null=True, blank=True, validators=LEVEL_VALIDATORS
    )
    verification_reason = models.TextField(_("reason for the verified level"), blank=True)
    final_level = models.PositiveSmallIntegerField(
        _("final level"), null=True, blank=True, validators=LEVEL_VALIDATORS
    )
    return_reason = models.TextField(_("reason for return"), blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("verified by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # What the reviewer saw at their last review (level, justification, links, evidence), so
    # that a resubmission can be shown as a diff of what changed since.
    reviewed_snapshot = models.JSONField(_("content at last review"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        ordering = [
            "assessment",
            "indicator__element__dimension__order",
            "indicator__element__order",
            "indicator__order",
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "indicator"], name="answer_one_per_indicator"
            ),
            models.CheckConstraint(
                condition=models.Q(self_level__isnull=True) | models.Q(self_level__range=(1, 5)),
                name="answer_self_level_1_to_5",
            ),
            models.CheckConstraint(
                condition=models.Q(verified_level__isnull=True)
                | models.Q(verified_level__range=(1, 5)),
                name="answer_verified_level_1_to_5",
            ),
            models.CheckConstraint(
                condition=~models.Q(state=AnswerState.VERIFIED)
                | models.Q(verified_level__isnull=False, final_level__isnull=False),
                name="answer_verified_has_levels",
            ),
        ]
        indexes = [models.Index(fields=["agency", "state"]), models.Index(fields=["state"])]

    def __str__(self) -> str:
        return f"{self.indicator.code} · {self.assessment}"


class Evidence(models.Model):
    """A file or link (bukti dukung) supporting an answer. Files live in private storage."""

    answer = models.ForeignKey(
        Answer, verbose_name=_("answer"), on_delete=models.CASCADE, related_name="evidence"
    )
    file = models.FileField(
        _("file"), storage=private_storage, upload_to=evidence_path, blank=True, max_length=300
    )
    url = models.URLField(_("link"), blank=True, max_length=1000)
    original_name = models.CharField(_("file name"), max_length=255, blank=True)
    content_type = models.CharField(_("content type"), max_length=120, blank=True)
    size = models.PositiveBigIntegerField(_("size in bytes"), default=0)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    removed_at = models.DateTimeField(_("removed"), null=True, blank=True)

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        ordering = ["answer", "uploaded_at"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(file="") & ~models.Q(url=""))
                | (~models.Q(file="") & models.Q(url="")),
                name="evidence_file_or_url",
            ),
        ]

    def __str__(self) -> str:
        return self.original_name or self.url

    @property
    def is_file(self) -> bool:
        return bool(self.file)


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("Audit events are append-only.")

    def delete(self):
        raise PermissionError("Audit events are append-only.")


class AppendOnlyModel(models.Model):
    """Rows that are written once and never changed or deleted (audit trail)."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise PermissionError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit events are append-only.")


class ChangeEvent(AppendOnlyModel):
    """What every change record holds: who, when, what kind, old → new, and why."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    kind = models.CharField(_("kind"), max_length=20, choices=EventKind.choices)
    old_value = models.TextField(_("old value"), blank=True)
    new_value = models.TextField(_("new value"), blank=True)
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        abstract = True
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_kind_display()}"


class AnswerEvent(ChangeEvent):
    """One change to an answer: who, when, what (old → new) and why. Append-only."""

    answer = models.ForeignKey(
        Answer, verbose_name=_("answer"), on_delete=models.PROTECT, related_name="events"
    )

    class Meta(ChangeEvent.Meta):
        verbose_name = _("answer event")
        verbose_name_plural = _("answer events")


class AssessmentEvent(ChangeEvent):
    """One change to an assessment (state, approval, reopening, deadline extension)."""

    assessment = models.ForeignKey(
        Assessment, verbose_name=_("assessment"), on_delete=models.PROTECT, related_name="events"
    )
    agency = models.ForeignKey(
        Agency,
        verbose_name=_("agency"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta(ChangeEvent.Meta):
        verbose_name = _("assessment event")
        verbose_name_plural = _("assessment events")


class Comment(models.Model):
    """A message in an answer's thread (operators, supporting agencies, reviewers)."""

    answer = models.ForeignKey(
        Answer, verbose_name=_("answer"), on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = models.TextField(_("comment"))
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.body[:60]


class DeadlineExtension(models.Model):
    """A later entry deadline for one agency in one cycle, granted with a reason (audited)."""

    cycle = models.ForeignKey(
        Cycle, verbose_name=_("cycle"), on_delete=models.CASCADE, related_name="extensions"
    )
    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), on_delete=models.CASCADE, related_name="extensions"
    )
    until = models.DateField(_("new entry deadline"))
    reason = models.TextField(_("reason"))
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("granted by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    granted_at = models.DateTimeField(_("granted"), auto_now_add=True)

    class Meta:
        verbose_name = _("deadline extension")
        verbose_name_plural = _("deadline extensions")
        ordering = ["cycle", "agency", "-until"]

    def __str__(self) -> str:
        return f"{self.agency} → {self.until}"


class Notification(models.Model):
    """An in-app inbox entry (also sent by e-mail). `key` makes one event notify a user once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=24, choices=NotificationKind.choices)
    key = models.CharField(_("deduplication key"), max_length=120)
    answer = models.ForeignKey(
        Answer,
        verbose_name=_("answer"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    assessment = models.ForeignKey(
        Assessment,
        verbose_name=_("assessment"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    params = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="notification_once_per_event"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_kind_display()}"

    def text(self) -> str:
        """The message in the active language (stored as kind + details, not as text)."""
        from .notifications import notification_text

        return notification_text(self)


class OutboxMessage(models.Model):
    """A side effect recorded in the same transaction as the change that causes it.

    Delivered to Celery after commit; a periodic sweeper re-sends what is still pending (the
    broker was down), so an approval never loses its report build. Consumers are idempotent.
    """

    topic = models.CharField(_("topic"), max_length=60)
    payload = models.JSONField(_("payload"), default=dict)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["dispatched_at", "created_at"])]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"


def effective_entry_deadline(cycle: Cycle, agency_extensions: list[datetime.date]) -> datetime.date:
    return max([cycle.entry_deadline, *agency_extensions])
