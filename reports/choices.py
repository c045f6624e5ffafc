"""States and kinds of report builds and snapshots: the one place that defines them."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ReportKind(models.TextChoices):
    """Which levels a snapshot's headline figures use (domain.md §4)."""

    PROVISIONAL = "provisional", _("Provisional")
    FINAL = "final", _("Final")


# The engine always computes both bases; a snapshot's headline figures read this one.
KIND_BASIS: dict[str, str] = {ReportKind.PROVISIONAL: "provisional", ReportKind.FINAL: "final"}


class RunState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


ACTIVE_RUN_STATES = frozenset({RunState.QUEUED, RunState.RUNNING})
FINISHED_RUN_STATES = frozenset({RunState.SUCCEEDED, RunState.FAILED})

# state → states a run may move to. A running run may start again: a task redelivered after
# its worker died (acks_late) finds it running; the snapshot write is atomic, so nothing of
# the lost attempt is visible.
RUN_TRANSITIONS: dict[str, frozenset[str]] = {
    RunState.QUEUED: frozenset({RunState.RUNNING, RunState.FAILED}),
    RunState.RUNNING: frozenset(
        {RunState.RUNNING, RunState.SUCCEEDED, RunState.FAILED, RunState.QUEUED}
    ),
    RunState.FAILED: frozenset({RunState.QUEUED}),  # the retry button
    RunState.SUCCEEDED: frozenset(),
}


class RunTrigger(models.TextChoices):
    MANUAL = "manual", _("Rebuild by an administrator")
    APPROVAL = "approval", _("Approval of an assessment")
    NIGHTLY = "nightly", _("Nightly provisional build")


class ReportAction(models.TextChoices):
    PUBLISHED = "published", _("Published")
    UNPUBLISHED = "unpublished", _("Unpublished")


class Predicate(models.TextChoices):
    """SPBE predicate bands of an index on 0–5; codes as the scoring engine returns them."""

    # The same words as the public pages, in the "predicate" context (Indonesian: the SPBE
    # terms Kurang, Cukup, Baik, Sangat Baik, Memuaskan).
    KURANG = "kurang", pgettext_lazy("predicate", "Poor")
    CUKUP = "cukup", pgettext_lazy("predicate", "Fair")
    BAIK = "baik", pgettext_lazy("predicate", "Good")
    SANGAT_BAIK = "sangat_baik", pgettext_lazy("predicate", "Very good")
    MEMUASKAN = "memuaskan", pgettext_lazy("predicate", "Excellent")
