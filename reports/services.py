"""Every write of the reports app: starting and running builds, storing and publishing snapshots.

A build is a `ReportRun` row (queued → running → succeeded | failed) and a Celery task that
calls `report_build`. The build loads its inputs (selectors), scores them (the pure engine in
`reports.scoring`) and stores one snapshot per region plus the Semarang Raya aggregate, all in
one transaction, so a half-written build is never visible. Snapshots are found again by their
inputs (unique on cycle, region, kind, input hash and engine version): running the same build
twice, or a redelivered task, stores nothing new.

Transient database errors (`OperationalError`, `InterfaceError`) are retried by the task with
backoff; the run goes back to `queued` with the error noted, and every attempt is logged in
`attempt_log`. Any other error fails the run at once with its text; the browser offers a retry.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from functools import cache

import pandas as pd
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from assessments.choices import AssessmentState, CycleStatus
from assessments.exceptions import WorkflowError
from assessments.models import Assessment, Cycle
from assessments.permissions import scope_for
from regions.models import Region

from . import scoring
from .choices import (
    KIND_BASIS,
    RUN_TRANSITIONS,
    ReportAction,
    ReportKind,
    RunState,
    RunTrigger,
)
from .models import MaturityReport, ReportEvent, ReportRun
from .selectors import ReportInputs, can_publish, can_rebuild, report_inputs

logger = logging.getLogger(__name__)

#: Errors worth another attempt: the database or the connection to it was briefly unavailable.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)

#: Progress (%) after each step of a build, shown by the progress bar.
PROGRESS_STARTED, PROGRESS_LOADED, PROGRESS_SCORED, PROGRESS_DONE = 5, 35, 70, 100

#: Redis key of the fault-injection hook (see `_fault_injection_point`).
FAIL_ONCE_KEY = "smartprov:test:fail-once:{run_id}"
#: Redis key of the slow-build hook (see `_slow_injection_point`), and the longest it holds a
#: build, whatever the key says.
SLOW_KEY = "smartprov:test:slow:{run_id}"
SLOW_MAX_S = 60

MAX_ERROR = 4000

# What each snapshot stores: only tables that depend on nothing but the snapshot's own inputs
# (a region's figures never depend on the other regions scored with it).
REGION_TABLES = ("elements", "dimensions", "regions", "agencies", "gaps", "changes")
AGGREGATE_TABLES = ("cluster", "regions", "dimensions")


class BuildError(Exception):
    """A build that cannot succeed as asked (nothing to score): fails the run, no retry."""


# --------------------------------------------------------------------------- starting builds


@transaction.atomic
def report_run_start(
    *,
    actor,
    cycle: Cycle,
    region: Region | None = None,
    kind: str,
    trigger: str = RunTrigger.MANUAL,
) -> ReportRun:
    """Record a build and queue its task once this transaction commits.

    A manual rebuild needs an administrator; approval and nightly builds are started by the
    system (`actor` None). A final build of one region needs its approved assessment.
    """
    if trigger == RunTrigger.MANUAL and not can_rebuild(scope_for(actor)):
        raise PermissionDenied(_("You are not allowed to do this."))
    if kind not in ReportKind.values:
        raise WorkflowError(_("Unknown report kind."), field_errors={"kind": [_("Choose one.")]})
    if region is not None:
        state = (
            Assessment.objects.filter(cycle=cycle, region=region)
            .values_list("state", flat=True)
            .first()
        )
        if state is None:
            raise WorkflowError(
                _("%(region)s takes no part in %(cycle)s.")
                % {"region": region.name, "cycle": cycle.name},
                field_errors={"region": [_("Choose a region of this cycle.")]},
            )
        if kind == ReportKind.FINAL and state != AssessmentState.APPROVED:
            raise WorkflowError(
                _(
                    "The assessment of %(region)s is not approved yet: only a provisional "
                    "report can be built."
                )
                % {"region": region.name},
                field_errors={"kind": [_("Choose provisional, or approve the assessment.")]},
            )
    run = ReportRun.objects.create(
        started_by=actor if getattr(actor, "is_authenticated", False) else None,
        trigger=trigger,
        cycle=cycle,
        region=region,
        kind=kind,
    )
    transaction.on_commit(lambda: _enqueue(run.pk))
    return run


@transaction.atomic
def report_run_retry(*, actor, run_id: int) -> ReportRun:
    """Queue a failed build again (the retry button); its attempts keep counting."""
    if not can_rebuild(scope_for(actor)):
        raise PermissionDenied(_("You are not allowed to do this."))
    updated = ReportRun.objects.filter(pk=run_id, state=RunState.FAILED).update(
        state=RunState.QUEUED, progress=0, error="", finished_at=None
    )
    if not updated:
        raise WorkflowError(_("Only a failed build can be retried."))
    transaction.on_commit(lambda: _enqueue(run_id))
    return ReportRun.objects.get(pk=run_id)


def report_run_for_approval(*, message_id: int, assessment_id: int) -> ReportRun:
    """The final build of an approved assessment, one per outbox message: a redelivered
    message finds the run it started instead of starting another. Not queued: the calling
    task builds it at once (`report_build` is idempotent, so a redelivery is harmless)."""
    assessment = Assessment.objects.select_related("cycle", "region").get(pk=assessment_id)
    run, _created = ReportRun.objects.get_or_create(
        outbox_message=message_id,
        defaults={
            "trigger": RunTrigger.APPROVAL,
            "cycle": assessment.cycle,
            "region": assessment.region,
            "kind": ReportKind.FINAL,
        },
    )
    return run


def report_nightly_provisional() -> list[ReportRun]:
    """Provisional builds of every open cycle (Celery beat, every night)."""
    return [
        report_run_start(
            actor=None,
            cycle=cycle,
            kind=ReportKind.PROVISIONAL,
            trigger=RunTrigger.NIGHTLY,
        )
        for cycle in Cycle.objects.filter(status=CycleStatus.OPEN).order_by("pk")
    ]


def _enqueue(run_id: int) -> None:
    """Hand a run to the worker. If the broker cannot be reached the run fails with that
    reason, so nobody waits on a build that was never queued; the retry button requeues it."""
    from .tasks import run_report

    try:
        run_report.delay(run_id)
    except Exception as error:
        logger.exception("report run %s could not be queued", run_id)
        # Only a run still queued: in eager mode the task itself may have finished it.
        ReportRun.objects.filter(pk=run_id, state=RunState.QUEUED).update(
            state=RunState.FAILED,
            error=_truncate(_("The build could not be queued: %(error)s") % {"error": error}),
            finished_at=timezone.now(),
        )


def report_build_in_process(*, run_id: int, retries: int) -> ReportRun:
    """`report_build` with the task's bounded retries, in this process (eager mode).

    Celery's eager `retry` raises `Retry` to the caller when eager exceptions propagate, so
    the retry loop is spelled out here, with the same bound and no backoff wait.
    """
    for attempt in range(retries + 1):
        try:
            return report_build(run_id=run_id, final_attempt=attempt == retries)
        except TRANSIENT_ERRORS:
            continue
    raise AssertionError("unreachable: the final attempt does not raise a transient error")


# --------------------------------------------------------------------------- building


def report_build(*, run_id: int, final_attempt: bool = True) -> ReportRun:
    """Run one build: load, score, store, with progress updates along the way.

    Idempotent: a run that already succeeded (a redelivered task) is returned as it is, and
    snapshots are found again by their inputs. A transient error is re-raised for the task to
    retry unless this is the `final_attempt`, which fails the run instead.
    """
    run = _claim(run_id)
    if run is None:
        return ReportRun.objects.get(pk=run_id)
    try:
        _fault_injection_point(run.pk)
        cycle = Cycle.objects.get(pk=run.cycle_id)
        region_code = (
            Region.objects.values_list("code", flat=True).get(pk=run.region_id)
            if run.region_id
            else None
        )
        inputs = report_inputs(
            cycle=cycle,
            kind=run.kind,
            region_codes=None if region_code is None else [region_code],
        )
        _progress(run, PROGRESS_LOADED)
        planned = _plan(run, cycle, inputs, region_code)
        _progress(run, PROGRESS_SCORED)
        region_ids = dict(
            Region.objects.filter(
                code__in=[item.region_code for item in planned if item.region_code]
            ).values_list("code", "pk")
        )
        with transaction.atomic():
            reports = [_store(run, cycle, inputs, item, region_ids) for item in planned]
            _slow_injection_point(run.pk)
            run.reports.add(*reports)
            _finish(run, RunState.SUCCEEDED)
        return run
    except TRANSIENT_ERRORS as error:
        if final_attempt:
            _fail(run, error)
            return run
        _note_retry(run, error)
        raise
    except Exception as error:
        logger.exception("report run %s failed", run.pk)
        _fail(run, error)
        return run


def _claim(run_id: int) -> ReportRun | None:
    """Move the run to running and count the attempt; None when there is nothing to do (it
    succeeded already, or failed and waits for the retry button)."""
    with transaction.atomic():
        run = ReportRun.objects.select_for_update().get(pk=run_id)
        if RunState.RUNNING not in RUN_TRANSITIONS[run.state]:
            return None
        now = timezone.now()
        run.state = RunState.RUNNING
        run.attempts += 1
        run.attempt_log = [
            *run.attempt_log,
            {"attempt": run.attempts, "started_at": now.isoformat(), "error": ""},
        ]
        run.started_at = now
        run.finished_at = None
        run.progress = PROGRESS_STARTED
        run.save(
            update_fields=[
                "state",
                "attempts",
                "attempt_log",
                "started_at",
                "finished_at",
                "progress",
            ]
        )
    return run


def _progress(run: ReportRun, progress: int) -> None:
    # Committed at once (outside the build's transaction) so that the progress bar moves.
    ReportRun.objects.filter(pk=run.pk, state=RunState.RUNNING).update(progress=progress)
    run.progress = progress


def _finish(run: ReportRun, state: str, error: str = "") -> None:
    now = timezone.now()
    log = list(run.attempt_log)
    if log:
        log[-1] = {**log[-1], "finished_at": now.isoformat(), "error": error}
    run.state, run.error, run.finished_at, run.attempt_log = state, error, now, log
    run.progress = PROGRESS_DONE if state == RunState.SUCCEEDED else run.progress
    run.save(update_fields=["state", "error", "finished_at", "attempt_log", "progress"])


def _fail(run: ReportRun, error: Exception) -> None:
    message = _truncate(_error_text(error))
    try:
        with transaction.atomic():
            _finish(run, RunState.FAILED, message)
    except TRANSIENT_ERRORS:  # the database is gone too: the log keeps the reason
        logger.exception("report run %s: could not record its failure", run.pk)


def _note_retry(run: ReportRun, error: Exception) -> None:
    message = _truncate(_error_text(error))
    log = list(run.attempt_log)
    if log:
        log[-1] = {**log[-1], "finished_at": timezone.now().isoformat(), "error": message}
    try:
        ReportRun.objects.filter(pk=run.pk).update(
            state=RunState.QUEUED,
            error=_truncate(
                _("Attempt %(n)d failed, retrying: %(error)s")
                % {"n": run.attempts, "error": message}
            ),
            attempt_log=log,
        )
    except TRANSIENT_ERRORS:
        logger.exception("report run %s: could not record the retry", run.pk)


def _error_text(error: Exception) -> str:
    if isinstance(error, BuildError | WorkflowError):
        return str(error)
    return f"{error.__class__.__name__}: {error}"


def _truncate(text: str) -> str:
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"


# --------------------------------------------------------------------------- scoring


@dataclasses.dataclass(frozen=True)
class _Planned:
    """One snapshot to store: its place (region code, or None for the aggregate), the hash of
    exactly the inputs it depends on, its headline figures and its results."""

    region_code: str | None
    input_hash: str
    index: float
    predicate: str
    completeness: float
    results: dict


def _plan(
    run: ReportRun, cycle: Cycle, inputs: ReportInputs, region_code: str | None
) -> list[_Planned]:
    answers = inputs.answers
    scored = sorted(answers["region"].unique().tolist())
    if region_code is not None and region_code not in scored:
        raise BuildError(_("There is nothing to score for this region in this cycle."))
    if not scored:
        raise BuildError(
            _("There is nothing to score in this cycle: no approved assessment yet.")
            if run.kind == ReportKind.FINAL
            else _("There is nothing to score in this cycle.")
        )
    result = scoring.compute(answers, inputs.framework, cluster=inputs.cluster)
    basis = KIND_BASIS[run.kind]
    targets = [region_code] if region_code is not None else scored
    planned = []
    for code in targets:
        own = answers[answers["region"] == code]
        planned.append(
            _plan_region(result, cycle, code, basis, scoring.input_hash(own, inputs.framework))
        )
    members = [code for code in inputs.cluster["region"] if code in scored]
    if members and (region_code is None or region_code in members):
        member_answers = answers[answers["region"].isin(members)]
        digest = scoring.input_hash(member_answers, inputs.framework, cluster=inputs.cluster)
        planned.append(_plan_aggregate(result, cycle, members, basis, digest))
    return planned


def _plan_region(result, cycle: Cycle, code: str, basis: str, digest: str) -> _Planned:
    summary = result.region_summary(code, cycle.pk, basis)
    tables = _tables(result, lambda frame: frame["region"] == code, REGION_TABLES)
    return _Planned(
        region_code=code,
        input_hash=digest,
        index=summary["index"],
        predicate=summary["predicate"],
        completeness=summary["completeness"],
        results={"schema": 1, "basis": basis, "summary": summary, "tables": tables},
    )


def _plan_aggregate(result, cycle: Cycle, members: list[str], basis: str, digest: str):
    cluster = result.cluster
    rows = cluster[(cluster["cycle"] == cycle.pk) & (cluster["basis"] == basis)]
    overall = rows[rows["dimension"] == ""].iloc[0]
    regions = result.regions
    member_rows = regions[(regions["basis"] == basis) & regions["region"].isin(members)]
    completeness = float(member_rows["completeness"].mean())
    summary = {
        "cycle": cycle.pk,
        "region": None,
        "basis": basis,
        "members": members,
        "index": float(overall["score"]),
        "index_rounded": float(overall["score_rounded"]),
        "level": int(overall["level"]),
        "predicate": str(overall["predicate"]),
        "completeness": completeness,
        "dimensions": [
            {
                "code": str(row.dimension),
                "score": float(row.score),
                "score_rounded": float(row.score_rounded),
                "level": int(row.level),
                "predicate": str(row.predicate),
            }
            for row in rows[rows["dimension"] != ""].itertuples(index=False)
        ],
        "regions": [
            {
                "region": str(row.region),
                "index": float(row.index),
                "index_rounded": float(row.index_rounded),
                "predicate": str(row.predicate),
            }
            for row in member_rows.itertuples(index=False)
        ],
    }
    tables = _tables(result, lambda frame: frame["region"].isin(members), AGGREGATE_TABLES)
    return _Planned(
        region_code=None,
        input_hash=digest,
        index=summary["index"],
        predicate=summary["predicate"],
        completeness=completeness,
        results={"schema": 1, "basis": basis, "summary": summary, "tables": tables},
    )


def _tables(result, region_mask, names: tuple[str, ...]) -> dict[str, list[dict]]:
    """The engine's tidy tables `names` as records (its own JSON rules, via `to_dict`),
    restricted by `region_mask` where a table has a region column."""
    frames = {}
    for name in scoring.TABLES:
        frame: pd.DataFrame = getattr(result, name)
        if name not in names:
            frame = frame.iloc[0:0]
        elif "region" in frame.columns:
            frame = frame[region_mask(frame)]
        frames[name] = frame
    restricted = dataclasses.replace(result, **frames).to_dict()["tables"]
    records = {}
    for name in names:
        columns, data = restricted[name]["columns"], restricted[name]["data"]
        rows = zip(*(data[column] for column in columns), strict=True)
        records[name] = [dict(zip(columns, row, strict=True)) for row in rows]
    return records


def _store(
    run: ReportRun, cycle: Cycle, inputs: ReportInputs, item: _Planned, region_ids: dict
) -> MaturityReport:
    """The snapshot of these inputs: found again if it exists, else created. The unique
    constraint settles a race between two builds of the same inputs (get_or_create retries
    the read after an IntegrityError)."""
    report, _created = MaturityReport.objects.get_or_create(
        cycle=cycle,
        region_id=None if item.region_code is None else region_ids[item.region_code],
        kind=run.kind,
        input_hash=item.input_hash,
        engine_version=scoring.ENGINE_VERSION,
        defaults={
            "framework_id": cycle.framework_id,
            "weights": inputs.weights,
            "results": item.results,
            "index": item.index,
            "predicate": item.predicate,
            "completeness": item.completeness,
        },
    )
    return report


# --------------------------------------------------------------------------- fault injection


@cache
def _fault_redis():
    """A Redis client on the broker, or None when the broker is not Redis."""
    url = settings.CELERY_BROKER_URL or ""
    if not url.startswith(("redis://", "rediss://")):
        return None
    import redis

    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


def _fault_injection_point(run_id: int) -> None:
    """Fault-injection hook used by the integration test (docs/reports.md).

    When the Redis key ``smartprov:test:fail-once:<run_id>`` exists on the broker, it is
    deleted and this attempt fails with an `OperationalError`, exactly as a dropped database
    connection would: the worker in another process then retries for real. Deleting is atomic,
    so it fails once. Costs one Redis round trip; never fails a build on its own account.
    """
    client = _fault_redis()
    if client is None:
        return
    try:
        injected = client.delete(FAIL_ONCE_KEY.format(run_id=run_id))
    except Exception:  # the hook must never break a real build
        return
    if injected:
        raise OperationalError(f"injected transient failure (run {run_id})")


def _slow_injection_point(run_id: int) -> None:
    """Slow-build hook used by the fault tests (tests/faults, docs/reports.md).

    Runs inside the transaction that stores a build's snapshots, after they are written and
    before it commits. When the Redis key ``smartprov:test:slow:<run_id>`` exists on the
    broker, the hook sets it to ``reached`` (so the test knows the build is here) and waits
    while the key exists, at most `SLOW_MAX_S`: the test can then kill the worker in the middle
    of a build and check that none of its snapshots is visible. Costs one Redis round trip;
    never holds or fails a build without the key, and a Redis error is ignored.
    """
    client = _fault_redis()
    if client is None:
        return
    key = SLOW_KEY.format(run_id=run_id)
    try:
        if not client.set(key, "reached", xx=True, keepttl=True):  # only if the key exists
            return
        deadline = time.monotonic() + SLOW_MAX_S
        while time.monotonic() < deadline and client.exists(key):
            time.sleep(0.1)
    except Exception:  # the hook must never break a real build
        return


# --------------------------------------------------------------------------- publishing


@transaction.atomic
def report_publish(*, actor, report: MaturityReport) -> MaturityReport:
    """Publish a final snapshot; the one published before for the same cycle and region (or
    the Semarang Raya aggregate) is unpublished. Both changes are audited."""
    if not can_publish(scope_for(actor)):
        raise PermissionDenied(_("You are not allowed to do this."))
    # Publishing is serialised per cycle: two publishers cannot both win.
    Cycle.objects.select_for_update().filter(pk=report.cycle_id).values_list("pk").first()
    report = MaturityReport.objects.select_for_update().get(pk=report.pk)
    if report.kind != ReportKind.FINAL:
        raise WorkflowError(
            _("Only a final report can be published: provisional figures are not approved.")
        )
    if report.published:
        return report
    previous = MaturityReport.objects.select_for_update().filter(
        cycle_id=report.cycle_id, published=True
    )
    previous = (
        previous.filter(region__isnull=True)
        if report.region_id is None
        else previous.filter(region_id=report.region_id)
    )
    for old in previous:
        old.published, old.published_at, old.published_by = False, None, None
        old.save(update_fields=["published", "published_at", "published_by"])
        ReportEvent.objects.create(report=old, actor=actor, action=ReportAction.UNPUBLISHED)
    report.published, report.published_at, report.published_by = True, timezone.now(), actor
    report.save(update_fields=["published", "published_at", "published_by"])
    ReportEvent.objects.create(report=report, actor=actor, action=ReportAction.PUBLISHED)
    return report


__all__ = [
    "FAIL_ONCE_KEY",
    "SLOW_KEY",
    "TRANSIENT_ERRORS",
    "BuildError",
    "report_build",
    "report_build_in_process",
    "report_nightly_provisional",
    "report_publish",
    "report_run_for_approval",
    "report_run_retry",
    "report_run_start",
]
