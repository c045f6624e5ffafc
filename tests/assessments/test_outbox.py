"""The outbox: a side effect recorded in the transaction that causes it, delivered after commit.

An approval must never lose its report build: the message is written with the approval, handed
to Celery after commit, kept pending (with the attempt count and the error) while delivery fails,
re-sent by the sweeper later, and delivered once however often it is dispatched.

The consumer here is a probe task registered by this module, so that the tests do not depend on
the reports app: the topic is routed to it through settings.OUTBOX_ROUTES.
"""

import datetime

import pytest
from celery import shared_task
from django.db import connection, transaction
from django.utils import timezone

from assessments.models import Assessment, OutboxMessage
from assessments.services import (
    answer_save,
    answer_verify,
    assessment_approve,
    assessment_submit,
    outbox_dispatch,
    outbox_publish,
    outbox_sweep,
)
from smartprov.celery import app as celery_app

TOPIC = "assessment.approved"
deliveries: list[tuple[int, dict]] = []


@shared_task(name="tests.outbox_probe")
def outbox_probe(message_id: int, payload: dict) -> None:
    deliveries.append((message_id, payload))


@shared_task(name="tests.outbox_probe_failing")
def outbox_probe_failing(message_id: int, payload: dict) -> None:
    raise RuntimeError("report build crashed")


@shared_task(name="tests.outbox_probe_db_error")
def outbox_probe_db_error(message_id: int, payload: dict) -> None:
    """A consumer whose own database work fails (a report build hitting a constraint, say)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 / 0")


@pytest.fixture(autouse=True)
def probe(settings):
    """Route the approval topic to the probe; run tasks in-process as the test settings do."""
    settings.OUTBOX_ROUTES = {TOPIC: "tests.outbox_probe"}
    settings.CELERY_TASK_ALWAYS_EAGER = True
    deliveries.clear()
    yield deliveries
    deliveries.clear()


@pytest.fixture
def pending(db) -> OutboxMessage:
    """A message recorded in the (test's) transaction, not dispatched yet."""
    return outbox_publish(topic=TOPIC, payload={"assessment": 1, "region": "3374"})


def state(message: OutboxMessage) -> tuple:
    message.refresh_from_db()
    return (message.dispatched_at is not None, message.attempts, message.last_error)


# --------------------------------------------------------------------------- approval


@pytest.fixture
def verified_region_a(cast, cycle) -> Assessment:
    assessment = Assessment.objects.get(cycle=cycle, region=cast.region_a)
    owners = {cast.agency_a.pk: cast.operator_a, cast.agency_a2.pk: cast.operator_a2}
    for answer in assessment.answers.all():
        answer_save(
            actor=owners[answer.agency_id],
            answer_id=answer.pk,
            expected_version=answer.version,
            self_level=1,
            justification="Ada.",
        )
    assessment_submit(actor=cast.coordinator_a, assessment_id=assessment.pk)
    for answer in assessment.answers.all():
        answer_verify(actor=cast.reviewer, answer_id=answer.pk, verified_level=1)
    return assessment


def test_an_approval_records_one_message_and_delivers_it_after_commit(
    cast, cycle, verified_region_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assessment_approve(actor=cast.reviewer, assessment_id=verified_region_a.pk)
        message = OutboxMessage.objects.get()
        assert (message.topic, message.dispatched_at) == (TOPIC, None)
        assert deliveries == []  # not before the approval is committed

    expected_payload = {"assessment": verified_region_a.pk, "cycle": cycle.pk, "region": "3374"}
    assert message.payload == expected_payload
    assert deliveries == [(message.pk, expected_payload)]
    assert state(message) == (True, 1, "")


def test_an_approval_that_rolls_back_leaves_no_message(
    cast, verified_region_a, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        assessment_approve(actor=cast.reviewer, assessment_id=verified_region_a.pk)
        raise RuntimeError("the request failed after the approval")

    assert not OutboxMessage.objects.exists()
    assert deliveries == []
    verified_region_a.refresh_from_db()
    assert verified_region_a.state == "in_review"


# --------------------------------------------------------------------------- failed delivery


def test_a_topic_without_a_route_stays_pending_with_the_reason(pending, settings):
    settings.OUTBOX_ROUTES = {}

    assert outbox_dispatch(message_id=pending.pk) is False
    assert outbox_dispatch(message_id=pending.pk) is False

    assert state(pending) == (False, 2, "no route for topic assessment.approved")


def test_an_unreachable_broker_keeps_the_message_pending(pending, settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = False

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("Error 111 connecting to 127.0.0.1:6379")

    monkeypatch.setattr(celery_app, "send_task", broker_down)

    assert outbox_dispatch(message_id=pending.pk) is False

    assert state(pending) == (
        False,
        1,
        "ConnectionRefusedError: Error 111 connecting to 127.0.0.1:6379",
    )


def test_a_reachable_broker_gets_the_task_by_name(pending, settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    sent = []
    monkeypatch.setattr(
        celery_app, "send_task", lambda name, args, **kwargs: sent.append((name, args))
    )

    assert outbox_dispatch(message_id=pending.pk) is True

    assert sent == [("tests.outbox_probe", [pending.pk, {"assessment": 1, "region": "3374"}])]
    assert state(pending) == (True, 1, "")


def test_a_failing_consumer_in_process_keeps_the_message_pending(pending, settings):
    settings.OUTBOX_ROUTES = {TOPIC: "tests.outbox_probe_failing"}

    assert outbox_dispatch(message_id=pending.pk) is False

    assert state(pending) == (False, 1, "RuntimeError: report build crashed")


def test_a_consumer_whose_database_work_fails_keeps_the_message_pending(pending, settings):
    settings.OUTBOX_ROUTES = {TOPIC: "tests.outbox_probe_db_error"}

    assert outbox_dispatch(message_id=pending.pk) is False

    dispatched, attempts, error = state(pending)
    assert (dispatched, attempts) == (False, 1)
    assert error.startswith("DataError: division by zero")
    # The caller's transaction is still usable.
    assert OutboxMessage.objects.count() == 1


# --------------------------------------------------------------------------- sweeping, once


def test_the_sweeper_delivers_a_pending_message_later_exactly_once(pending, settings):
    settings.OUTBOX_ROUTES = {}
    outbox_dispatch(message_id=pending.pk)  # the route was missing (or the broker down)
    settings.OUTBOX_ROUTES = {TOPIC: "tests.outbox_probe"}

    assert outbox_sweep(older_than_seconds=0) == 1
    assert outbox_sweep(older_than_seconds=0) == 0

    assert deliveries == [(pending.pk, {"assessment": 1, "region": "3374"})]
    assert state(pending) == (True, 2, "")


def test_the_sweeper_leaves_fresh_messages_to_their_own_dispatch(pending):
    assert outbox_sweep() == 0
    assert deliveries == []

    OutboxMessage.objects.filter(pk=pending.pk).update(
        created_at=timezone.now() - datetime.timedelta(minutes=2)
    )
    assert outbox_sweep() == 1
    assert len(deliveries) == 1


def test_the_sweeper_skips_what_was_already_delivered(pending):
    outbox_dispatch(message_id=pending.pk)

    assert outbox_sweep(older_than_seconds=0) == 0
    assert len(deliveries) == 1


def test_a_message_dispatched_twice_is_delivered_once(pending):
    first = outbox_dispatch(message_id=pending.pk)
    second = outbox_dispatch(message_id=pending.pk)

    assert (first, second) == (True, False)
    assert deliveries == [(pending.pk, {"assessment": 1, "region": "3374"})]
    assert state(pending) == (True, 1, "")


def test_dispatching_an_unknown_message_does_nothing(db):
    assert outbox_dispatch(message_id=10**9) is False
    assert deliveries == []
