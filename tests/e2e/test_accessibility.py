"""axe-core (via axe-playwright-python) on the pages people use most: the public home, a
region page and the methodology, then the operator's worklist and answer form and the
reviewer's queue, reached by logging in through the login form. No serious or critical
violation is allowed; the failure message lists each one with the elements it was found on."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest
from axe_playwright_python.sync_playwright import Axe

from assessments.models import Answer
from assessments.services import answer_save, answer_submit, cycle_open, evidence_add
from dimensions.selectors import current_framework
from regions.choices import MemberRole
from regions.models import Agency, Region
from tests.e2e.test_public import ALL_CHARTS_DRAWN, publish_reference_results
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

SEVERE = {"serious", "critical"}
PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's
AXE = Axe()


def severe_violations(page) -> list[str]:
    """Serious and critical axe violations of the page as it is now, one line each:
    rule (impact): the CSS targets of the offending elements."""
    results = AXE.run(page)
    return [
        f"{violation['id']} ({violation['impact']}): "
        + " | ".join(", ".join(node["target"]) for node in violation["nodes"])
        for violation in results.response["violations"]
        if violation["impact"] in SEVERE
    ]


def log_in(page, base_url: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(base_url + "/en/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    assert "/accounts/login/" not in page.url, "login failed"


@pytest.fixture
def workflow(reference_data):
    """Published results of every Semarang Raya region, and an open cycle for Kota Semarang
    in which the Diskominfo operator has submitted two answers (in the reviewer's queue) and
    keeps a third as a draft with evidence."""
    publish_reference_results()
    admin = UserFactory(username="admin-a11y", is_staff=True, is_superuser=True)
    MembershipFactory(user=admin, role=MemberRole.ADMINISTRATOR, agency=None, region=None)
    region = Region.objects.get(code="3374")
    agency = Agency.objects.get(region=region, slug="diskominfo")
    operator = MembershipFactory(
        user=UserFactory(username="op-a11y"), role=MemberRole.OPERATOR, agency=agency
    ).user
    reviewer = MembershipFactory(
        user=UserFactory(username="reviewer-a11y"),
        role=MemberRole.REVIEWER,
        agency=None,
        region=None,
    ).user
    today = datetime.date.today()
    cycle = cycle_open(
        actor=admin,
        framework=current_framework(),
        year=today.year + 1,
        name=f"Penilaian {today.year + 1}",
        regions=[region],
        starts_on=today - datetime.timedelta(days=10),
        entry_deadline=today + datetime.timedelta(days=20),
        review_deadline=today + datetime.timedelta(days=40),
    )
    answers = list(
        Answer.objects.filter(assessment__cycle=cycle, agency=agency).order_by("indicator__code")
    )
    for answer in answers[:2]:
        answer_save(
            actor=operator,
            answer_id=answer.pk,
            expected_version=answer.version,
            self_level=1,
            justification="Praktik masih ad hoc di sebagian unit.",
        )
        answer_submit(actor=operator, answer_id=answer.pk)
    draft = answers[2]
    answer_save(
        actor=operator,
        answer_id=draft.pk,
        expected_version=draft.version,
        self_level=2,
        justification="Sudah ditetapkan secara formal untuk sebagian unit.",
    )
    evidence_add(actor=operator, answer_id=draft.pk, url="https://example.org/bukti/sk.pdf")
    return SimpleNamespace(operator=operator, reviewer=reviewer, draft=draft)


def test_public_pages_have_no_serious_accessibility_violations(live_server, workflow, page):
    found = {}
    for path in ["/", "/regions/3374/", "/methodology/", "/en/semarang-raya/map/"]:
        page.goto(live_server.url + path)
        if path != "/methodology/":
            page.wait_for_function(ALL_CHARTS_DRAWN, timeout=30_000)
        # Open every data table, so that axe checks them too.
        page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
        found[path] = severe_violations(page)
    assert found == {path: [] for path in found}, found


def test_operator_worklist_and_answer_form_have_no_serious_violations(live_server, workflow, page):
    log_in(page, live_server.url, workflow.operator.username)
    page.goto(live_server.url + "/assessments/worklist/")
    worklist = severe_violations(page)
    page.goto(live_server.url + f"/assessments/answers/{workflow.draft.pk}/")
    answer_form = severe_violations(page)
    assert {"worklist": worklist, "answer_form": answer_form} == {
        "worklist": [],
        "answer_form": [],
    }


def test_review_queue_has_no_serious_violations(live_server, workflow, page):
    log_in(page, live_server.url, workflow.reviewer.username)
    page.goto(live_server.url + "/assessments/review/")
    assert page.get_by_text("Kota Semarang").count() >= 1
    assert severe_violations(page) == []
