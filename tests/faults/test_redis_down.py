"""Redis is down when an assessment is approved.

Promise: the approval commits; the report build is recorded as pending (the transactional
outbox, `assessments.models.OutboxMessage`) and runs once Redis is back, when the sweeper
re-sends it: never lost, and never twice.

The test breaks a redis-server of its own (`private_redis`), never the machine's.
"""

from __future__ import annotations

import time

import pytest
import redis

from assessments.choices import AssessmentState
from assessments.models import Answer, Assessment, OutboxMessage
from assessments.services import (
    answer_verify,
    assessment_approve,
    outbox_dispatch,
    outbox_sweep,
)
from reports.choices import FINISHED_RUN_STATES, ReportKind, RunState, RunTrigger
from reports.models import MaturityReport, ReportRun

from .conftest import log_tail, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BUILD_TASK = "reports.tasks.build_for_approved_assessment"


def test_an_approval_while_redis_is_down_commits_and_its_build_runs_once_when_redis_is_back(
    private_redis, use_broker, queue_name, start_worker, cast, cycle, fill_region
):
    use_broker(private_redis.url, queue_name)
    assessment = fill_region(cycle, cast.region_a)
    for answer in Answer.objects.filter(assessment=assessment):
        answer_verify(actor=cast.reviewer, answer_id=answer.pk, verified_level=answer.self_level)

    private_redis.kill()
    started = time.monotonic()
    assessment_approve(actor=cast.reviewer, assessment_id=assessment.pk)
    # The broker being gone costs the approval a few publish retries, not a hang.
    assert time.monotonic() - started < 15

    # The approval committed, and its report build waits in the outbox with the reason.
    assert Assessment.objects.get(pk=assessment.pk).state == AssessmentState.APPROVED
    message = OutboxMessage.objects.get(topic="assessment.approved")
    assert message.dispatched_at is None
    assert message.attempts == 1
    assert message.last_error, "the failed delivery is recorded"
    assert message.payload["assessment"] == assessment.pk
    assert not ReportRun.objects.exists()

    # The sweeper tries again while Redis is still down: still pending, one attempt more.
    assert outbox_sweep(older_than_seconds=0) == 0
    message.refresh_from_db()
    assert (message.dispatched_at, message.attempts) == (None, 2)

    # Redis is back (empty: it kept nothing), a worker is up, the sweeper runs.
    private_redis.start()
    worker = start_worker(broker=private_redis.url, queue=queue_name)
    assert outbox_sweep(older_than_seconds=0) == 1
    message.refresh_from_db()
    assert message.dispatched_at is not None and message.last_error == ""
    assert message.attempts == 3

    run = wait_until(
        lambda: ReportRun.objects.filter(
            trigger=RunTrigger.APPROVAL, state__in=FINISHED_RUN_STATES
        ).first(),
        timeout=30,
        what="the approval's report build",
        on_fail=lambda: log_tail(worker.log),
    )
    assert run.state == RunState.SUCCEEDED, f"{run.error}\n{log_tail(worker.log)}"
    assert run.outbox_message == message.pk
    assert run.attempts == 1
    assert MaturityReport.objects.filter(region=cast.region_a, kind=ReportKind.FINAL).count() == 1
    assert MaturityReport.objects.filter(region__isnull=True, kind=ReportKind.FINAL).count() == 1
    assert set(run.reports.all()) == set(MaturityReport.objects.all())

    # Never twice: the sweeper and a direct dispatch find nothing left to send ...
    assert outbox_sweep(older_than_seconds=0) == 0
    assert outbox_dispatch(message_id=message.pk) is False
    message.refresh_from_db()
    assert message.attempts == 3
    # ... the broker holds nothing more for the worker, and the worker took the build once.
    client = redis.Redis.from_url(private_redis.url)
    wait_until(
        lambda: client.llen(queue_name) == 0 and not client.hlen("unacked"),
        timeout=10,
        what="the queue to drain",
    )
    lines = log_tail(worker.log, 10_000).splitlines()
    received = [line for line in lines if f"Task {BUILD_TASK}[" in line and "received" in line]
    assert len(received) == 1, log_tail(worker.log)
    assert ReportRun.objects.count() == 1
    assert MaturityReport.objects.count() == 2
