"""Who may see and do what, written as the permission table of the workflow.

The cast (tests/conftest.py, tests/assessments/conftest.py): in region A (Kota Semarang) agency A
leads D1-E1 and D1-E2, agency A2 leads D2-* and supports D1-E1; in region B (Demak) agency B
leads everything. Scoping hides what a user may not see (404); services refuse, with
PermissionDenied, what a user may see but not do, so no caller can skip the check.
"""

import datetime
from collections.abc import Callable
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from assessments.models import (
    Answer,
    AnswerEvent,
    Assessment,
    AssessmentEvent,
    Comment,
    Cycle,
    DeadlineExtension,
    Evidence,
)
from assessments.permissions import (
    Action,
    answers_visible_to,
    assessments_visible_to,
    get_answer_for_user,
    get_assessment_for_user,
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
    cycle_open,
    deadline_extend,
    evidence_add,
)
from tests.factories import build_framework

A, B = "3374", "3321"
ALL_ELEMENTS = ("D1-E1", "D1-E2", "D2-E1", "D2-E2")
ROLES = (
    "operator_a",
    "operator_a2",
    "operator_b",
    "coordinator_a",
    "reviewer",
    "admin",
    "anonymous",
)


def actor(cast, role: str):
    return AnonymousUser() if role == "anonymous" else getattr(cast, role)


def answers_of(region: str, *elements: str) -> set[tuple[str, str]]:
    return {(region, f"{element}-{i:02d}") for element in elements for i in (1, 2)}


def answer_at(cycle, region: str, code: str) -> Answer:
    return Answer.objects.get(
        assessment__cycle=cycle, assessment__region__code=region, indicator__code=code
    )


# --------------------------------------------------------------------------- what each role sees

ANSWERS_VISIBLE = {
    "operator_a": answers_of(A, "D1-E1", "D1-E2"),
    # Lead of D2-* and supporting agency of D1-E1 in region A.
    "operator_a2": answers_of(A, "D1-E1", "D2-E1", "D2-E2"),
    "operator_b": answers_of(B, *ALL_ELEMENTS),
    "coordinator_a": answers_of(A, *ALL_ELEMENTS),
    "reviewer": answers_of(A, *ALL_ELEMENTS) | answers_of(B, *ALL_ELEMENTS),
    "admin": answers_of(A, *ALL_ELEMENTS) | answers_of(B, *ALL_ELEMENTS),
    "anonymous": set(),
}

ASSESSMENTS_VISIBLE = {
    "operator_a": {A},
    "operator_a2": {A},
    "operator_b": {B},
    "coordinator_a": {A},
    "reviewer": {A, B},
    "admin": {A, B},
    "anonymous": set(),
}


def test_each_role_sees_exactly_the_answers_of_the_table(cast, cycle):
    seen = {
        role: list(
            answers_visible_to(actor(cast, role)).values_list(
                "assessment__region__code", "indicator__code"
            )
        )
        for role in ROLES
    }

    assert {role: set(rows) for role, rows in seen.items()} == ANSWERS_VISIBLE
    # No answer is listed twice (the supporting-agency condition joins other tables).
    assert {role: len(rows) for role, rows in seen.items()} == {
        role: len(rows) for role, rows in ANSWERS_VISIBLE.items()
    }


def test_each_role_sees_exactly_the_assessments_of_the_table(cast, cycle):
    seen = {
        role: list(assessments_visible_to(actor(cast, role)).values_list("region__code", flat=True))
        for role in ROLES
    }

    assert {role: sorted(codes) for role, codes in seen.items()} == {
        role: sorted(codes) for role, codes in ASSESSMENTS_VISIBLE.items()
    }


def test_a_deactivated_operator_sees_nothing(cast, cycle):
    cast.operator_a.is_active = False
    cast.operator_a.save(update_fields=["is_active"])

    assert not answers_visible_to(cast.operator_a).exists()


# --------------------------------------------------------------------------- single objects

OK, HIDDEN, FORBIDDEN = "ok", "404", "403"

# role, answer (region, indicator), action, outcome
SINGLE_ANSWER_TABLE = [
    ("operator_a", (A, "D1-E1-01"), Action.VIEW, OK),
    ("operator_a", (A, "D1-E1-01"), Action.EDIT, OK),
    ("operator_a", (A, "D1-E1-01"), Action.REVIEW, FORBIDDEN),
    ("operator_a", (A, "D2-E1-01"), Action.VIEW, HIDDEN),  # another agency, same region
    ("operator_a", (B, "D1-E1-01"), Action.VIEW, HIDDEN),  # another region
    ("operator_a2", (A, "D1-E1-01"), Action.VIEW, OK),  # supporting agency
    ("operator_a2", (A, "D1-E1-01"), Action.COMMENT, OK),
    ("operator_a2", (A, "D1-E1-01"), Action.EDIT, FORBIDDEN),
    ("operator_a2", (A, "D1-E2-01"), Action.VIEW, HIDDEN),  # not supported
    ("operator_a2", (A, "D2-E1-01"), Action.EDIT, OK),  # its own lead element
    ("operator_b", (A, "D1-E1-01"), Action.VIEW, HIDDEN),
    ("operator_b", (A, "D1-E1-01"), Action.EDIT, HIDDEN),
    ("operator_b", (B, "D1-E1-01"), Action.EDIT, OK),
    ("coordinator_a", (A, "D2-E2-02"), Action.VIEW, OK),
    ("coordinator_a", (A, "D1-E1-01"), Action.COMMENT, OK),
    ("coordinator_a", (A, "D1-E1-01"), Action.EDIT, FORBIDDEN),
    ("coordinator_a", (A, "D1-E1-01"), Action.REVIEW, FORBIDDEN),
    ("coordinator_a", (B, "D1-E1-01"), Action.VIEW, HIDDEN),
    ("reviewer", (B, "D1-E1-01"), Action.REVIEW, OK),
    ("reviewer", (A, "D1-E1-01"), Action.EDIT, FORBIDDEN),
    ("admin", (A, "D1-E1-01"), Action.VIEW, OK),
    ("admin", (A, "D1-E1-01"), Action.EDIT, FORBIDDEN),
    ("admin", (A, "D1-E1-01"), Action.REVIEW, FORBIDDEN),
    ("anonymous", (A, "D1-E1-01"), Action.VIEW, HIDDEN),
]


def _outcome(get: Callable, user, pk, action: str, *, expected_object) -> str:
    try:
        found = get(user, pk, action)
    except Http404:
        return HIDDEN
    except PermissionDenied:
        return FORBIDDEN
    return OK if found == expected_object else f"returned {found!r}"


def test_get_answer_for_user_hides_or_forbids_as_the_table_says(cast, cycle):
    outcomes = {}
    for role, target, action, _ in SINGLE_ANSWER_TABLE:
        answer = answer_at(cycle, *target)
        outcomes[(role, target, action)] = _outcome(
            get_answer_for_user, actor(cast, role), answer.pk, action, expected_object=answer
        )

    assert outcomes == {
        (role, target, action): out for role, target, action, out in SINGLE_ANSWER_TABLE
    }


@pytest.mark.parametrize("pk", [10**9, "abc", None])
def test_a_missing_or_malformed_answer_id_is_hidden(cast, cycle, pk):
    with pytest.raises(Http404):
        get_answer_for_user(cast.reviewer, pk)


# role, assessment's region, action, outcome
SINGLE_ASSESSMENT_TABLE = [
    ("operator_a", A, Action.VIEW, OK),
    ("operator_a", B, Action.VIEW, HIDDEN),
    ("operator_a", A, Action.APPROVE, FORBIDDEN),
    ("operator_a2", A, Action.VIEW, OK),
    ("operator_b", A, Action.VIEW, HIDDEN),
    ("coordinator_a", A, Action.EDIT, OK),
    ("coordinator_a", A, Action.APPROVE, FORBIDDEN),
    ("coordinator_a", B, Action.VIEW, HIDDEN),
    ("reviewer", B, Action.APPROVE, OK),
    ("reviewer", A, Action.REOPEN, FORBIDDEN),
    ("reviewer", A, Action.MANAGE, FORBIDDEN),
    ("admin", A, Action.REOPEN, OK),
    ("admin", B, Action.MANAGE, OK),
    ("admin", A, Action.APPROVE, FORBIDDEN),
    ("anonymous", A, Action.VIEW, HIDDEN),
]


def test_get_assessment_for_user_hides_or_forbids_as_the_table_says(cast, cycle):
    outcomes = {}
    for role, region, action, _ in SINGLE_ASSESSMENT_TABLE:
        assessment = Assessment.objects.get(cycle=cycle, region__code=region)
        outcomes[(role, region, action)] = _outcome(
            get_assessment_for_user,
            actor(cast, role),
            assessment.pk,
            action,
            expected_object=assessment,
        )

    assert outcomes == {
        (role, region, action): out for role, region, action, out in SINGLE_ASSESSMENT_TABLE
    }


# --------------------------------------------------------------------------- services
#
# Each action is prepared by the people whose job it is, so that the target is in the state
# the action needs; then every role tries it in turn (an allowed attempt is rolled back before
# the next role). A refusal must change nothing.


def _fill(user, answer: Answer) -> None:
    answer.refresh_from_db(fields=["version"])
    answer_save(
        actor=user,
        answer_id=answer.pk,
        expected_version=answer.version,
        self_level=1,
        justification="Sudah ada SOP.",
    )


def _fill_region(cast, cycle, region: str) -> Assessment:
    owners = {cast.agency_a.pk: cast.operator_a, cast.agency_a2.pk: cast.operator_a2}
    owners[cast.agency_b.pk] = cast.operator_b
    assessment = Assessment.objects.get(cycle=cycle, region__code=region)
    for answer in assessment.answers.all():
        _fill(owners[answer.agency_id], answer)
    return assessment


def _submitted(cast, cycle, region: str, code: str) -> Answer:
    answer = answer_at(cycle, region, code)
    owner = {A: cast.operator_a if code.startswith("D1") else cast.operator_a2, B: cast.operator_b}
    _fill(owner[region], answer)
    answer_submit(actor=owner[region], answer_id=answer.pk)
    return answer


def _approved(cast, cycle) -> Assessment:
    assessment = _fill_region(cast, cycle, A)
    assessment_submit(actor=cast.coordinator_a, assessment_id=assessment.pk)
    for answer in assessment.answers.all():
        answer_verify(actor=cast.reviewer, answer_id=answer.pk, verified_level=1)
    return assessment_approve(actor=cast.reviewer, assessment_id=assessment.pk)


def _verified_region(cast, cycle) -> Assessment:
    assessment = _fill_region(cast, cycle, A)
    assessment_submit(actor=cast.coordinator_a, assessment_id=assessment.pk)
    for answer in assessment.answers.all():
        answer_verify(actor=cast.reviewer, answer_id=answer.pk, verified_level=1)
    return assessment


def _draft(region: str, code: str):
    return lambda cast, cycle: answer_at(cycle, region, code)


ActionSpec = tuple[Callable, Callable]

ACTIONS: dict[str, ActionSpec] = {
    "save_answer_A_D1": (
        _draft(A, "D1-E1-01"),
        lambda user, answer: _fill(user, answer),
    ),
    "save_answer_A_D2": (
        _draft(A, "D2-E1-01"),
        lambda user, answer: _fill(user, answer),
    ),
    "save_answer_B": (
        _draft(B, "D1-E1-01"),
        lambda user, answer: _fill(user, answer),
    ),
    "add_evidence_A_D1": (
        _draft(A, "D1-E1-01"),
        lambda user, answer: evidence_add(
            actor=user, answer_id=answer.pk, url="https://semarangkota.go.id/sop.pdf"
        ),
    ),
    "submit_answer_A_D1": (
        lambda cast, cycle: (
            _fill(cast.operator_a, answer_at(cycle, A, "D1-E1-01"))
            or answer_at(cycle, A, "D1-E1-01")
        ),
        lambda user, answer: answer_submit(actor=user, answer_id=answer.pk),
    ),
    "comment_A_D1": (
        _draft(A, "D1-E1-01"),
        lambda user, answer: comment_add(actor=user, answer_id=answer.pk, body="Data BPS?"),
    ),
    "return_A_D1": (
        lambda cast, cycle: _submitted(cast, cycle, A, "D1-E1-01"),
        lambda user, answer: answer_return(actor=user, answer_id=answer.pk, reason="Kurang."),
    ),
    "verify_A_D1": (
        lambda cast, cycle: _submitted(cast, cycle, A, "D1-E1-01"),
        lambda user, answer: answer_verify(actor=user, answer_id=answer.pk, verified_level=1),
    ),
    "verify_B": (
        lambda cast, cycle: _submitted(cast, cycle, B, "D1-E1-01"),
        lambda user, answer: answer_verify(actor=user, answer_id=answer.pk, verified_level=1),
    ),
    "submit_assessment_A": (
        lambda cast, cycle: _fill_region(cast, cycle, A),
        lambda user, assessment: assessment_submit(actor=user, assessment_id=assessment.pk),
    ),
    "approve_assessment_A": (
        _verified_region,
        lambda user, assessment: assessment_approve(actor=user, assessment_id=assessment.pk),
    ),
    "reopen_assessment_A": (
        _approved,
        lambda user, assessment: assessment_reopen(
            actor=user, assessment_id=assessment.pk, reason="Koreksi."
        ),
    ),
    "open_cycle": (
        lambda cast, cycle: SimpleNamespace(framework=build_framework(slug="baru"), cast=cast),
        lambda user, ctx: cycle_open(
            actor=user,
            framework=ctx.framework,
            year=2031,
            name="Siklus 2031",
            regions=[ctx.cast.region_a],
            starts_on=datetime.date(2031, 1, 1),
            entry_deadline=datetime.date(2031, 3, 1),
            review_deadline=datetime.date(2031, 4, 1),
        ),
    ),
    "extend_deadline": (
        lambda cast, cycle: SimpleNamespace(cycle=cycle, agency=cast.agency_a),
        lambda user, ctx: deadline_extend(
            actor=user,
            cycle=ctx.cycle,
            agency=ctx.agency,
            until=ctx.cycle.entry_deadline + datetime.timedelta(days=7),
            reason="Gangguan jaringan.",
        ),
    ),
}

# yes = allowed, no = refused with PermissionDenied.
PERMISSION_TABLE = """
action                operator_a  operator_a2  operator_b  coordinator_a  reviewer  admin  anonymous
save_answer_A_D1      yes         no           no          no             no        no     no
save_answer_A_D2      no          yes          no          no             no        no     no
save_answer_B         no          no           yes         no             no        no     no
add_evidence_A_D1     yes         no           no          no             no        no     no
submit_answer_A_D1    yes         no           no          no             no        no     no
comment_A_D1          yes         yes          no          yes            yes       yes    no
return_A_D1           no          no           no          no             yes       no     no
verify_A_D1           no          no           no          no             yes       no     no
verify_B              no          no           no          no             yes       no     no
submit_assessment_A   yes         yes          no          yes            no        no     no
approve_assessment_A  no          no           no          no             yes       no     no
reopen_assessment_A   no          no           no          no             no        yes    no
open_cycle            no          no           no          no             no        yes    no
extend_deadline       no          no           no          no             no        yes    no
"""


def _table_rows():
    header, *rows = [line.split() for line in PERMISSION_TABLE.strip().splitlines()]
    assert tuple(header[1:]) == ROLES
    assert sorted(row[0] for row in rows) == sorted(ACTIONS)
    for action, *cells in rows:
        assert set(cells) <= {"yes", "no"}
        yield pytest.param(action, dict(zip(ROLES, cells, strict=True)), id=action)


def _trail() -> tuple[int, ...]:
    """Everything a successful action leaves behind."""
    return tuple(
        model.objects.count()
        for model in (AnswerEvent, AssessmentEvent, Comment, Evidence, Cycle, DeadlineExtension)
    )


class _Undo(Exception):
    """Rolls back an allowed action, so that the next role finds the same starting point."""


def _attempt(perform: Callable, user, target) -> str:
    """'yes' if the action went through (and left a trail), 'no' if it was refused by role
    and changed nothing; any other error fails the test."""
    before = _trail()
    try:
        with transaction.atomic():
            try:
                perform(user, target)
            except PermissionDenied:
                return "no" if _trail() == before else "refused, but changed something"
            outcome = "yes" if _trail() != before else "allowed, but left no trail"
            raise _Undo
    except _Undo:
        return outcome


@pytest.mark.parametrize(("action", "expected"), list(_table_rows()))
def test_each_role_may_do_exactly_what_the_permission_table_allows(cast, cycle, action, expected):
    prepare, perform = ACTIONS[action]
    target = prepare(cast, cycle)

    outcomes = {role: _attempt(perform, actor(cast, role), target) for role in ROLES}

    assert outcomes == expected


def test_the_supporting_agency_may_comment_but_not_submit_or_add_evidence(cast, cycle):
    answer = answer_at(cycle, A, "D1-E1-01")
    _fill(cast.operator_a, answer)

    comment_add(actor=cast.operator_a2, answer_id=answer.pk, body="Data Dinkes terlampir.")
    for attempt in (
        lambda: answer_submit(actor=cast.operator_a2, answer_id=answer.pk),
        lambda: evidence_add(
            actor=cast.operator_a2, answer_id=answer.pk, url="https://dinkes.go.id/x"
        ),
    ):
        with pytest.raises(PermissionDenied):
            attempt()

    answer.refresh_from_db()
    assert answer.state == "draft"
    assert answer.comments.get().author == cast.operator_a2


def test_an_operator_of_another_region_cannot_submit_for_its_own_agency_there(cast, cycle):
    assessment_a = _fill_region(cast, cycle, A)

    with pytest.raises(PermissionDenied):
        assessment_submit(actor=cast.operator_b, assessment_id=assessment_a.pk)
    assert set(assessment_a.answers.values_list("state", flat=True)) == {"draft"}


def test_the_role_is_checked_before_the_entry_deadline(cast, cycle):
    """A refused role learns nothing about the cycle's dates: the role is checked first."""
    Cycle.objects.filter(pk=cycle.pk).update(
        entry_deadline=timezone.localdate() - datetime.timedelta(days=1)
    )
    answer = answer_at(cycle, A, "D1-E1-01")

    with pytest.raises(PermissionDenied):
        _fill(cast.operator_b, answer)
