"""Celery tasks of the reports app: thin wrappers that take ids and call one service.

Builds are acknowledged late (a worker that dies mid-build leaves the message to be
redelivered) and are idempotent, so a redelivery yields the same snapshot, never a duplicate.
Transient database errors are retried with exponential backoff, at most three times; the
service records each attempt and fails the run on the last one.
"""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

BUILD_TASK_OPTIONS = {
    "bind": True,
    "acks_late": True,
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 3,
}


def _build(task, run_id: int) -> str:
    """Run the build with the task's retry policy and return the run's final state.

    On a worker, a transient error propagates to `autoretry_for` (backoff, same queue) until
    the last attempt, which fails the run. Eagerly (no broker: laptops, unit tests) Celery's
    `retry` would raise `Retry` to the caller instead, so the retries run in-process.
    """
    from .services import report_build, report_build_in_process

    if task.request.is_eager:
        return report_build_in_process(run_id=run_id, retries=task.max_retries).state
    final_attempt = task.request.retries >= task.max_retries
    return report_build(run_id=run_id, final_attempt=final_attempt).state


@shared_task(name="reports.tasks.run_report", **BUILD_TASK_OPTIONS)
def run_report(self, run_id: int) -> str:
    """Build one queued report run (manual rebuilds, nightly builds, the retry button)."""
    return _build(self, run_id)


@shared_task(name="reports.tasks.build_for_approved_assessment", **BUILD_TASK_OPTIONS)
def build_for_approved_assessment(self, message_id: int, payload: dict) -> str:
    """Consumer of the outbox topic ``assessment.approved`` (settings.OUTBOX_ROUTES): builds
    the final snapshot of the approved region (and the Semarang Raya aggregate).

    One run per outbox message: the sweeper or a broker redelivery may hand the same message
    over again, and it then finds the run it started; a finished run is left as it is.
    """
    from .services import report_run_for_approval

    run = report_run_for_approval(message_id=message_id, assessment_id=payload["assessment"])
    return _build(self, run.pk)


@shared_task(name="reports.tasks.nightly_provisional", acks_late=True)
def nightly_provisional() -> int:
    """Queue a provisional build of every open cycle (Celery beat, nightly)."""
    from .services import report_nightly_provisional

    return len(report_nightly_provisional())
