"""The two state machines of the workflow, driven through the real services.

Answer: draft → submitted → (returned → submitted)* → verified, and a verified answer moves
again only while an administrator has reopened its assessment. Assessment: open → submitted
(when the last open answer is submitted) → in review (first review action) → approved (every
answer verified) → reopened (administrator, with a reason) → approved again (relocked).
"""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone, translation

from assessments.choices import AnswerState, AssessmentState, EventKind
from assessments.exceptions import IncompleteAnswersError, InvalidTransition, WorkflowError
from assessments.models import Answer, AnswerEvent, Assessment, Cycle
from assessments.services import (
    answer_copy_previous,
    answer_return,
    answer_save,
    answer_submit,
    answer_verify,
    assessment_approve,
    assessment_reopen,
    assessment_submit,
    cycle_open,
    deadline_extend,
    evidence_add,
)
from dimensions.services import framework_clone
from tests.factories import build_framework


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English, the source language."""
    with translation.override("en"):
        yield


# --------------------------------------------------------------------------- helpers


def fill(actor, answer_id: int, *, level: int = 1, justification: str = "SOP layanan daring."):
    """Save a complete answer (level 1 needs no evidence in the test framework)."""
    version = Answer.objects.values_list("version", flat=True).get(pk=answer_id)
    return answer_save(
        actor=actor,
        answer_id=answer_id,
        expected_version=version,
        self_level=level,
        justification=justification,
    )


def state_of(answer_id: int) -> str:
    return Answer.objects.values_list("state", flat=True).get(pk=answer_id)


@pytest.fixture
def assessment_a(cycle, cast) -> Assessment:
    return Assessment.objects.get(cycle=cycle, region=cast.region_a)


@pytest.fixture
def answers_a2(cycle, cast) -> list[Answer]:
    """Region A's answers owned by agency A2 (the D2 elements)."""
    return list(
        Answer.objects.filter(assessment__cycle=cycle, agency=cast.agency_a2).order_by(
            "indicator__code"
        )
    )


@pytest.fixture
def draft(cast, answers_a) -> Answer:
    """One of agency A's answers, complete but still a draft."""
    return fill(cast.operator_a, answers_a[0].pk)


@pytest.fixture
def submitted(cast, draft) -> Answer:
    return answer_submit(actor=cast.operator_a, answer_id=draft.pk)


@pytest.fixture
def verified(cast, submitted) -> Answer:
    return answer_verify(actor=cast.reviewer, answer_id=submitted.pk, verified_level=1)


@pytest.fixture
def returned(cast, submitted) -> Answer:
    return answer_return(actor=cast.reviewer, answer_id=submitted.pk, reason="Bukti kurang.")


@pytest.fixture
def region_a_submitted(cast, assessment_a, answers_a, answers_a2) -> Assessment:
    """Every answer of region A complete and submitted by the coordinator."""
    for answer in answers_a:
        fill(cast.operator_a, answer.pk)
    for answer in answers_a2:
        fill(cast.operator_a2, answer.pk)
    assessment_submit(actor=cast.coordinator_a, assessment_id=assessment_a.pk)
    assessment_a.refresh_from_db()
    return assessment_a


@pytest.fixture
def region_a_verified(cast, region_a_submitted) -> Assessment:
    for answer in region_a_submitted.answers.all():
        answer_verify(actor=cast.reviewer, answer_id=answer.pk, verified_level=answer.self_level)
    region_a_submitted.refresh_from_db()
    return region_a_submitted


@pytest.fixture
def approved(cast, region_a_verified) -> Assessment:
    return assessment_approve(actor=cast.reviewer, assessment_id=region_a_verified.pk)


@pytest.fixture
def reopened(cast, approved) -> Assessment:
    return assessment_reopen(
        actor=cast.admin, assessment_id=approved.pk, reason="Koreksi data kependudukan."
    )


# --------------------------------------------------------------------------- answer: legal moves


def test_operator_submits_a_complete_draft(cast, answers_a):
    answer = answers_a[0]
    fill(cast.operator_a, answer.pk)

    answer = answer_submit(actor=cast.operator_a, answer_id=answer.pk)

    answer.refresh_from_db()
    assert answer.state == AnswerState.SUBMITTED
    assert answer.submitted_at is not None
    event = answer.events.get(kind=EventKind.STATE)
    assert (event.old_value, event.new_value, event.actor) == (
        AnswerState.DRAFT,
        AnswerState.SUBMITTED,
        cast.operator_a,
    )


def test_reviewer_returns_a_submitted_answer_with_its_reason(cast, submitted):
    answer_return(actor=cast.reviewer, answer_id=submitted.pk, reason="Lampirkan SK Wali Kota.")

    submitted.refresh_from_db()
    assert submitted.state == AnswerState.RETURNED
    assert submitted.return_reason == "Lampirkan SK Wali Kota."
    assert submitted.reviewed_snapshot["self_level"] == 1


def test_operator_revises_and_resubmits_a_returned_answer(cast, returned):
    fill(cast.operator_a, returned.pk, level=1, justification="SK Wali Kota No. 12/2024.")

    answer_submit(actor=cast.operator_a, answer_id=returned.pk)

    returned.refresh_from_db()
    assert returned.state == AnswerState.SUBMITTED
    assert returned.justification == "SK Wali Kota No. 12/2024."
    moves = list(returned.events.filter(kind=EventKind.STATE).values_list("old_value", "new_value"))
    assert moves == [
        ("draft", "submitted"),
        ("submitted", "returned"),
        ("returned", "submitted"),
    ]


def test_reviewer_verifies_at_the_self_assessed_level_without_a_reason(cast, submitted):
    answer_verify(actor=cast.reviewer, answer_id=submitted.pk, verified_level=1)

    submitted.refresh_from_db()
    assert submitted.state == AnswerState.VERIFIED
    assert (submitted.self_level, submitted.verified_level, submitted.final_level) == (1, 1, 1)
    assert submitted.verified_by == cast.reviewer
    assert submitted.verified_at is not None


def test_verifying_at_a_different_level_requires_a_reason(cast, submitted):
    with pytest.raises(WorkflowError) as refused:
        answer_verify(actor=cast.reviewer, answer_id=submitted.pk, verified_level=2)
    assert "reason" in refused.value.field_errors
    assert state_of(submitted.pk) == AnswerState.SUBMITTED

    answer_verify(
        actor=cast.reviewer,
        answer_id=submitted.pk,
        verified_level=2,
        reason="Sudah berlaku di semua OPD.",
    )
    submitted.refresh_from_db()
    # The self-assessed level is kept beside the verified one; neither overwrites the other.
    assert (submitted.self_level, submitted.verified_level, submitted.final_level) == (1, 2, 2)
    assert submitted.verification_reason == "Sudah berlaku di semua OPD."


@pytest.mark.parametrize("reason", ["", "   \n "])
def test_returning_an_answer_requires_a_reason(cast, submitted, reason):
    with pytest.raises(WorkflowError) as refused:
        answer_return(actor=cast.reviewer, answer_id=submitted.pk, reason=reason)

    assert refused.value.field_errors["reason"]
    assert state_of(submitted.pk) == AnswerState.SUBMITTED


# --------------------------------------------------------------------------- answer: illegal moves


def _verify(cast, answer_id):
    return answer_verify(actor=cast.reviewer, answer_id=answer_id, verified_level=1)


def _return(cast, answer_id):
    return answer_return(actor=cast.reviewer, answer_id=answer_id, reason="Kurang lengkap.")


def _submit(cast, answer_id):
    return answer_submit(actor=cast.operator_a, answer_id=answer_id)


def _edit(cast, answer_id):
    return fill(cast.operator_a, answer_id, justification="Teks baru.")


@pytest.mark.parametrize(
    ("start", "move", "message"),
    [
        ("draft", _verify, "cannot verify an answer that is draft"),
        ("draft", _return, "cannot return for revision an answer that is draft"),
        ("submitted", _submit, "cannot submit an answer that is submitted"),
        ("submitted", _edit, "answer that is submitted cannot be edited"),
        ("returned", _verify, "cannot verify an answer that is returned for revision"),
        ("returned", _return, "cannot return for revision an answer that is returned"),
        ("verified", _submit, "cannot submit an answer that is verified"),
        ("verified", _edit, "answer that is verified cannot be edited"),
        ("verified", _verify, "only be changed after an administrator reopens"),
        ("verified", _return, "only be changed after an administrator reopens"),
    ],
    ids=lambda value: getattr(value, "__name__", value).lstrip("_").replace(" ", "-"),
)
def test_an_illegal_answer_move_is_refused_with_a_message(request, cast, start, move, message):
    answer_id = request.getfixturevalue(start).pk
    events_before = AnswerEvent.objects.filter(answer_id=answer_id).count()

    with pytest.raises(InvalidTransition) as refused:
        move(cast, answer_id)

    assert message in str(refused.value.message).lower()
    assert state_of(answer_id) == start
    assert AnswerEvent.objects.filter(answer_id=answer_id).count() == events_before


# --------------------------------------------------------------------------- completeness


def test_submitting_an_empty_draft_lists_the_missing_level_and_justification(cast, answers_a):
    answer = answers_a[0]

    with pytest.raises(IncompleteAnswersError) as refused:
        answer_submit(actor=cast.operator_a, answer_id=answer.pk)

    assert refused.value.missing == [
        {
            "answer": answer.pk,
            "indicator": "D1-E1-01",
            "missing": ["a level", "a justification"],
        }
    ]
    assert "1 answer(s) are not complete yet" in str(refused.value.message)
    assert state_of(answer.pk) == AnswerState.DRAFT


def test_a_level_that_requires_evidence_cannot_be_submitted_without_it(cast, answers_a):
    answer = answers_a[0]
    fill(cast.operator_a, answer.pk, level=2)

    with pytest.raises(IncompleteAnswersError) as refused:
        answer_submit(actor=cast.operator_a, answer_id=answer.pk)
    assert refused.value.missing[0]["missing"] == ["evidence (required at this level)"]

    evidence_add(actor=cast.operator_a, answer_id=answer.pk, url="https://semarangkota.go.id/sop")
    answer_submit(actor=cast.operator_a, answer_id=answer.pk)
    assert state_of(answer.pk) == AnswerState.SUBMITTED


def test_assessment_submit_is_all_or_nothing(cast, assessment_a, answers_a):
    complete, incomplete = answers_a[:3], answers_a[3]
    for answer in complete:
        fill(cast.operator_a, answer.pk)
    fill(cast.operator_a, incomplete.pk, level=3, justification="")

    with pytest.raises(IncompleteAnswersError) as refused:
        assessment_submit(actor=cast.operator_a, assessment_id=assessment_a.pk)

    assert refused.value.missing == [
        {
            "answer": incomplete.pk,
            "indicator": incomplete.indicator.code,
            "missing": ["a justification", "evidence (required at this level)"],
        }
    ]
    assert set(Answer.objects.filter(agency=cast.agency_a).values_list("state", flat=True)) == {
        AnswerState.DRAFT
    }
    assert not AnswerEvent.objects.filter(kind=EventKind.STATE).exists()

    fill(cast.operator_a, incomplete.pk, level=1, justification="Sudah ada.")
    submitted = assessment_submit(actor=cast.operator_a, assessment_id=assessment_a.pk)
    # An operator submits only their own agency's answers.
    assert sorted(a.pk for a in submitted) == sorted(a.pk for a in answers_a)
    assert set(Answer.objects.filter(agency=cast.agency_a2).values_list("state", flat=True)) == {
        AnswerState.DRAFT
    }


def test_submitting_when_nothing_is_open_is_refused(cast, assessment_a, answers_a):
    for answer in answers_a:
        fill(cast.operator_a, answer.pk)
    assessment_submit(actor=cast.operator_a, assessment_id=assessment_a.pk)

    with pytest.raises(WorkflowError, match="nothing left to submit"):
        assessment_submit(actor=cast.operator_a, assessment_id=assessment_a.pk)


# --------------------------------------------------------------------------- assessment moves


def test_assessment_is_submitted_when_its_last_open_answer_is_submitted(
    cast, assessment_a, answers_a, answers_a2
):
    for answer in answers_a:
        fill(cast.operator_a, answer.pk)
        answer_submit(actor=cast.operator_a, answer_id=answer.pk)
    for answer in answers_a2[:-1]:
        fill(cast.operator_a2, answer.pk)
        answer_submit(actor=cast.operator_a2, answer_id=answer.pk)
    assessment_a.refresh_from_db()
    assert assessment_a.state == AssessmentState.OPEN

    fill(cast.operator_a2, answers_a2[-1].pk)
    answer_submit(actor=cast.operator_a2, answer_id=answers_a2[-1].pk)

    assessment_a.refresh_from_db()
    assert assessment_a.state == AssessmentState.SUBMITTED
    assert assessment_a.submitted_at is not None
    event = assessment_a.events.order_by("pk").last()
    assert (event.kind, event.old_value, event.new_value, event.actor) == (
        EventKind.STATE,
        AssessmentState.OPEN,
        AssessmentState.SUBMITTED,
        cast.operator_a2,
    )


def test_coordinator_submits_the_whole_region_at_once(cast, region_a_submitted):
    assert region_a_submitted.state == AssessmentState.SUBMITTED
    assert set(region_a_submitted.answers.values_list("state", flat=True)) == {"submitted"}


@pytest.mark.parametrize("first_action", ["return", "verify"])
def test_first_review_action_puts_a_submitted_assessment_in_review(
    cast, region_a_submitted, first_action
):
    answer = region_a_submitted.answers.first()
    if first_action == "return":
        answer_return(actor=cast.reviewer, answer_id=answer.pk, reason="Perbaiki.")
    else:
        answer_verify(actor=cast.reviewer, answer_id=answer.pk, verified_level=1)

    region_a_submitted.refresh_from_db()
    assert region_a_submitted.state == AssessmentState.IN_REVIEW
    assert (
        region_a_submitted.events.filter(
            old_value=AssessmentState.SUBMITTED, new_value=AssessmentState.IN_REVIEW
        ).count()
        == 1
    )


def test_a_resubmitted_answer_leaves_the_assessment_in_review(cast, region_a_submitted):
    answer = region_a_submitted.answers.first()
    answer_return(actor=cast.reviewer, answer_id=answer.pk, reason="Perbaiki.")
    fill(cast.operator_a, answer.pk, justification="Sudah diperbaiki.")
    answer_submit(actor=cast.operator_a, answer_id=answer.pk)

    region_a_submitted.refresh_from_db()
    assert region_a_submitted.state == AssessmentState.IN_REVIEW


def test_approval_requires_every_answer_to_be_verified(cast, region_a_submitted):
    answers = list(region_a_submitted.answers.all())
    for answer in answers[:-1]:
        answer_verify(actor=cast.reviewer, answer_id=answer.pk, verified_level=1)

    with pytest.raises(WorkflowError, match="1 answer\\(s\\) are not verified yet"):
        assessment_approve(actor=cast.reviewer, assessment_id=region_a_submitted.pk)
    region_a_submitted.refresh_from_db()
    assert region_a_submitted.state == AssessmentState.IN_REVIEW

    answer_verify(actor=cast.reviewer, answer_id=answers[-1].pk, verified_level=1)
    assessment_approve(actor=cast.reviewer, assessment_id=region_a_submitted.pk)
    region_a_submitted.refresh_from_db()
    assert region_a_submitted.state == AssessmentState.APPROVED
    assert region_a_submitted.is_locked
    assert region_a_submitted.approved_by == cast.reviewer


def test_an_open_assessment_cannot_be_approved(cast, assessment_a):
    with pytest.raises(InvalidTransition, match="cannot approve an assessment that is open"):
        assessment_approve(actor=cast.reviewer, assessment_id=assessment_a.pk)


def test_an_approved_assessment_cannot_be_approved_again(cast, approved):
    with pytest.raises(InvalidTransition, match="cannot approve an assessment that is approved"):
        assessment_approve(actor=cast.reviewer, assessment_id=approved.pk)


def test_an_approved_assessment_is_locked_for_every_change(cast, approved):
    answer = approved.answers.filter(agency=cast.agency_a).first()

    with pytest.raises(InvalidTransition, match="cannot be edited"):
        fill(cast.operator_a, answer.pk, justification="Ubah setelah disetujui.")
    with pytest.raises(InvalidTransition):
        evidence_add(actor=cast.operator_a, answer_id=answer.pk, url="https://example.org/x")
    with pytest.raises(WorkflowError, match="approved and locked"):
        answer_return(actor=cast.reviewer, answer_id=answer.pk, reason="Cek ulang.")
    with pytest.raises(WorkflowError, match="approved and locked"):
        answer_verify(actor=cast.reviewer, answer_id=answer.pk, verified_level=2, reason="Naik.")
    with pytest.raises(WorkflowError, match="approved and locked"):
        assessment_submit(actor=cast.coordinator_a, assessment_id=approved.pk)

    answer.refresh_from_db()
    assert (answer.state, answer.justification, answer.final_level) == (
        "verified",
        "SOP layanan daring.",
        1,
    )


def test_administrator_reopens_an_approved_assessment_with_a_reason(cast, approved):
    with pytest.raises(WorkflowError) as refused:
        assessment_reopen(actor=cast.admin, assessment_id=approved.pk, reason=" ")
    assert refused.value.field_errors["reason"]

    assessment_reopen(actor=cast.admin, assessment_id=approved.pk, reason="Salah input.")

    approved.refresh_from_db()
    assert approved.state == AssessmentState.REOPENED
    assert not approved.is_locked
    event = approved.events.order_by("pk").last()
    assert (event.old_value, event.new_value, event.reason) == (
        "approved",
        "reopened",
        "Salah input.",
    )


@pytest.mark.parametrize("fixture", ["assessment_a", "region_a_submitted", "reopened"])
def test_only_an_approved_assessment_can_be_reopened(cast, request, fixture):
    assessment = request.getfixturevalue(fixture)
    state = Assessment.objects.values_list("state", flat=True).get(pk=assessment.pk)

    with pytest.raises(InvalidTransition, match="cannot reopen an assessment"):
        assessment_reopen(actor=cast.admin, assessment_id=assessment.pk, reason="Coba.")

    assert Assessment.objects.values_list("state", flat=True).get(pk=assessment.pk) == state


def test_a_verified_answer_moves_again_only_while_its_assessment_is_reopened(cast, reopened):
    first, second = reopened.answers.filter(agency=cast.agency_a)[:2]

    answer_return(actor=cast.reviewer, answer_id=first.pk, reason="Data BPS terbaru.")
    answer_verify(
        actor=cast.reviewer, answer_id=second.pk, verified_level=2, reason="Bukti baru diterima."
    )

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == AnswerState.RETURNED
    assert (second.state, second.verified_level, second.final_level) == ("verified", 2, 2)
    # A re-verification of a verified answer records the level change, not a state change.
    assert not second.events.filter(kind=EventKind.STATE, old_value="verified").exists()
    assert second.events.filter(
        kind=EventKind.VERIFIED_LEVEL, old_value="1", new_value="2"
    ).exists()


def test_approving_a_reopened_assessment_relocks_it(cast, reopened):
    answer = reopened.answers.filter(agency=cast.agency_a).first()
    answer_return(actor=cast.reviewer, answer_id=answer.pk, reason="Perbarui.")
    with pytest.raises(WorkflowError, match="not verified yet"):
        assessment_approve(actor=cast.reviewer, assessment_id=reopened.pk)
    fill(cast.operator_a, answer.pk, justification="Diperbarui.")
    answer_submit(actor=cast.operator_a, answer_id=answer.pk)
    answer_verify(actor=cast.reviewer, answer_id=answer.pk, verified_level=1)

    assessment_approve(actor=cast.reviewer, assessment_id=reopened.pk)

    reopened.refresh_from_db()
    assert reopened.state == AssessmentState.APPROVED
    with pytest.raises(WorkflowError, match="approved and locked"):
        answer_return(actor=cast.reviewer, answer_id=answer.pk, reason="Lagi.")
    moves = list(reopened.events.filter(kind=EventKind.STATE).values_list("new_value", flat=True))
    assert moves[-3:] == ["approved", "reopened", "approved"]


# --------------------------------------------------------------------------- deadlines


def _move_entry_deadline(cycle: Cycle, days_from_today: int) -> None:
    # A queryset update, not a service: the test needs a cycle whose deadline has passed.
    Cycle.objects.filter(pk=cycle.pk).update(
        entry_deadline=timezone.localdate() + datetime.timedelta(days=days_from_today)
    )


def test_the_entry_deadline_blocks_drafts_once_it_has_passed(cast, cycle, answers_a):
    answer = answers_a[0]
    _move_entry_deadline(cycle, -1)
    passed = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()

    with pytest.raises(WorkflowError, match=f"entry deadline \\({passed}\\) has passed"):
        fill(cast.operator_a, answer.pk)
    with pytest.raises(WorkflowError, match="has passed"):
        evidence_add(actor=cast.operator_a, answer_id=answer.pk, url="https://example.org/a")

    answer.refresh_from_db()
    assert (answer.self_level, answer.version) == (None, 1)


def test_the_deadline_passing_between_save_and_submit_blocks_the_submission(cast, cycle, answers_a):
    fill(cast.operator_a, answers_a[0].pk)
    _move_entry_deadline(cycle, -1)

    with pytest.raises(WorkflowError, match="has passed"):
        answer_submit(actor=cast.operator_a, answer_id=answers_a[0].pk)
    assert state_of(answers_a[0].pk) == AnswerState.DRAFT


def test_a_deadline_extension_reopens_entry_for_that_agency_only(
    cast, cycle, answers_a, answers_a2
):
    _move_entry_deadline(cycle, -2)
    cycle.refresh_from_db()

    deadline_extend(
        actor=cast.admin,
        cycle=cycle,
        agency=cast.agency_a,
        until=timezone.localdate() + datetime.timedelta(days=5),
        reason="Server OPD sempat down.",
    )

    fill(cast.operator_a, answers_a[0].pk)
    answer_submit(actor=cast.operator_a, answer_id=answers_a[0].pk)
    assert state_of(answers_a[0].pk) == AnswerState.SUBMITTED
    with pytest.raises(WorkflowError, match="has passed"):
        fill(cast.operator_a2, answers_a2[0].pk)


def test_an_extension_must_end_after_the_cycle_deadline(cast, cycle):
    with pytest.raises(WorkflowError) as refused:
        deadline_extend(
            actor=cast.admin,
            cycle=cycle,
            agency=cast.agency_a,
            until=cycle.entry_deadline,
            reason="Terlalu singkat.",
        )
    assert refused.value.field_errors["until"]


def test_a_returned_answer_can_still_be_fixed_after_the_deadline(cast, cycle, returned):
    _move_entry_deadline(cycle, -1)

    fill(cast.operator_a, returned.pk, justification="Perbaikan setelah tenggat.")
    answer_submit(actor=cast.operator_a, answer_id=returned.pk)

    assert state_of(returned.pk) == AnswerState.SUBMITTED


# --------------------------------------------------------------------------- copy from last cycle


def _open_cycle(cast, framework, *, year: int, starts: int):
    today = timezone.localdate()
    return cycle_open(
        actor=cast.admin,
        framework=framework,
        year=year,
        name=f"Siklus {year}",
        regions=[cast.region_a],
        starts_on=today + datetime.timedelta(days=starts),
        entry_deadline=today + datetime.timedelta(days=starts + 60),
        review_deadline=today + datetime.timedelta(days=starts + 90),
    )


def _answer(cycle, cast, code: str) -> Answer:
    return Answer.objects.get(
        assessment__cycle=cycle, assessment__region=cast.region_a, indicator__code=code
    )


def test_an_answer_is_copied_from_the_previous_cycle_of_the_same_lineage(cast, cycle, framework):
    # The fixture cycle (framework "uji" v1) is the previous one; its answer was verified at 3.
    previous = _answer(cycle, cast, "D1-E1-01")
    Answer.objects.filter(pk=previous.pk).update(
        state=AnswerState.VERIFIED,
        self_level=2,
        verified_level=3,
        final_level=3,
        justification="Perwal 5/2023 tentang layanan daring.",
        links=["https://jdih.semarangkota.go.id/perwal-5-2023"],
    )
    # A more recent cycle of another lineage with the same indicator codes is not a source.
    other = _open_cycle(cast, build_framework(slug="lain"), year=cycle.year, starts=-5)
    Answer.objects.filter(pk=_answer(other, cast, "D1-E1-01").pk).update(
        self_level=5, justification="Kerangka lain."
    )
    current = _open_cycle(cast, framework_clone(framework=framework), year=cycle.year + 1, starts=1)
    target = _answer(current, cast, "D1-E1-01")

    copied = answer_copy_previous(
        actor=cast.operator_a, answer_id=target.pk, expected_version=target.version
    )

    assert copied.self_level == 3  # the final level, where the previous answer was verified
    assert copied.justification == "Perwal 5/2023 tentang layanan daring."
    assert copied.links == ["https://jdih.semarangkota.go.id/perwal-5-2023"]
    assert copied.state == AnswerState.DRAFT
    assert copied.version == target.version + 1
    assert set(copied.events.values_list("kind", flat=True)) == {
        EventKind.SELF_LEVEL,
        EventKind.JUSTIFICATION,
        EventKind.LINKS,
    }


def test_copying_without_an_earlier_answer_is_refused(cast, answers_a):
    with pytest.raises(WorkflowError, match="no answer to copy"):
        answer_copy_previous(actor=cast.operator_a, answer_id=answers_a[0].pk, expected_version=1)


@pytest.mark.parametrize("role", ["operator_b", "operator_a2", "reviewer"])
def test_copying_is_refused_before_looking_for_an_earlier_answer(cast, answers_a, role):
    # Refused by role, not "no answer to copy": a stranger learns nothing about earlier cycles.
    with pytest.raises(PermissionDenied):
        answer_copy_previous(
            actor=getattr(cast, role), answer_id=answers_a[0].pk, expected_version=1
        )


def test_copying_is_refused_to_someone_who_may_not_edit_the_answer(cast, cycle, framework):
    Answer.objects.filter(assessment__cycle=cycle, indicator__code="D1-E1-01").update(
        self_level=2, justification="Ada."
    )
    current = _open_cycle(cast, framework, year=cycle.year + 1, starts=1)
    target = _answer(current, cast, "D1-E1-01")

    with pytest.raises(PermissionDenied):
        answer_copy_previous(actor=cast.operator_b, answer_id=target.pk, expected_version=1)
    target.refresh_from_db()
    assert (target.self_level, target.version) == (None, 1)
    assert not target.events.exists()
