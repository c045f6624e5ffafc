"""Report builds and the immutable snapshots they store.

A `ReportRun` is one build (who or what started it, its scope, state, progress, timings and
error). A `MaturityReport` is the snapshot it stores: the engine's results for one region in
one cycle, or, with `region` empty, the Semarang Raya aggregate of that cycle. Snapshots are
immutable; only their publish flags change, through `reports.services.report_publish`, and each
change is audited in `ReportEvent`. Writes happen only in `reports.services`.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assessments.models import AppendOnlyModel, Cycle
from dimensions.models import FrameworkVersion
from regions.models import Region

from .choices import (
    ACTIVE_RUN_STATES,
    KIND_BASIS,
    Predicate,
    ReportAction,
    ReportKind,
    RunState,
    RunTrigger,
)

#: The only fields of a stored snapshot that may change (through the publish service).
PUBLISH_FIELDS = frozenset({"published", "published_at", "published_by"})


class ReportImmutableError(Exception):
    """A stored snapshot's results, inputs or identity cannot change: build a new one."""


class MaturityReportQuerySet(models.QuerySet):
    def update(self, **kwargs):
        if not set(kwargs) <= PUBLISH_FIELDS:
            raise ReportImmutableError("Only the publish flags of a snapshot can change.")
        updated = super().update(**kwargs)
        if updated and "published" in kwargs:
            # No save signal here: the public pages must still drop what they cached.
            from smartprov.public_cache import bump_generation

            bump_generation()
        return updated

    def delete(self):
        raise ReportImmutableError("Snapshots are kept for good.")

    def published(self):
        return self.filter(published=True)


class MaturityReport(models.Model):
    """A snapshot of the scores of one region (or of Semarang Raya) in one cycle.

    It records what is needed to recompute it exactly (domain.md §4): the framework version,
    its weights, the engine version and a hash of the engine's inputs. Two builds over the same
    inputs find the same row (unique on cycle, region, kind, input hash and engine version), so
    a repeated or redelivered build never makes a duplicate.

    `region` empty means the Semarang Raya aggregate of the cycle: the cluster table of the
    engine over the member regions in that cycle. Region snapshots hash only their own region's
    answers, so one region's approval never makes new snapshots of the others.

    `results` holds ``summary`` (the engine's ``region_summary`` for the headline basis, or the
    cluster summary) and ``tables`` (the engine's tidy tables restricted to this snapshot, as
    lists of records, both bases), which dashboards and exports read.
    """

    cycle = models.ForeignKey(
        Cycle, verbose_name=_("cycle"), on_delete=models.PROTECT, related_name="reports"
    )
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reports",
        help_text=_("Empty: the Semarang Raya aggregate of the cycle."),
    )
    kind = models.CharField(_("kind"), max_length=12, choices=ReportKind.choices)
    framework = models.ForeignKey(
        FrameworkVersion,
        verbose_name=_("framework version"),
        on_delete=models.PROTECT,
        related_name="reports",
    )
    engine_version = models.CharField(_("engine version"), max_length=20)
    input_hash = models.CharField(_("input hash"), max_length=64)
    weights = models.JSONField(_("weights"), default=dict)
    results = models.JSONField(_("results"), default=dict)
    index = models.FloatField(_("index"))
    predicate = models.CharField(_("predicate"), max_length=12, choices=Predicate.choices)
    completeness = models.FloatField(_("completeness"))
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    published = models.BooleanField(_("published"), default=False)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = MaturityReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("maturity report")
        verbose_name_plural = _("maturity reports")
        ordering = ["-created_at", "-id"]
        # Region and aggregate rows get a constraint each: NULLs are distinct in a unique
        # index, and partial indexes work on SQLite (make run) as well as PostgreSQL.
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "region", "kind", "input_hash", "engine_version"],
                condition=models.Q(region__isnull=False),
                name="report_unique_inputs",
            ),
            models.UniqueConstraint(
                fields=["cycle", "kind", "input_hash", "engine_version"],
                condition=models.Q(region__isnull=True),
                name="report_unique_inputs_aggregate",
            ),
            models.UniqueConstraint(
                fields=["cycle", "region"],
                condition=models.Q(published=True, region__isnull=False),
                name="report_one_published_per_region",
                violation_error_message=_("Another report of this region is published."),
            ),
            models.UniqueConstraint(
                fields=["cycle"],
                condition=models.Q(published=True, region__isnull=True),
                name="report_one_published_aggregate",
                violation_error_message=_("Another Semarang Raya report is published."),
            ),
            models.CheckConstraint(
                condition=models.Q(published=False)
                | models.Q(kind=ReportKind.FINAL, published_at__isnull=False),
                name="report_published_is_final",
            ),
            models.CheckConstraint(
                condition=models.Q(completeness__gte=0, completeness__lte=1),
                name="report_completeness_0_to_1",
            ),
        ]
        indexes = [models.Index(fields=["cycle", "region", "kind", "-created_at"])]

    def __str__(self) -> str:
        where = self.region.name if self.region_id else _("Semarang Raya")
        return f"{where} · {self.cycle} · {self.get_kind_display()} #{self.pk}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            update_fields = kwargs.get("update_fields")
            if update_fields is None or not set(update_fields) <= PUBLISH_FIELDS:
                raise ReportImmutableError("Only the publish flags of a snapshot can change.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ReportImmutableError("Snapshots are kept for good.")

    @property
    def basis(self) -> str:
        return KIND_BASIS[self.kind]

    @property
    def is_aggregate(self) -> bool:
        return self.region_id is None

    @property
    def summary(self) -> dict:
        return self.results.get("summary", {})


class ReportRun(models.Model):
    """One build of snapshots: for one region or a whole cycle, provisional or final.

    The status row of a background job (architecture rule 6): the browser polls it for the
    progress bar, and `attempts`/`attempt_log` keep every try, including retried ones.
    `outbox_message` ties a build started by an approval to its outbox message, so that a
    redelivered message finds its run instead of starting another.
    """

    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    trigger = models.CharField(_("trigger"), max_length=10, choices=RunTrigger.choices)
    cycle = models.ForeignKey(
        Cycle, verbose_name=_("cycle"), on_delete=models.PROTECT, related_name="report_runs"
    )
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="report_runs",
        help_text=_("Empty: every region of the cycle."),
    )
    kind = models.CharField(_("kind"), max_length=12, choices=ReportKind.choices)
    state = models.CharField(
        _("state"), max_length=10, choices=RunState.choices, default=RunState.QUEUED
    )
    progress = models.PositiveSmallIntegerField(
        _("progress (%)"), default=0, validators=[MaxValueValidator(100)]
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    attempt_log = models.JSONField(_("attempts log"), default=list, blank=True)
    error = models.TextField(_("error"), blank=True)
    outbox_message = models.BigIntegerField(_("outbox message"), null=True, blank=True, unique=True)
    queued_at = models.DateTimeField(_("queued"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    reports = models.ManyToManyField(
        MaturityReport, verbose_name=_("reports"), related_name="runs", blank=True
    )

    class Meta:
        verbose_name = _("report build")
        verbose_name_plural = _("report builds")
        ordering = ["-queued_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="report_run_progress_0_to_100"
            ),
        ]
        indexes = [models.Index(fields=["state", "-queued_at"])]

    def __str__(self) -> str:
        where = self.region.name if self.region_id else _("all regions")
        return f"#{self.pk} {where} · {self.get_kind_display()} · {self.get_state_display()}"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_RUN_STATES

    @property
    def is_failed(self) -> bool:
        return self.state == RunState.FAILED

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class ReportEvent(AppendOnlyModel):
    """One change of a snapshot's publication: who published or unpublished it, and when."""

    report = models.ForeignKey(
        MaturityReport, verbose_name=_("report"), on_delete=models.PROTECT, related_name="events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=12, choices=ReportAction.choices)
    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("report event")
        verbose_name_plural = _("report events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_action_display()}"
