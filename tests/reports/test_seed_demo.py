import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from assessments.choices import AnswerState, AssessmentState
from assessments.models import Answer, Assessment, Cycle

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """Seed once for the module; the data is removed again at the end."""
    with django_db_blocker.unblock():
        call_command("seed_reference", stdout=io.StringIO())
        call_command("seed_demo", stdout=io.StringIO())
        yield
        from django.core.management import call_command as run

        run("flush", "--noinput", verbosity=0)


def test_demo_accounts_of_the_contract_exist_with_the_demo_password(demo):
    for username in ["admin", "reviewer", "coord-3374", "coord-3373", "op-3374-diskominfo"]:
        assert authenticate(username=username, password="smartprov-demo") is not None, username


def test_the_past_cycle_is_approved_for_every_region_taking_part_then(demo):
    past = Cycle.objects.get(year=2025)
    states = set(past.assessments.values_list("state", flat=True))
    assert states == {AssessmentState.APPROVED}
    regions = set(past.assessments.values_list("region__code", flat=True))
    assert regions == {"3374", "3322", "3321", "3324"}  # Salatiga joins later
    assert not Answer.objects.filter(assessment__cycle=past).exclude(state=AnswerState.VERIFIED)


def test_the_current_cycle_has_every_answer_state_and_diskominfo_drafts(demo):
    current = Cycle.objects.get(year=2026)
    assert "3373" in set(current.assessments.values_list("region__code", flat=True))
    states = set(Answer.objects.filter(assessment__cycle=current).values_list("state", flat=True))
    assert states == set(AnswerState.values)
    assert Answer.objects.filter(
        assessment__cycle=current,
        assessment__region__code="3374",
        agency__slug="diskominfo",
        state=AnswerState.DRAFT,
    ).exists()


def test_seeding_the_demo_twice_changes_nothing(demo):
    before = (Cycle.objects.count(), Assessment.objects.count(), Answer.objects.count())
    call_command("seed_demo", stdout=io.StringIO())
    assert (Cycle.objects.count(), Assessment.objects.count(), Answer.objects.count()) == before
