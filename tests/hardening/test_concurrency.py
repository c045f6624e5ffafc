"""Two people doing the same thing at the same moment: exactly one transition happens.

Each race runs the services in real threads (each with its own database connection, closed at
the end), released together by a barrier. The window between a service's check of the state
and its write is widened with a short sleep, so that a missing row lock would let both threads
pass the check: with the locks, the second thread waits for the first to commit, then sees the
new state and is refused (InvalidTransition or WorkflowError). Side effects are counted after:
one audit event, one outbox message and report build, one notification per recipient.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection

from assessments import services
from assessments.choices import AnswerState, AssessmentState, EventKind, NotificationKind
from assessments.exceptions import InvalidTransition, WorkflowError
from assessments.models import (
    Answer,
    AnswerEvent,
    Assessment,
    AssessmentEvent,
    Notification,
    OutboxMessage,
)
from regions.choices import MemberRole
from reports.choices import RunTrigger
from reports.models import ReportRun
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

WINDOW_S = 0.3  # long enough for the other thread to reach the same check
JOIN_TIMEOUT_S = 120


def race(*calls: Callable[[], object]) -> list[tuple[str, object]]:
    """Run the calls in threads released at once; [("ok", result) | ("error", exception)]."""
    barrier = threading.Barrier(len(calls))
    results: list[tuple[str, object]] = [("missing", None)] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = ("ok", call())
        except Exception as error:  # the refused one is the point of the test
            results[index] = ("error", error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT_S)
        assert not thread.is_alive(), "a thread is stuck (deadlock?)"
    return results


def one_winner(results, refusal: type[Exception]):
    """Exactly one call succeeded; every other was refused with `refusal`."""
    outcomes = Counter(kind for kind, _value in results)
    assert outcomes == Counter({"ok": 1, "error": len(results) - 1}), results
    for kind, value in results:
        if kind == "error":
            assert isinstance(value, refusal), repr(value)
            assert str(value.message)
    return next(value for kind, value in results if kind == "ok")


@pytest.fixture
def wide_window(monkeypatch):
    """Sleep right after each state check, inside the transaction, before the write."""

    def widen(name: str) -> None:
        original = getattr(services, name)

        def slow(*args, **kwargs):
            result = original(*args, **kwargs)
            time.sleep(WINDOW_S)
            return result

        monkeypatch.setattr(services, name, slow)

    widen("_check_answer_move")
    widen("_check_assessment_move")


@pytest.fixture
def region_answers(cast, cycle):
    """Every answer of region A complete at level 1 (no evidence needed), still draft."""
    answers = list(
        Answer.objects.filter(assessment__cycle=cycle, assessment__region=cast.region_a)
        .select_related("agency")
        .order_by("indicator__code")
    )
    operators = {cast.agency_a.pk: cast.operator_a, cast.agency_a2.pk: cast.operator_a2}
    for answer in answers:
        services.answer_save(
            actor=operators[answer.agency_id],
            answer_id=answer.pk,
            expected_version=answer.version,
            self_level=1,
            justification="Sudah ada SOP dan laporan tahunan.",
        )
    return answers


@pytest.fixture
def assessment_a(cast, cycle) -> Assessment:
    return Assessment.objects.get(cycle=cycle, region=cast.region_a)


@pytest.fixture
def second_reviewer(db):
    return MembershipFactory(
        user=UserFactory(username="reviewer-2"), role=MemberRole.REVIEWER, agency=None, region=None
    ).user


def state_events(model, **filters) -> list[tuple[str, str]]:
    return list(
        model.objects.filter(kind=EventKind.STATE, **filters)
        .order_by("pk")
        .values_list("old_value", "new_value")
    )


def test_a_double_clicked_answer_submit_makes_one_transition(
    cast, assessment_a, region_answers, wide_window
):
    # Every other answer is submitted: this one closes the region, so the assessment moves too.
    last, others = region_answers[0], region_answers[1:]
    for answer in others:
        actor = cast.operator_a if answer.agency_id == cast.agency_a.pk else cast.operator_a2
        services.answer_submit(actor=actor, answer_id=answer.pk)

    submit = lambda: services.answer_submit(actor=cast.operator_a, answer_id=last.pk)  # noqa: E731
    one_winner(race(submit, submit), InvalidTransition)

    last.refresh_from_db()
    assert last.state == AnswerState.SUBMITTED
    assert state_events(AnswerEvent, answer=last) == [(AnswerState.DRAFT, AnswerState.SUBMITTED)]
    assert state_events(AssessmentEvent, assessment=assessment_a) == [
        ("", AssessmentState.OPEN),
        (AssessmentState.OPEN, AssessmentState.SUBMITTED),
    ]
    assert not Notification.objects.exists() and not OutboxMessage.objects.exists()


def test_a_double_clicked_region_submit_submits_each_answer_once(
    cast, assessment_a, region_answers, wide_window
):
    submit = lambda: services.assessment_submit(  # noqa: E731
        actor=cast.coordinator_a, assessment_id=assessment_a.pk
    )
    submitted = one_winner(race(submit, submit), WorkflowError)

    assert sorted(a.pk for a in submitted) == sorted(a.pk for a in region_answers)
    events = AnswerEvent.objects.filter(kind=EventKind.STATE, answer__in=region_answers)
    assert Counter(events.values_list("answer_id", flat=True)) == Counter(
        {answer.pk: 1 for answer in region_answers}
    )
    assert set(events.values_list("new_value", flat=True)) == {AnswerState.SUBMITTED}
    assessment_a.refresh_from_db()
    assert assessment_a.state == AssessmentState.SUBMITTED
    assert state_events(AssessmentEvent, assessment=assessment_a) == [
        ("", AssessmentState.OPEN),
        (AssessmentState.OPEN, AssessmentState.SUBMITTED),
    ]


def test_two_reviewers_approving_at_once_make_one_approval(
    cast, assessment_a, region_answers, second_reviewer, wide_window
):
    services.assessment_submit(actor=cast.coordinator_a, assessment_id=assessment_a.pk)
    for answer in region_answers:
        services.answer_verify(actor=cast.reviewer, answer_id=answer.pk, verified_level=1)
    recipients = {cast.operator_a.pk, cast.operator_a2.pk, cast.coordinator_a.pk}

    approved = one_winner(
        race(
            lambda: services.assessment_approve(actor=cast.reviewer, assessment_id=assessment_a.pk),
            lambda: services.assessment_approve(
                actor=second_reviewer, assessment_id=assessment_a.pk
            ),
        ),
        InvalidTransition,
    )

    assessment_a.refresh_from_db()
    assert assessment_a.state == AssessmentState.APPROVED
    assert assessment_a.approved_by_id == approved.approved_by_id
    approvals = AssessmentEvent.objects.filter(
        assessment=assessment_a, kind=EventKind.STATE, new_value=AssessmentState.APPROVED
    )
    assert list(approvals.values_list("actor_id", flat=True)) == [approved.approved_by_id]
    messages = OutboxMessage.objects.filter(topic="assessment.approved")
    assert list(messages.values_list("payload__assessment", flat=True)) == [assessment_a.pk]
    runs = ReportRun.objects.filter(trigger=RunTrigger.APPROVAL, region=cast.region_a)
    assert list(runs.values_list("outbox_message", flat=True)) == [messages.get().pk]
    notified = Notification.objects.filter(kind=NotificationKind.ASSESSMENT_APPROVED)
    assert Counter(notified.values_list("user_id", flat=True)) == Counter(
        dict.fromkeys(recipients, 1)
    )


def test_two_reviewers_verifying_and_returning_at_once_make_one_move(
    cast, region_answers, second_reviewer, wide_window
):
    answer = region_answers[0]
    services.answer_submit(actor=cast.operator_a, answer_id=answer.pk)

    winner = one_winner(
        race(
            lambda: services.answer_verify(
                actor=cast.reviewer, answer_id=answer.pk, verified_level=1
            ),
            lambda: services.answer_return(
                actor=second_reviewer, answer_id=answer.pk, reason="Lengkapi buktinya."
            ),
        ),
        InvalidTransition,
    )

    answer.refresh_from_db()
    assert answer.state == winner.state
    assert state_events(AnswerEvent, answer=answer) == [
        (AnswerState.DRAFT, AnswerState.SUBMITTED),
        (AnswerState.SUBMITTED, winner.state),
    ]
    # The agency is told once, about what actually happened.
    kinds = {
        AnswerState.VERIFIED: NotificationKind.ANSWER_VERIFIED,
        AnswerState.RETURNED: NotificationKind.ANSWER_RETURNED,
    }
    assert list(Notification.objects.values_list("kind", "user_id")) == [
        (kinds[winner.state], cast.operator_a.pk)
    ]
