"""The internal monitoring dashboard: who sees which regions, the figures on a small scenario
built through the workflow services, late detection with an extension, and a query count that
does not grow with the number of agencies and answers."""

from __future__ import annotations

import datetime
import json
import re

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from assessments.choices import AnswerState, CycleStatus
from assessments.models import Answer, Cycle
from assessments.services import (
    answer_return,
    answer_save,
    answer_submit,
    answer_verify,
    cycle_open,
    deadline_extend,
)
from regions.choices import AgencyRole, MemberRole
from reports.selectors_internal import THROUGHPUT_DAYS, monitoring_cycles, monitoring_dashboard
from tests.factories import (
    AgencyElementRoleFactory,
    AgencyFactory,
    MembershipFactory,
    RegionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

LEVELS_A = {
    "D1-E1-01": 3, "D1-E1-02": 4, "D1-E2-01": 2, "D1-E2-02": 5,
    "D2-E1-01": 1, "D2-E1-02": 2, "D2-E2-01": 3, "D2-E2-02": 4,
}  # fmt: skip
VERIFIED_A = {"D1-E1-01": 2, "D1-E1-02": 4, "D1-E2-01": 2, "D1-E2-02": 3}


@pytest.fixture(autouse=True)
def default_language_afterwards():
    """Pages are read in English (/en/); a request leaves its language active in the thread,
    so put the default back for the tests that run after these."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


def url(**query) -> str:
    with translation.override("en"):
        path = reverse("internal:dashboard")
    if query:
        path += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return path


def page(client, user, **query) -> str:
    client.force_login(user)
    response = client.get(url(**query))
    assert response.status_code == 200
    return response.content.decode()


def answers_by_code(cycle, region) -> dict[str, Answer]:
    return {
        answer.indicator.code: answer
        for answer in Answer.objects.filter(
            assessment__cycle=cycle, assessment__region=region
        ).select_related("indicator")
    }


@pytest.fixture
def scenario(cast, cycle, fill_region):
    """Region A: every answer submitted; agency A's four (D1-*) verified, two of them lower
    than self-assessed; one of agency A2's (D2-*) returned. Region B: one draft answered."""
    fill_region(cycle, cast.region_a, levels=LEVELS_A)
    answers = answers_by_code(cycle, cast.region_a)
    for code, level in VERIFIED_A.items():
        answer_verify(
            actor=cast.reviewer,
            answer_id=answers[code].pk,
            verified_level=level,
            reason="" if level == LEVELS_A[code] else "Bukti belum lengkap.",
        )
    answer_return(actor=cast.reviewer, answer_id=answers["D2-E1-01"].pk, reason="Lengkapi bukti.")
    draft = answers_by_code(cycle, cast.region_b)["D1-E1-01"]
    answer_save(
        actor=cast.operator_b,
        answer_id=draft.pk,
        expected_version=draft.version,
        self_level=1,
        justification="Baru dirintis.",
    )
    return cycle


# --------------------------------------------------------------------------- who sees what


def test_anonymous_visitor_is_sent_to_the_login_page(client, cycle):
    response = client.get(url())
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_operator_may_not_open_the_monitoring_dashboard(client, cast, scenario):
    client.force_login(cast.operator_a)
    assert client.get(url()).status_code == 403


def test_user_without_a_role_may_not_open_the_monitoring_dashboard(client, scenario):
    client.force_login(UserFactory(username="nobody"))
    assert client.get(url()).status_code == 403


def test_coordinator_sees_only_their_own_regions_rows(client, cast, scenario):
    body = page(client, cast.coordinator_a)
    assert "Kota Semarang" in body
    assert "Diskominfo" in body and "Dinkes" in body
    # Region B's name and agency appear nowhere: not in a table, a chart or a selector.
    assert "Kabupaten Demak" not in body
    assert "Dinkominfo" not in body
    provisional = re.search(
        r'<script id="fig-provisional" type="application/json">(.*?)</script>', body, re.S
    )
    assert json.loads(provisional.group(1))["data"][0]["y"] == ["Kota Semarang"]


def test_coordinator_who_is_also_an_operator_elsewhere_still_sees_only_their_region(cast, scenario):
    MembershipFactory(user=cast.coordinator_a, role=MemberRole.OPERATOR, agency=cast.agency_b)
    cast.coordinator_a.refresh_from_db()  # drop the cached scope
    data = monitoring_dashboard(user=cast.coordinator_a, cycle=scenario)
    assert {row.region_code for row in data.agencies} == {"3374"}
    assert {row.region_code for row in data.provisional} == {"3374"}


@pytest.mark.parametrize("who", ["reviewer", "admin"])
def test_reviewer_and_administrator_see_every_region(client, cast, scenario, who):
    body = page(client, getattr(cast, who))
    assert "Kota Semarang" in body
    assert "Kabupaten Demak" in body
    assert "Dinkominfo" in body


def test_coordinator_is_not_offered_cycles_without_their_region(cast, scenario, framework):
    other_region = RegionFactory(code="3322", name="Kabupaten Semarang")
    agency = AgencyFactory(region=other_region, short_name="Diskominfo", slug="diskominfo")
    for code in [f"D{d}-E{e}" for d in (1, 2) for e in (1, 2)]:
        AgencyElementRoleFactory(agency=agency, element_code=code, role=AgencyRole.LEAD)
    today = datetime.date.today()
    other = cycle_open(
        actor=cast.admin,
        framework=framework,
        year=today.year,
        name="Siklus lain",
        regions=[other_region],
        starts_on=today,
        entry_deadline=today + datetime.timedelta(days=5),
        review_deadline=today + datetime.timedelta(days=6),
    )
    assert monitoring_cycles(user=cast.coordinator_a) == [scenario]
    assert set(monitoring_cycles(user=cast.reviewer)) == {scenario, other}


def test_a_cycle_that_is_not_offered_is_not_found(client, cast, scenario):
    Cycle.objects.filter(pk=scenario.pk).update(status=CycleStatus.CLOSED)
    client.force_login(cast.reviewer)
    assert client.get(url(cycle=scenario.pk)).status_code == 404
    response = client.get(url())
    assert response.status_code == 200
    assert "There is no open cycle to follow." in response.content.decode()


# --------------------------------------------------------------------------- the figures


def test_provisional_results_are_scored_live_from_self_assessed_levels(cast, scenario):
    data = monitoring_dashboard(user=cast.reviewer, cycle=scenario)
    rows = {row.region_code: row for row in data.provisional}
    # Region A: D1 = mean(3.5, 3.5) = 3.5 and D2 = mean(1.5, 3.5) = 2.5, so 3.0 (Baik); the
    # returned answer still counts with its self level, the verified levels do not.
    assert rows["3374"].index == 3.0
    assert rows["3374"].predicate == "baik"
    assert [(d.code, d.score) for d in rows["3374"].dimensions] == [("D1", 3.5), ("D2", 2.5)]
    assert (rows["3374"].answered, rows["3374"].total) == (8, 8)
    # Region B: one level 1 of eight slots: D1-E1 = 0.5, D1 = 0.25, index 0.125 → 0.13.
    assert rows["3321"].index == 0.13
    assert rows["3321"].predicate == "kurang"
    assert (rows["3321"].answered, rows["3321"].total) == (1, 8)


def test_completion_counts_each_state_per_agency_and_region(cast, scenario):
    data = monitoring_dashboard(user=cast.reviewer, cycle=scenario)
    agencies = {row.agency_short_name: row.counts for row in data.agencies}
    a, a2, b = agencies["Diskominfo"], agencies["Dinkes"], agencies["Dinkominfo"]
    assert (a.total, a.answered, a.submitted, a.returned, a.verified) == (4, 4, 0, 0, 4)
    assert (a2.total, a2.answered, a2.submitted, a2.returned, a2.verified) == (4, 4, 3, 1, 0)
    assert (b.total, b.answered, b.submitted, b.returned, b.verified) == (8, 1, 0, 0, 0)
    assert (a.percent_complete, a2.percent_complete, b.percent_complete) == (100, 75, 0)
    regions = {row.region_code: row for row in data.regions}
    region_a = regions["3374"].counts
    assert (region_a.total, region_a.submitted, region_a.returned, region_a.verified) == (
        8,
        3,
        1,
        4,
    )
    assert region_a.percent_complete == 87.5
    assert regions["3374"].agencies == 2
    assert regions["3374"].assessment_state == "in_review"
    assert regions["3321"].counts.draft == 8


def test_review_backlog_counts_submitted_answers_and_the_oldest_wait(cast, scenario):
    Answer.objects.filter(state=AnswerState.SUBMITTED).update(
        submitted_at=timezone.now() - datetime.timedelta(days=3)
    )
    data = monitoring_dashboard(user=cast.reviewer, cycle=scenario)
    assert data.backlog.waiting == 3
    assert [(r.region_code, r.waiting) for r in data.backlog.regions] == [("3374", 3)]
    assert 2.99 < data.backlog.oldest_age_days < 3.01


def test_throughput_counts_verifications_and_returns_per_day(cast, scenario):
    data = monitoring_dashboard(user=cast.reviewer, cycle=scenario)
    assert len(data.throughput) == THROUGHPUT_DAYS
    assert data.throughput[-1].day == timezone.localdate()
    assert (data.throughput[-1].verified, data.throughput[-1].returned) == (4, 1)
    assert sum(day.verified + day.returned for day in data.throughput[:-1]) == 0


def test_self_assessed_against_verified_shows_the_mean_gap_and_the_share_over_rated(cast, scenario):
    data = monitoring_dashboard(user=cast.reviewer, cycle=scenario)
    assert len(data.calibration) == 1  # only agency A has verified answers, all in D1
    cell = data.calibration[0]
    assert (cell.agency_short_name, cell.dimension_code, cell.verified) == ("Diskominfo", "D1", 4)
    assert cell.mean_gap == pytest.approx(0.75)  # (1 + 0 + 0 + 2) / 4
    assert cell.over_rated == 2
    assert cell.share_over_rated == 50


def test_page_shows_the_figures_charts_and_their_tables(client, cast, scenario):
    body = page(client, cast.reviewer)
    for figure in ("fig-provisional", "fig-throughput", "fig-calibration"):
        assert f'data-figure="{figure}"' in body
        payload = re.search(
            rf'<script id="{figure}" type="application/json">(.*?)</script>', body, re.S
        )
        assert payload is not None
        assert json.loads(payload.group(1))["data"]
    assert "Computed live" in body
    assert "87%" in body or "88%" in body  # region A complete (floatformat rounds half even)
    assert "over-rates" in body
    assert "+0.75" in body
    # No inline script code: the figures travel as JSON and are drawn by static files.
    assert not re.search(r"<script>(?!</script>)", body)
    assert " onclick=" not in body


# --------------------------------------------------------------------------- late agencies


def test_agency_is_late_when_its_deadline_passed_with_open_answers(cast, scenario):
    after = scenario.entry_deadline + datetime.timedelta(days=1)
    data = monitoring_dashboard(user=cast.reviewer, cycle=scenario, today=after)
    late = {row.agency_short_name: row.late for row in data.agencies}
    # A: everything verified; A2: one answer returned; B: seven drafts.
    assert late == {"Diskominfo": False, "Dinkes": True, "Dinkominfo": True}
    assert {r.region_code: r.agencies_late for r in data.regions} == {"3374": 1, "3321": 1}

    before = monitoring_dashboard(user=cast.reviewer, cycle=scenario, today=scenario.entry_deadline)
    assert not any(row.late for row in before.agencies)


def test_an_extension_moves_the_agencys_deadline_and_lifts_the_late_mark(cast, scenario):
    until = scenario.entry_deadline + datetime.timedelta(days=10)
    deadline_extend(
        actor=cast.admin, cycle=scenario, agency=cast.agency_b, until=until, reason="Banjir."
    )
    deadline_extend(
        actor=cast.admin,
        cycle=scenario,
        agency=cast.agency_b,
        until=until + datetime.timedelta(days=5),
        reason="Banjir lagi.",
    )
    after = scenario.entry_deadline + datetime.timedelta(days=1)
    data = monitoring_dashboard(user=cast.reviewer, cycle=scenario, today=after)
    rows = {row.agency_short_name: row for row in data.agencies}
    assert rows["Dinkominfo"].deadline == until + datetime.timedelta(days=5)
    assert rows["Dinkominfo"].extended and not rows["Dinkominfo"].late
    assert rows["Dinkes"].late and not rows["Dinkes"].extended
    later = until + datetime.timedelta(days=6)
    assert {r.agency_short_name: r.late for r in monitoring_dashboard(
        user=cast.reviewer, cycle=scenario, today=later
    ).agencies}["Dinkominfo"]  # fmt: skip


def test_late_rows_are_marked_with_text_not_only_colour(client, cast, scenario):
    Cycle.objects.filter(pk=scenario.pk).update(
        starts_on=datetime.date.today() - datetime.timedelta(days=30),
        entry_deadline=datetime.date.today() - datetime.timedelta(days=1),
    )
    body = page(client, cast.reviewer)
    assert body.count('class="is-late"') == 4  # two regions and two agencies
    assert "Late: 1 open answer<" in body  # Dinkes: the returned answer
    assert "Late: 8 open answers<" in body  # Dinkominfo: eight drafts
    assert "Late: 1 of 2 agencies" in body


def test_agency_table_sorts_by_the_chosen_column(client, cast, scenario):
    body = page(client, cast.reviewer, sort="agency", dir="asc")
    agencies = body[body.index('id="agencies"') :]
    order = [agencies.index(name) for name in ("Dinkes", "Dinkominfo", "Diskominfo")]
    assert order == sorted(order)
    assert 'aria-sort="ascending"' in agencies
    body = page(client, cast.reviewer, sort="complete", dir="desc")
    agencies = body[body.index('id="agencies"') :]
    order = [agencies.index(f">{name}<") for name in ("Diskominfo", "Dinkes", "Dinkominfo")]
    assert order == sorted(order)
    # An unknown column falls back to the default order instead of failing.
    assert 'aria-sort="descending"' in page(client, cast.reviewer, sort="password", dir="up")


# --------------------------------------------------------------------------- queries


def _count_queries(client, user, cycle) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url(cycle=cycle.pk)).status_code == 200
    return len(queries)


@pytest.fixture
def larger_cycle(cast, framework, scenario, fill_region):
    """A second open cycle of the same framework for regions A, B and a third region whose
    four agencies lead one element each; every answer filled and submitted, then three in four
    verified and the rest returned: more agencies, answers, states and audit events."""
    region_c = RegionFactory(code="3324", name="Kabupaten Kendal")
    codes = [f"D{d}-E{e}" for d in (1, 2) for e in (1, 2)]
    operators = {}
    for position, code in enumerate(codes):
        agency = AgencyFactory(region=region_c, short_name=f"Dinas{position}")
        AgencyElementRoleFactory(agency=agency, element_code=code, role=AgencyRole.LEAD)
        operators[agency.pk] = MembershipFactory(
            user=UserFactory(username=f"op-c-{position}"), agency=agency
        ).user
    today = datetime.date.today()
    bigger = cycle_open(
        actor=cast.admin,
        framework=framework,
        year=today.year,
        name="Siklus besar",
        regions=[cast.region_a, cast.region_b, region_c],
        starts_on=today,
        entry_deadline=today + datetime.timedelta(days=5),
        review_deadline=today + datetime.timedelta(days=6),
    )
    fill_region(bigger, cast.region_a)
    fill_region(bigger, cast.region_b)
    for answer in Answer.objects.filter(assessment__cycle=bigger, assessment__region=region_c):
        saved = answer_save(
            actor=operators[answer.agency_id],
            answer_id=answer.pk,
            expected_version=answer.version,
            self_level=1,
            justification="Rintisan.",
        )
        answer_submit(actor=operators[answer.agency_id], answer_id=saved.pk)
    submitted = Answer.objects.filter(assessment__cycle=bigger, state=AnswerState.SUBMITTED)
    for position, answer in enumerate(submitted.order_by("pk")):
        if position % 4 == 0:
            answer_return(actor=cast.reviewer, answer_id=answer.pk, reason="Lengkapi.")
        else:
            answer_verify(actor=cast.reviewer, answer_id=answer.pk, verified_level=1, reason="Cek.")
    return bigger


@pytest.mark.parametrize("who", ["reviewer", "coordinator_a"])
def test_query_count_does_not_grow_with_agencies_and_answers(
    client, cast, scenario, larger_cycle, django_assert_max_num_queries, who
):
    user = getattr(cast, who)
    small = _count_queries(client, user, scenario)
    large = _count_queries(client, user, larger_cycle)
    assert small == large
    client.force_login(user)
    # Session, user, memberships and inbox badge (4), cycles, regions, dimensions (3),
    # the engine's frames (3: framework, answers, the codes of the answers' ids), completion
    # and extensions (2), backlog, throughput and self-assessed against verified (3).
    with django_assert_max_num_queries(15):
        client.get(url(cycle=larger_cycle.pk))
