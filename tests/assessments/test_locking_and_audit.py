"""Optimistic locking of answers and the append-only audit trail.

Two people who opened the same version of an answer cannot overwrite each other: the first save
wins, the second is refused and told so. Every change to an answer or an assessment leaves an
event saying who, what (old → new) and why; events are never changed or deleted.
"""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from assessments.choices import EventKind
from assessments.exceptions import StaleVersionError
from assessments.models import (
    Answer,
    AnswerEvent,
    Assessment,
    AssessmentEvent,
    Evidence,
    private_storage,
)
from assessments.services import (
    answer_return,
    answer_save,
    answer_submit,
    answer_verify,
    assessment_approve,
    assessment_reopen,
    assessment_submit,
    comment_add,
    deadline_extend,
    evidence_add,
    evidence_remove,
)
from tests.factories import MembershipFactory, UserFactory

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def private_root(settings, tmp_path, monkeypatch):
    """Evidence files in a temporary folder (the field's storage is built at import time)."""
    settings.PRIVATE_STORAGE_ROOT = tmp_path
    monkeypatch.setattr(Evidence._meta.get_field("file"), "storage", private_storage())
    return tmp_path


@pytest.fixture
def answer(answers_a) -> Answer:
    return answers_a[0]


@pytest.fixture
def colleague(cast):
    """A second operator of agency A, editing the same answers."""
    return MembershipFactory(user=UserFactory(username="op-a-rekan"), agency=cast.agency_a).user


def events(answer: Answer) -> list[tuple]:
    return list(
        AnswerEvent.objects.filter(answer=answer)
        .order_by("pk")
        .values_list("kind", "actor__username", "old_value", "new_value", "reason")
    )


# --------------------------------------------------------------------------- optimistic locking


def test_the_first_save_wins_and_the_second_is_refused_as_stale(cast, colleague, answer):
    read_by_first = read_by_second = Answer.objects.get(pk=answer.pk).version

    answer_save(
        actor=cast.operator_a,
        answer_id=answer.pk,
        expected_version=read_by_first,
        self_level=2,
        justification="Versi Bu Sri: SOP sudah ditetapkan.",
    )
    with pytest.raises(StaleVersionError) as refused:
        answer_save(
            actor=colleague,
            answer_id=answer.pk,
            expected_version=read_by_second,
            self_level=3,
            justification="Versi Pak Budi.",
        )

    assert refused.value.current_version == read_by_first + 1
    assert "Someone else saved this answer" in str(refused.value.message)
    answer.refresh_from_db()
    assert (answer.self_level, answer.justification, answer.version) == (
        2,
        "Versi Bu Sri: SOP sudah ditetapkan.",
        read_by_first + 1,
    )
    assert [e[1] for e in events(answer)] == ["op-a", "op-a"]  # nothing from the refused save


def test_a_save_after_reloading_the_new_version_goes_through(cast, colleague, answer):
    answer_save(
        actor=cast.operator_a, answer_id=answer.pk, expected_version=1, justification="Pertama."
    )

    saved = answer_save(
        actor=colleague, answer_id=answer.pk, expected_version=2, justification="Kedua."
    )

    assert (saved.justification, saved.version) == ("Kedua.", 3)


def test_adding_evidence_makes_an_earlier_read_stale(cast, colleague, answer):
    evidence_add(actor=colleague, answer_id=answer.pk, url="https://semarangkota.go.id/sk")

    with pytest.raises(StaleVersionError):
        answer_save(
            actor=cast.operator_a, answer_id=answer.pk, expected_version=1, justification="X."
        )


def test_a_review_makes_the_operators_open_copy_stale(cast, answer):
    answer_save(
        actor=cast.operator_a,
        answer_id=answer.pk,
        expected_version=1,
        self_level=1,
        justification="Ada.",
    )
    answer_submit(actor=cast.operator_a, answer_id=answer.pk)
    read = Answer.objects.get(pk=answer.pk).version
    answer_return(actor=cast.reviewer, answer_id=answer.pk, reason="Lengkapi.")

    with pytest.raises(StaleVersionError):
        answer_save(
            actor=cast.operator_a, answer_id=answer.pk, expected_version=read, justification="Y."
        )


def test_saving_unchanged_values_does_not_bump_the_version_or_the_trail(cast, answer):
    answer_save(
        actor=cast.operator_a, answer_id=answer.pk, expected_version=1, justification="Sama."
    )

    saved = answer_save(
        actor=cast.operator_a, answer_id=answer.pk, expected_version=2, justification=" Sama. "
    )

    assert saved.version == 2
    assert len(events(answer)) == 1


# --------------------------------------------------------------------------- answer events


def test_every_change_of_content_is_recorded_with_old_and_new_values(cast, answer, private_root):
    answer_save(
        actor=cast.operator_a,
        answer_id=answer.pk,
        expected_version=1,
        self_level=2,
        justification="Perwal 5/2023.",
        links="https://a.go.id/1\nhttps://a.go.id/2",
    )
    answer_save(
        actor=cast.operator_a,
        answer_id=answer.pk,
        expected_version=2,
        self_level=3,
        justification="Perwal 5/2023 dan SE Sekda.",
        links=["https://a.go.id/2"],
    )
    evidence = evidence_add(
        actor=cast.operator_a, answer_id=answer.pk, file=SimpleUploadedFile("sk.pdf", PDF)
    )
    evidence_remove(actor=cast.operator_a, evidence_id=evidence.pk)
    evidence_add(actor=cast.operator_a, answer_id=answer.pk, url="https://a.go.id/bukti")

    assert events(answer) == [
        (EventKind.SELF_LEVEL, "op-a", "", "2", ""),
        (EventKind.JUSTIFICATION, "op-a", "", "Perwal 5/2023.", ""),
        (EventKind.LINKS, "op-a", "", "https://a.go.id/1\nhttps://a.go.id/2", ""),
        (EventKind.SELF_LEVEL, "op-a", "2", "3", ""),
        (EventKind.JUSTIFICATION, "op-a", "Perwal 5/2023.", "Perwal 5/2023 dan SE Sekda.", ""),
        (EventKind.LINKS, "op-a", "https://a.go.id/1\nhttps://a.go.id/2", "https://a.go.id/2", ""),
        (EventKind.EVIDENCE_ADDED, "op-a", "", "sk.pdf", ""),
        (EventKind.EVIDENCE_REMOVED, "op-a", "sk.pdf", "", ""),
        (EventKind.EVIDENCE_ADDED, "op-a", "", "https://a.go.id/bukti", ""),
    ]


def test_every_state_and_verified_level_change_is_recorded_with_its_reason(cast, answer):
    answer_save(
        actor=cast.operator_a,
        answer_id=answer.pk,
        expected_version=1,
        self_level=1,
        justification="Rintisan.",
    )
    answer_submit(actor=cast.operator_a, answer_id=answer.pk)
    answer_return(actor=cast.reviewer, answer_id=answer.pk, reason="Tambahkan data 2024.")
    answer_submit(actor=cast.operator_a, answer_id=answer.pk)
    answer_verify(
        actor=cast.reviewer, answer_id=answer.pk, verified_level=2, reason="Sudah terkelola."
    )
    comment_add(actor=cast.coordinator_a, answer_id=answer.pk, body="Terima kasih.")

    trail = [e for e in events(answer) if e[0] not in (EventKind.SELF_LEVEL, "justification")]
    assert trail == [
        (EventKind.STATE, "op-a", "draft", "submitted", ""),
        (EventKind.STATE, "reviewer", "submitted", "returned", "Tambahkan data 2024."),
        (EventKind.STATE, "op-a", "returned", "submitted", ""),
        (EventKind.STATE, "reviewer", "submitted", "verified", ""),
        (EventKind.VERIFIED_LEVEL, "reviewer", "", "2", "Sudah terkelola."),
        (EventKind.COMMENT, "coord-a", "", "Terima kasih.", ""),
    ]


def test_a_refused_change_leaves_no_event(cast, answer):
    with pytest.raises(StaleVersionError):
        answer_save(
            actor=cast.operator_a, answer_id=answer.pk, expected_version=7, justification="X."
        )

    assert events(answer) == []


# --------------------------------------------------------------------------- append-only


@pytest.fixture
def answer_event(cast, answer) -> AnswerEvent:
    answer_save(
        actor=cast.operator_a, answer_id=answer.pk, expected_version=1, justification="Asli."
    )
    return AnswerEvent.objects.get(answer=answer)


def test_an_answer_event_cannot_be_changed(answer_event):
    answer_event.new_value = "Dipalsukan."

    with pytest.raises(PermissionError, match="append-only"):
        answer_event.save()

    answer_event.refresh_from_db()
    assert answer_event.new_value == "Asli."


def test_an_answer_event_cannot_be_deleted(answer_event):
    with pytest.raises(PermissionError, match="append-only"):
        answer_event.delete()

    assert AnswerEvent.objects.filter(pk=answer_event.pk).exists()


def test_an_assessment_event_cannot_be_changed_or_deleted(cast, cycle):
    event = AssessmentEvent.objects.filter(assessment__cycle=cycle).first()
    event.reason = "Dipalsukan."

    with pytest.raises(PermissionError, match="append-only"):
        event.save()
    with pytest.raises(PermissionError, match="append-only"):
        event.delete()

    event.refresh_from_db()
    assert event.reason == ""


# --------------------------------------------------------------------------- assessment events


def _approve_region_a(cast, cycle) -> Assessment:
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
    return assessment_approve(actor=cast.reviewer, assessment_id=assessment.pk)


def assessment_events(assessment: Assessment) -> list[tuple]:
    return list(
        assessment.events.order_by("pk").values_list(
            "kind", "actor__username", "old_value", "new_value", "reason"
        )
    )


def test_the_assessment_trail_records_opening_submission_review_approval_and_reopening(cast, cycle):
    assessment = _approve_region_a(cast, cycle)
    assessment_reopen(actor=cast.admin, assessment_id=assessment.pk, reason="Koreksi BPS.")
    assessment_approve(actor=cast.reviewer, assessment_id=assessment.pk)

    assert assessment_events(assessment) == [
        (EventKind.STATE, "admin", "", "open", ""),
        (EventKind.STATE, "coord-a", "open", "submitted", ""),
        (EventKind.STATE, "reviewer", "submitted", "in_review", ""),
        (EventKind.STATE, "reviewer", "in_review", "approved", ""),
        (EventKind.STATE, "admin", "approved", "reopened", "Koreksi BPS."),
        (EventKind.STATE, "reviewer", "reopened", "approved", ""),
    ]


def test_a_deadline_extension_is_recorded_for_the_agency_with_its_reason(cast, cycle):
    later = cycle.entry_deadline + datetime.timedelta(days=7)
    latest = cycle.entry_deadline + datetime.timedelta(days=14)

    deadline_extend(
        actor=cast.admin, cycle=cycle, agency=cast.agency_a, until=later, reason="Banjir rob."
    )
    deadline_extend(
        actor=cast.admin, cycle=cycle, agency=cast.agency_a, until=latest, reason="Masih banjir."
    )

    assessment = Assessment.objects.get(cycle=cycle, region=cast.region_a)
    recorded = list(
        assessment.events.filter(kind=EventKind.DEADLINE)
        .order_by("pk")
        .values_list("agency", "actor", "old_value", "new_value", "reason")
    )
    assert recorded == [
        (
            cast.agency_a.pk,
            cast.admin.pk,
            cycle.entry_deadline.isoformat(),
            later.isoformat(),
            "Banjir rob.",
        ),
        (cast.agency_a.pk, cast.admin.pk, later.isoformat(), latest.isoformat(), "Masih banjir."),
    ]
    # Region B's assessment is untouched by an extension for a region A agency.
    assert not AssessmentEvent.objects.filter(
        assessment__region=cast.region_b, kind=EventKind.DEADLINE
    ).exists()
