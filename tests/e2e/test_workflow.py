"""The heart of the portal in a real browser: an operator fills and submits with evidence, the
reviewer returns one answer with a reason, the operator sees it, fixes and resubmits, the
reviewer sees the diff, verifies everything and approves. Screenshots go to test-artifacts/."""

import datetime

import pytest
from django.urls import reverse

from assessments.choices import AnswerState, AssessmentState
from assessments.models import Answer, Assessment
from assessments.services import cycle_open
from regions.choices import AgencyRole, MemberRole, RegionKind
from tests.factories import (
    AgencyElementRoleFactory,
    AgencyFactory,
    MembershipFactory,
    RegionFactory,
    UserFactory,
    build_framework,
)

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct horse battery staple"  # the factories' password
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture
def scenario():
    province = RegionFactory(code="33", name="Provinsi Jawa Tengah", kind=RegionKind.PROVINCE)
    region = RegionFactory(code="3374", name="Kota Semarang", kind=RegionKind.CITY, parent=province)
    agency = AgencyFactory(region=region, short_name="Diskominfo", slug="diskominfo")
    framework = build_framework(slug="e2e", dimensions=1, elements=1, indicators=2)
    AgencyElementRoleFactory(agency=agency, element_code="D1-E1", role=AgencyRole.LEAD)
    operator = MembershipFactory(
        user=UserFactory(username="op-e2e"), role=MemberRole.OPERATOR, agency=agency
    ).user
    reviewer = MembershipFactory(
        user=UserFactory(username="reviewer-e2e"),
        role=MemberRole.REVIEWER,
        agency=None,
        region=None,
    ).user
    admin = UserFactory(username="admin-e2e", is_staff=True, is_superuser=True)
    today = datetime.date.today()
    cycle = cycle_open(
        actor=admin,
        framework=framework,
        year=today.year,
        name="Siklus E2E",
        regions=[region],
        starts_on=today,
        entry_deadline=today + datetime.timedelta(days=30),
        review_deadline=today + datetime.timedelta(days=60),
    )
    answers = list(Answer.objects.filter(assessment__cycle=cycle).order_by("indicator__code"))
    return {"operator": operator, "reviewer": reviewer, "answers": answers, "cycle": cycle}


def en(name, *args):
    """The English page of a URL name (Indonesian pages have no prefix)."""
    return "/en" + reverse(name, args=args)


def login(page, base, username):
    page.goto(base + "/en/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("networkidle")


def save_and_submit(page):
    """The answer form posts with htmx and, once submitted, reloads the page (HX-Redirect)."""
    with page.expect_navigation():
        page.get_by_role("button", name="Save and submit").click()
    page.wait_for_load_state("networkidle")


def logout(page):
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state("networkidle")


def test_operator_and_reviewer_complete_a_cycle(
    live_server, page, watch, artifacts, scenario, tmp_path
):
    base = live_server.url
    first, second = scenario["answers"]
    evidence = tmp_path / "laporan-capaian.pdf"
    evidence.write_bytes(PDF)

    # The operator fills both indicators; level 2 needs evidence, level 1 does not.
    login(page, base, "op-e2e")
    page.goto(base + en("assessments:worklist"))
    page.screenshot(path=artifacts / "workflow-01-worklist.png", full_page=True)
    page.get_by_role("link", name=first.indicator.code).first.click()
    page.get_by_label("2 – Managed").check()
    page.get_by_label("Justification").fill("Layanan daring sudah ditetapkan dengan SK.")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_load_state("networkidle")
    page.get_by_label("File").set_input_files(str(evidence))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("laporan-capaian.pdf").first.is_visible()
    page.screenshot(path=artifacts / "workflow-02-answer-form.png", full_page=True)
    save_and_submit(page)

    page.goto(base + en("assessments:answer_detail", second.pk))
    page.get_by_label("1 – Initial").check()
    page.get_by_label("Justification").fill("Masih rintisan di satu unit kerja.")
    save_and_submit(page)
    assert set(Answer.objects.values_list("state", flat=True)) == {AnswerState.SUBMITTED}
    logout(page)

    # The reviewer returns the first answer with a reason.
    login(page, base, "reviewer-e2e")
    page.goto(base + en("assessments:answer_review", first.pk))
    page.get_by_label("Reason for return").fill("Lampirkan SK yang sudah ditandatangani.")
    page.get_by_role("button", name="Return to the agency").click()
    page.wait_for_load_state("networkidle")
    assert Answer.objects.get(pk=first.pk).state == AnswerState.RETURNED
    logout(page)

    # The operator sees the reason, fixes the justification and resubmits.
    login(page, base, "op-e2e")
    page.goto(base + en("assessments:answer_detail", first.pk))
    assert page.get_by_role("heading", name="Returned for revision").is_visible()
    notice = page.locator("section", has=page.locator("#return-heading"))
    assert "Lampirkan SK yang sudah ditandatangani." in notice.inner_text()
    page.screenshot(path=artifacts / "workflow-03-returned.png", full_page=True)
    page.get_by_label("Justification").fill("SK Wali Kota yang ditandatangani sudah dilampirkan.")
    save_and_submit(page)
    logout(page)

    # The reviewer sees what changed, verifies both and approves the region.
    login(page, base, "reviewer-e2e")
    page.goto(base + en("assessments:answer_review", first.pk))
    assert page.locator("ins").first.is_visible() and page.locator("del").first.is_visible()
    page.screenshot(path=artifacts / "workflow-04-review-diff.png", full_page=True)
    page.get_by_role("button", name="Verify").click()
    page.wait_for_load_state("networkidle")
    page.goto(base + en("assessments:answer_review", second.pk))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_load_state("networkidle")
    assessment = Assessment.objects.get(cycle=scenario["cycle"])
    page.goto(base + en("assessments:assessment_detail", assessment.pk))
    page.get_by_role("button", name="Approve the assessment").click()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=artifacts / "workflow-05-approved.png", full_page=True)

    assessment.refresh_from_db()
    assert assessment.state == AssessmentState.APPROVED
    assert set(Answer.objects.values_list("state", flat=True)) == {AnswerState.VERIFIED}
    watch.assert_clean()
