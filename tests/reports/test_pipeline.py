"""The scoring pipeline with eager tasks: triggers, runs, idempotent snapshots, retries,
immutability and publishing."""

from __future__ import annotations

import pandas as pd
import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, OperationalError, transaction
from django.utils import translation

from assessments.choices import CycleStatus
from assessments.exceptions import WorkflowError
from assessments.models import Answer, Cycle, OutboxMessage
from assessments.services import answer_verify
from reports import scoring, services
from reports.choices import ReportAction, ReportKind, RunState, RunTrigger
from reports.models import MaturityReport, ReportEvent, ReportImmutableError, ReportRun
from reports.selectors import answers_frame, cluster_frame, framework_frame, report_inputs
from reports.tasks import build_for_approved_assessment, nightly_provisional

pytestmark = pytest.mark.django_db


def engine_result(cycle, kind, region_codes=None):
    inputs = report_inputs(cycle=cycle, kind=kind, region_codes=region_codes)
    return scoring.compute(inputs.answers, inputs.framework, cluster=inputs.cluster)


def engine_index(cycle, region_code, kind=ReportKind.FINAL):
    basis = "final" if kind == ReportKind.FINAL else "provisional"
    result = engine_result(cycle, kind)
    return result.region_summary(region_code, cycle.pk, basis)["index"]


@pytest.fixture
def approved_a(cast, cycle, approve_region, django_capture_on_commit_callbacks):
    """Region A approved; the approval's outbox message has been delivered (eagerly)."""
    with django_capture_on_commit_callbacks(execute=True):
        approve_region(cycle, cast.region_a, verified={"D1-E1-01": 2})
    return cycle


def start(actor, cycle, *, region=None, kind=ReportKind.FINAL, capture):
    with capture(execute=True):
        run = services.report_run_start(actor=actor, cycle=cycle, region=region, kind=kind)
    run.refresh_from_db()
    return run


# --------------------------------------------------------------------------- approval trigger


def test_approval_builds_a_final_snapshot_whose_index_equals_the_engine_result(cast, approved_a):
    run = ReportRun.objects.get()
    assert run.trigger == RunTrigger.APPROVAL
    assert (run.state, run.progress, run.attempts) == (RunState.SUCCEEDED, 100, 1)
    assert run.started_at <= run.finished_at
    report = MaturityReport.objects.get(region=cast.region_a)
    assert report.kind == ReportKind.FINAL
    assert report.index == engine_index(approved_a, "3374")
    assert report.index > 0
    assert report.engine_version == scoring.ENGINE_VERSION
    assert report.framework_id == approved_a.framework_id
    assert set(run.reports.all()) == set(MaturityReport.objects.all())


def test_snapshot_records_weights_hash_and_tidy_tables(cast, approved_a):
    report = MaturityReport.objects.get(region=cast.region_a)
    inputs = report_inputs(cycle=approved_a, kind=ReportKind.FINAL)
    own = inputs.answers[inputs.answers["region"] == "3374"]
    assert report.input_hash == scoring.input_hash(own, inputs.framework)
    assert report.weights["indicators"]["D1-E1-01"] == 1.0
    assert set(report.weights) == {"dimensions", "elements", "indicators"}
    summary = report.results["summary"]
    assert summary["index"] == report.index
    assert [d["code"] for d in summary["dimensions"]] == ["D1", "D2"]
    elements = report.results["tables"]["elements"]
    assert {row["region"] for row in elements} == {"3374"}
    assert {row["basis"] for row in elements} == {"final", "provisional"}
    assert len(elements) == 2 * 4
    assert {row["agency"] for row in report.results["tables"]["agencies"]} == {
        "diskominfo",
        "dinkes",
    }


def test_verified_levels_not_self_levels_count_in_a_final_snapshot(cast, approved_a):
    report = MaturityReport.objects.get(region=cast.region_a)
    element = next(
        row
        for row in report.results["tables"]["elements"]
        if row["element"] == "D1-E1" and row["basis"] == "final"
    )
    # D1-E1-01 self-assessed 1, verified 2; D1-E1-02 self-assessed and verified 2.
    assert element["score"] == pytest.approx(2.0)


def test_approval_also_builds_the_semarang_raya_aggregate_of_approved_members(cast, approved_a):
    aggregate = MaturityReport.objects.get(region__isnull=True)
    region_a = MaturityReport.objects.get(region=cast.region_a)
    assert aggregate.results["summary"]["members"] == ["3374"]  # Demak is not approved yet
    assert aggregate.index == pytest.approx(region_a.index)


def test_redelivered_approval_message_finds_its_run_and_stores_nothing_new(cast, approved_a):
    message = OutboxMessage.objects.get(topic="assessment.approved")
    run = ReportRun.objects.get()
    build_for_approved_assessment.apply(args=[message.pk, message.payload], throw=True)
    assert ReportRun.objects.get() == run
    assert ReportRun.objects.get().attempts == 1
    assert MaturityReport.objects.count() == 2


def test_approval_message_is_routed_to_the_reports_task(settings):
    assert (
        settings.OUTBOX_ROUTES["assessment.approved"]
        == build_for_approved_assessment.name
        == "reports.tasks.build_for_approved_assessment"
    )


# --------------------------------------------------------------------------- idempotency


def test_running_the_same_build_twice_leaves_one_snapshot(
    cast, approved_a, django_capture_on_commit_callbacks
):
    before = set(MaturityReport.objects.values_list("pk", flat=True))
    first = start(
        cast.admin, approved_a, region=cast.region_a, capture=django_capture_on_commit_callbacks
    )
    second = start(
        cast.admin, approved_a, region=cast.region_a, capture=django_capture_on_commit_callbacks
    )
    assert first.state == second.state == RunState.SUCCEEDED
    assert set(MaturityReport.objects.values_list("pk", flat=True)) == before
    assert set(first.reports.all()) == set(second.reports.all())
    assert MaturityReport.objects.filter(region=cast.region_a).count() == 1


def test_approving_another_region_keeps_the_first_region_snapshot(
    cast, approved_a, approve_region, django_capture_on_commit_callbacks
):
    report_a = MaturityReport.objects.get(region=cast.region_a)
    with django_capture_on_commit_callbacks(execute=True):
        approve_region(approved_a, cast.region_b)
    start(cast.admin, approved_a, capture=django_capture_on_commit_callbacks)
    assert MaturityReport.objects.filter(region=cast.region_a).get() == report_a
    assert MaturityReport.objects.filter(region=cast.region_b).count() == 1
    aggregates = MaturityReport.objects.filter(region__isnull=True).order_by("pk")
    assert aggregates.count() == 2  # one member, then two
    latest = aggregates.last()
    assert latest.results["summary"]["members"] == ["3321", "3374"]
    indices = MaturityReport.objects.filter(region__isnull=False).values_list("index", flat=True)
    assert latest.index == pytest.approx(sum(indices) / 2)


def test_snapshot_unique_constraint_refuses_a_duplicate(cast, approved_a):
    report = MaturityReport.objects.get(region=cast.region_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        MaturityReport.objects.create(
            cycle=report.cycle,
            region=report.region,
            kind=report.kind,
            framework=report.framework,
            engine_version=report.engine_version,
            input_hash=report.input_hash,
            index=1.0,
            predicate="kurang",
            completeness=1.0,
        )


# --------------------------------------------------------------------------- provisional


def test_provisional_build_uses_self_levels_of_every_answer(
    cast, cycle, fill_region, django_capture_on_commit_callbacks
):
    fill_region(cycle, cast.region_b, levels={"D1-E1-01": 4}, submit=False)
    run = start(
        cast.admin, cycle, kind=ReportKind.PROVISIONAL, capture=django_capture_on_commit_callbacks
    )
    assert run.state == RunState.SUCCEEDED
    report_b = MaturityReport.objects.get(region=cast.region_b)
    assert report_b.kind == ReportKind.PROVISIONAL
    assert report_b.index == engine_index(cycle, "3321", ReportKind.PROVISIONAL)
    assert report_b.index > 0
    # Region A has nothing entered: it is scored, at zero and incomplete.
    report_a = MaturityReport.objects.get(region=cast.region_a)
    assert (report_a.index, report_a.completeness) == (0.0, 0.0)


def test_final_levels_of_unapproved_assessments_do_not_count(
    cast, cycle, fill_region, django_capture_on_commit_callbacks
):
    assessment = fill_region(cycle, cast.region_b)
    answer = Answer.objects.filter(assessment=assessment).first()
    answer_verify(actor=cast.reviewer, answer_id=answer.pk, verified_level=answer.self_level)
    frame = answers_frame(cycle=cycle, kind=ReportKind.PROVISIONAL)
    assert frame["final_level"].isna().all()
    assert frame["self_level"].notna().sum() == 8
    assert len(answers_frame(cycle=cycle, kind=ReportKind.FINAL)) == 0


def test_final_build_of_an_unapproved_region_is_refused(cast, cycle):
    with translation.override("en"), pytest.raises(WorkflowError) as error:
        services.report_run_start(
            actor=cast.admin, cycle=cycle, region=cast.region_b, kind=ReportKind.FINAL
        )
    assert "not approved" in str(error.value.message)
    assert not ReportRun.objects.exists()


def test_final_build_of_a_cycle_without_approvals_fails_with_a_clear_error(
    cast, cycle, django_capture_on_commit_callbacks
):
    with translation.override("en"):
        run = start(
            cast.admin, cycle, kind=ReportKind.FINAL, capture=django_capture_on_commit_callbacks
        )
    assert run.state == RunState.FAILED
    assert "no approved assessment" in run.error
    assert run.attempts == 1
    assert not MaturityReport.objects.exists()


def test_nightly_task_queues_a_provisional_build_of_each_open_cycle(
    cast, cycle, django_capture_on_commit_callbacks
):
    Cycle.objects.filter(pk=cycle.pk).update(status=CycleStatus.OPEN)
    with django_capture_on_commit_callbacks(execute=True):
        assert nightly_provisional.apply().get() == 1
    run = ReportRun.objects.get()
    assert (run.trigger, run.kind, run.region, run.state) == (
        RunTrigger.NIGHTLY,
        ReportKind.PROVISIONAL,
        None,
        RunState.SUCCEEDED,
    )
    assert run.started_by is None
    Cycle.objects.filter(pk=cycle.pk).update(status=CycleStatus.CLOSED)
    assert nightly_provisional.apply().get() == 0


def test_only_an_administrator_may_start_a_rebuild(cast, cycle):
    for user in (cast.reviewer, cast.operator_a, cast.coordinator_a):
        with pytest.raises(PermissionDenied):
            services.report_run_start(actor=user, cycle=cycle, kind=ReportKind.PROVISIONAL)


# --------------------------------------------------------------------------- failures, retries


def fail_times(monkeypatch, times: int):
    """Make the fault-injection hook raise a transient error `times` times."""
    calls = {"n": 0}

    def hook(run_id):
        calls["n"] += 1
        if calls["n"] <= times:
            raise OperationalError(f"injected transient failure {calls['n']}")

    monkeypatch.setattr(services, "_fault_injection_point", hook)
    return calls


def test_a_transient_failure_is_retried_and_both_attempts_are_recorded(
    cast, approved_a, monkeypatch, django_capture_on_commit_callbacks
):
    fail_times(monkeypatch, 1)
    run = start(
        cast.admin, approved_a, region=cast.region_a, capture=django_capture_on_commit_callbacks
    )
    assert (run.state, run.attempts, run.progress, run.error) == (RunState.SUCCEEDED, 2, 100, "")
    first, second = run.attempt_log
    assert "OperationalError: injected transient failure 1" in first["error"]
    assert second["error"] == ""
    assert first["attempt"] == 1 and second["attempt"] == 2


def test_transient_failures_beyond_three_retries_fail_the_run(
    cast, approved_a, monkeypatch, django_capture_on_commit_callbacks
):
    calls = fail_times(monkeypatch, 99)
    run = start(
        cast.admin, approved_a, region=cast.region_a, capture=django_capture_on_commit_callbacks
    )
    assert run.state == RunState.FAILED
    assert run.attempts == calls["n"] == 4  # the first try and three retries
    assert "injected transient failure 4" in run.error
    assert run.finished_at is not None


def test_a_programming_error_fails_the_run_at_once_with_its_text(
    cast, approved_a, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(*args, **kwargs):
        raise ValueError("answers repeat (cycle, region, indicator)")

    monkeypatch.setattr(scoring, "compute", broken)
    run = start(
        cast.admin, approved_a, region=cast.region_a, capture=django_capture_on_commit_callbacks
    )
    assert (run.state, run.attempts) == (RunState.FAILED, 1)
    assert run.error == "ValueError: answers repeat (cycle, region, indicator)"
    assert run.progress < 100


def test_a_failed_run_can_be_retried_and_then_succeeds(
    cast, approved_a, monkeypatch, django_capture_on_commit_callbacks
):
    real = scoring.compute
    monkeypatch.setattr(scoring, "compute", lambda *a, **k: 1 / 0)
    run = start(
        cast.admin, approved_a, region=cast.region_a, capture=django_capture_on_commit_callbacks
    )
    assert run.state == RunState.FAILED
    monkeypatch.setattr(scoring, "compute", real)
    with django_capture_on_commit_callbacks(execute=True):
        services.report_run_retry(actor=cast.admin, run_id=run.pk)
    run.refresh_from_db()
    assert (run.state, run.attempts, run.error) == (RunState.SUCCEEDED, 2, "")
    with pytest.raises(WorkflowError):
        services.report_run_retry(actor=cast.admin, run_id=run.pk)


def test_a_broker_that_cannot_be_reached_fails_the_run_with_the_reason(
    cast, approved_a, monkeypatch, django_capture_on_commit_callbacks
):
    from reports import tasks

    def unreachable(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379")

    monkeypatch.setattr(tasks.run_report, "delay", unreachable)
    with translation.override("en"):
        run = start(
            cast.admin, approved_a, region=cast.region_a, capture=django_capture_on_commit_callbacks
        )
    assert run.state == RunState.FAILED
    assert "could not be queued" in run.error and "6379" in run.error


def test_a_succeeded_run_is_not_built_again(cast, approved_a, monkeypatch):
    run = ReportRun.objects.get()
    calls = fail_times(monkeypatch, 0)
    services.report_build(run_id=run.pk)
    assert calls["n"] == 0
    assert ReportRun.objects.get().attempts == 1


def test_the_fault_injection_hook_is_inert_without_a_redis_broker(settings):
    settings.CELERY_BROKER_URL = "memory://"
    services._fault_redis.cache_clear()
    try:
        services._fault_injection_point(1)  # no error
        assert services._fault_redis() is None
    finally:
        services._fault_redis.cache_clear()


# --------------------------------------------------------------------------- immutability


def test_a_snapshot_refuses_changes_to_its_results(cast, approved_a):
    report = MaturityReport.objects.get(region=cast.region_a)
    report.index = 4.9
    with pytest.raises(ReportImmutableError):
        report.save()
    with pytest.raises(ReportImmutableError):
        report.save(update_fields=["index"])
    with pytest.raises(ReportImmutableError):
        MaturityReport.objects.filter(pk=report.pk).update(input_hash="0" * 64)
    with pytest.raises(ReportImmutableError):
        report.delete()
    with pytest.raises(ReportImmutableError):
        MaturityReport.objects.filter(pk=report.pk).delete()
    report.refresh_from_db()
    assert report.index == engine_index(approved_a, "3374")


# --------------------------------------------------------------------------- publishing


def second_final_snapshot(report: MaturityReport) -> MaturityReport:
    """Another final snapshot of the same region (as after a reopening and reapproval)."""
    return MaturityReport.objects.create(
        cycle=report.cycle,
        region=report.region,
        kind=ReportKind.FINAL,
        framework=report.framework,
        engine_version=report.engine_version,
        input_hash="f" * 64,
        weights=report.weights,
        results=report.results,
        index=3.1,
        predicate="baik",
        completeness=1.0,
    )


def test_publishing_unpublishes_the_previous_report_and_audits_both(cast, approved_a):
    first = MaturityReport.objects.get(region=cast.region_a)
    second = second_final_snapshot(first)
    services.report_publish(actor=cast.admin, report=first)
    services.report_publish(actor=cast.admin, report=second)
    first.refresh_from_db()
    second.refresh_from_db()
    assert not first.published and first.published_at is None
    assert second.published and second.published_by == cast.admin
    events = list(ReportEvent.objects.order_by("pk").values_list("report", "action", "actor"))
    assert events == [
        (first.pk, ReportAction.PUBLISHED, cast.admin.pk),
        (first.pk, ReportAction.UNPUBLISHED, cast.admin.pk),
        (second.pk, ReportAction.PUBLISHED, cast.admin.pk),
    ]
    # The aggregate is published independently of the region's report.
    aggregate = MaturityReport.objects.get(region__isnull=True)
    services.report_publish(actor=cast.admin, report=aggregate)
    assert MaturityReport.objects.filter(published=True).count() == 2


@pytest.mark.parametrize("role", ["reviewer", "coordinator_a", "operator_a"])
def test_only_administrators_publish(cast, approved_a, role):
    from django.core.exceptions import PermissionDenied

    report = MaturityReport.objects.get(region=cast.region_a)
    with pytest.raises(PermissionDenied):
        services.report_publish(actor=getattr(cast, role), report=report)
    report.refresh_from_db()
    assert not report.published and not ReportEvent.objects.exists()


def test_publishing_a_published_report_again_changes_nothing(cast, approved_a):
    report = MaturityReport.objects.get(region=cast.region_a)
    services.report_publish(actor=cast.admin, report=report)
    services.report_publish(actor=cast.admin, report=report)
    assert ReportEvent.objects.count() == 1


def test_a_provisional_report_cannot_be_published(
    cast, cycle, fill_region, django_capture_on_commit_callbacks
):
    fill_region(cycle, cast.region_b, submit=False)
    start(
        cast.admin, cycle, kind=ReportKind.PROVISIONAL, capture=django_capture_on_commit_callbacks
    )
    report = MaturityReport.objects.filter(region=cast.region_b).get()
    with pytest.raises(WorkflowError):
        services.report_publish(actor=cast.admin, report=report)
    assert not ReportEvent.objects.exists()


def test_operators_and_coordinators_cannot_publish(cast, approved_a):
    report = MaturityReport.objects.get(region=cast.region_a)
    for user in (cast.operator_a, cast.coordinator_a):
        with pytest.raises(PermissionDenied):
            services.report_publish(actor=user, report=report)
    assert not MaturityReport.objects.filter(published=True).exists()


def test_the_database_allows_one_published_report_per_cycle_and_region(cast, approved_a):
    first = MaturityReport.objects.get(region=cast.region_a)
    second = second_final_snapshot(first)
    services.report_publish(actor=cast.admin, report=first)
    with pytest.raises(IntegrityError), transaction.atomic():
        MaturityReport.objects.filter(pk=second.pk).update(
            published=True, published_at=first.published_at
        )


# --------------------------------------------------------------------------- selectors


def test_inputs_are_loaded_in_four_queries_whatever_the_size(
    cast, approved_a, django_assert_num_queries
):
    with django_assert_num_queries(4):
        inputs = report_inputs(cycle=approved_a, kind=ReportKind.PROVISIONAL)
    assert len(inputs.answers) == 16
    # Code columns arrive as categoricals built from the ids (no string hashing per row).
    for column in ("region", "indicator", "agency"):
        assert isinstance(inputs.answers[column].dtype, pd.CategoricalDtype)
    assert sorted(set(inputs.answers["region"])) == ["3321", "3374"]
    assert list(inputs.answers.columns) == list(scoring.ANSWER_COLUMNS)
    assert list(inputs.framework.columns) == list(scoring.FRAMEWORK_COLUMNS)
    with django_assert_num_queries(1):
        frame, _weights = framework_frame(framework_id=approved_a.framework_id)
    assert len(frame) == 8
    with django_assert_num_queries(1):
        members = cluster_frame(cycle=approved_a)
    assert sorted(members["region"]) == ["3321", "3374"]


def test_categorical_inputs_hash_and_score_like_their_codes_as_text(cast, approved_a):
    """The selector's categoricals are only a faster form of the codes: a snapshot built
    from them has the input hash and the results the same codes as `str` would give."""
    inputs = report_inputs(cycle=approved_a, kind=ReportKind.PROVISIONAL)
    as_text = inputs.answers.astype({"region": str, "indicator": str, "agency": str})
    assert not isinstance(as_text["region"].dtype, pd.CategoricalDtype)
    assert scoring.input_hash(inputs.answers, inputs.framework) == scoring.input_hash(
        as_text, inputs.framework
    )
    assert (
        scoring.compute(inputs.answers, inputs.framework).to_json()
        == scoring.compute(as_text, inputs.framework).to_json()
    )
