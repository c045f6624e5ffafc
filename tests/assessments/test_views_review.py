"""The reviewers' and administrators' pages: queue, answer review, approval, cycles."""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from assessments import services
from assessments.choices import AnswerState, AssessmentState, EventKind
from assessments.models import (
    Answer,
    Assessment,
    AssessmentEvent,
    Comment,
    Cycle,
    DeadlineExtension,
)
from assessments.selectors.review import text_diff_html
from dimensions.choices import FrameworkStatus
from tests.factories import ClusterMembershipFactory, RegionFactory, build_framework

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
ROLES = ["reviewer", "admin", "coordinator_a", "operator_a", "operator_b", "anonymous"]


def url(name: str, *args, query: str = "") -> str:
    """English URLs, so that messages asserted below are the source strings."""
    with translation.override("en"):
        path = reverse(f"assessments:{name}", args=args)
    return f"{path}?{query}" if query else path


def login(client, cast, role: str):
    if role != "anonymous":
        client.force_login(getattr(cast, role))
    return client


def fresh(answer: Answer) -> Answer:
    return Answer.objects.get(pk=answer.pk)


def fill(
    answer: Answer, operator, *, level: int = 1, justification: str = "Sudah berjalan."
) -> None:
    """Save a complete answer as its operator (with a PDF when the level requires evidence)."""
    services.answer_save(
        actor=operator,
        answer_id=answer.pk,
        expected_version=fresh(answer).version,
        self_level=level,
        justification=justification,
    )
    if level >= 2:
        services.evidence_add(
            actor=operator,
            answer_id=answer.pk,
            file=SimpleUploadedFile("bukti.pdf", PDF, content_type="application/pdf"),
        )


def submit(answer: Answer, operator, **kwargs) -> Answer:
    fill(answer, operator, **kwargs)
    services.answer_submit(actor=operator, answer_id=answer.pk)
    return fresh(answer)


def message_texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def assessment_a(cycle, cast) -> Assessment:
    return Assessment.objects.get(cycle=cycle, region=cast.region_a)


@pytest.fixture
def region_a_all_verified(cycle, cast, assessment_a):
    """Every answer of region A submitted (agencies A and A2) and verified."""
    answers = list(assessment_a.answers.select_related("agency"))
    operators = {cast.agency_a.pk: cast.operator_a, cast.agency_a2.pk: cast.operator_a2}
    for answer in answers:
        submit(answer, operators[answer.agency_id])
    for answer in answers:
        services.answer_verify(actor=cast.reviewer, answer_id=answer.pk, verified_level=1)
    return answers


# --------------------------------------------------------------------------- who sees what

PAGE_STATUS = {
    # page: reviewer, admin, coordinator_a, operator_a, operator_b, anonymous
    "review_queue": [200, 200, 403, 403, 403, 302],
    "answer_review": [200, 200, 403, 403, 404, 302],
    "assessment_detail": [200, 200, 403, 403, 404, 302],
    "cycle_list": [403, 200, 403, 403, 403, 302],
    "cycle_open": [403, 200, 403, 403, 403, 302],
    "cycle_detail": [403, 200, 403, 403, 403, 302],
}
CASES = [
    (page, role, status)
    for page, statuses in PAGE_STATUS.items()
    for role, status in zip(ROLES, statuses, strict=True)
]


@pytest.mark.parametrize(("page", "role", "expected"), CASES)
def test_each_page_answers_each_role_with_the_expected_status(
    client, cast, cycle, answers_a, assessment_a, page, role, expected
):
    args = {
        "answer_review": [answers_a[0].pk],
        "assessment_detail": [assessment_a.pk],
        "cycle_detail": [cycle.pk],
    }.get(page, [])
    response = login(client, cast, role).get(url(page, *args))
    assert response.status_code == expected
    if expected == 302:
        assert "/accounts/login/" in response["Location"]


def test_an_unknown_answer_is_not_found_for_a_reviewer(client, cast, cycle):
    response = login(client, cast, "reviewer").get(url("answer_review", 999999))
    assert response.status_code == 404


def test_administrator_reads_the_queue_without_the_bulk_verify_form(client, cast, answers_a):
    submit(answers_a[0], cast.operator_a)
    response = login(client, cast, "admin").get(url("review_queue"))
    assert response.status_code == 200
    assert answers_a[0].indicator.code in response.content.decode()
    assert 'name="answers"' not in response.content.decode()


def test_administrator_cannot_bulk_verify(client, cast, answers_a):
    submit(answers_a[0], cast.operator_a)
    response = login(client, cast, "admin").post(
        url("review_queue"), {"answers": [answers_a[0].pk]}
    )
    assert response.status_code == 403
    assert fresh(answers_a[0]).state == AnswerState.SUBMITTED


# --------------------------------------------------------------------------- verify and return


def test_verify_with_a_different_level_and_no_reason_shows_the_error_and_changes_nothing(
    client, cast, answers_a
):
    answer = submit(answers_a[0], cast.operator_a, level=2)
    response = login(client, cast, "reviewer").post(
        url("review_answer_verify", answer.pk), {"verified_level": "3", "reason": ""}
    )
    assert response.status_code == 400
    form = response.context["verify_form"]
    assert form.errors["reason"] == [
        "Required when the verified level differs from the self-assessed level."
    ]
    html = response.content.decode()
    assert 'id="id_verify_reason_error"' in html
    assert 'aria-invalid="true"' in html
    after = fresh(answer)
    assert (after.state, after.verified_level, after.version) == (
        AnswerState.SUBMITTED,
        None,
        answer.version,
    )


def test_verify_with_a_different_level_and_a_reason_records_both(client, cast, answers_a):
    answer = submit(answers_a[0], cast.operator_a, level=2)
    response = login(client, cast, "reviewer").post(
        url("review_answer_verify", answer.pk),
        {"verified_level": "1", "reason": "Dokumen belum ditetapkan.", "comment": "Lengkapi SK."},
    )
    assert response.status_code == 302
    after = fresh(answer)
    assert (after.state, after.self_level, after.verified_level, after.final_level) == (
        AnswerState.VERIFIED,
        2,
        1,
        1,
    )
    assert after.verification_reason == "Dokumen belum ditetapkan."
    assert Comment.objects.filter(answer=answer, body="Lengkapi SK.").exists()


def test_verify_goes_on_to_the_next_answer_of_the_filtered_queue(client, cast, answers_a):
    first, second = (submit(a, cast.operator_a) for a in answers_a[:2])
    query = f"region={cast.region_a.pk}&state=submitted"
    response = login(client, cast, "reviewer").post(
        url("review_answer_verify", first.pk, query=query), {"verified_level": "1"}
    )
    assert response.status_code == 302
    assert response["Location"] == url("answer_review", second.pk, query=query)
    assert fresh(first).state == AnswerState.VERIFIED


def test_the_review_page_links_the_previous_and_next_answers_keeping_the_filters(
    client, cast, answers_a
):
    for answer in answers_a[:3]:
        submit(answer, cast.operator_a)
    query = f"agency={cast.agency_a.pk}&state=submitted"
    response = login(client, cast, "reviewer").get(
        url("answer_review", answers_a[1].pk, query=query)
    )
    html = response.content.decode()
    assert response.context["neighbours"] == {
        "previous": answers_a[0].pk,
        "next": answers_a[2].pk,
        "position": 2,
        "total": 3,
    }
    assert (
        f'href="{url("answer_review", answers_a[0].pk, query=query).replace("&", "&amp;")}"' in html
    )
    assert (
        f'href="{url("answer_review", answers_a[2].pk, query=query).replace("&", "&amp;")}"' in html
    )


def test_the_verify_form_defaults_to_the_self_level_and_shows_the_descriptors(
    client, cast, answers_a
):
    answer = submit(answers_a[0], cast.operator_a, level=2)
    response = login(client, cast, "reviewer").get(url("answer_review", answer.pk))
    html = response.content.decode()
    assert 'value="2" id="id_verify_verified_level_1" required checked' in html
    assert "Level 4 descriptor" in html
    assert "bukti.pdf" in html
    evidence = answer.evidence.get()
    assert url("evidence_download", evidence.pk) in html


def test_return_without_a_reason_is_refused(client, cast, answers_a):
    answer = submit(answers_a[0], cast.operator_a)
    response = login(client, cast, "reviewer").post(
        url("review_answer_return", answer.pk), {"reason": "  "}
    )
    assert response.status_code == 400
    assert "reason" in response.context["return_form"].errors
    assert fresh(answer).state == AnswerState.SUBMITTED


def test_return_with_a_reason_returns_the_answer_to_the_agency(client, cast, answers_a):
    answer = submit(answers_a[0], cast.operator_a)
    response = login(client, cast, "reviewer").post(
        url("review_answer_return", answer.pk), {"reason": "Lampirkan SK."}, follow=True
    )
    assert response.status_code == 200
    after = fresh(answer)
    assert (after.state, after.return_reason) == (AnswerState.RETURNED, "Lampirkan SK.")
    assert "returned to Diskominfo for revision" in response.content.decode()


def test_operators_and_administrators_cannot_verify_or_return(client, cast, answers_a):
    answer = submit(answers_a[0], cast.operator_a)
    for role in ("operator_a", "admin", "coordinator_a"):
        login(client, cast, role)
        verify = client.post(url("review_answer_verify", answer.pk), {"verified_level": "1"})
        back = client.post(url("review_answer_return", answer.pk), {"reason": "x"})
        assert (verify.status_code, back.status_code) == (403, 403)
    login(client, cast, "operator_b")
    assert (
        client.post(url("review_answer_verify", answer.pk), {"verified_level": "1"}).status_code
        == 404
    )
    assert fresh(answer).state == AnswerState.SUBMITTED


def test_a_reviewer_comment_is_added_to_the_thread(client, cast, answers_a):
    answer = submit(answers_a[0], cast.operator_a)
    response = login(client, cast, "reviewer").post(
        url("review_answer_comment", answer.pk), {"body": "Mohon cek tautan."}, follow=True
    )
    assert response.status_code == 200
    assert Comment.objects.filter(answer=answer, author=cast.reviewer).count() == 1
    assert "Mohon cek tautan." in response.content.decode()


# --------------------------------------------------------------------------- the diff


def test_after_a_return_and_a_revised_resubmission_the_review_page_shows_the_diff(
    client, cast, answers_a
):
    answer = submit(
        answers_a[0], cast.operator_a, justification="Layanan daring tersedia di dua kecamatan."
    )
    services.answer_return(actor=cast.reviewer, answer_id=answer.pk, reason="Sebutkan cakupan.")
    fill(
        answer,
        cast.operator_a,
        level=2,
        justification="Layanan daring tersedia di semua kecamatan.",
    )
    services.answer_submit(actor=cast.operator_a, answer_id=answer.pk)

    response = login(client, cast, "reviewer").get(url("answer_review", answer.pk))
    html = response.content.decode()
    diff = response.context["diff"]
    assert diff.changed and diff.level_changed and diff.justification_changed
    assert (diff.level_old, diff.level_new) == (1, 2)
    assert diff.evidence_added == ["bukti.pdf"]
    assert "<del>dua</del>" in html
    assert "<ins>semua</ins>" in html
    assert "Layanan daring tersedia di " in html

    queue = client.get(url("review_queue"))
    assert "Changed since last review" in queue.content.decode()


def test_a_resubmission_without_changes_is_marked_as_unchanged(client, cast, answers_a):
    answer = submit(answers_a[0], cast.operator_a, level=2)
    services.answer_return(actor=cast.reviewer, answer_id=answer.pk, reason="Periksa lagi.")
    services.answer_submit(actor=cast.operator_a, answer_id=answer.pk)
    login(client, cast, "reviewer")
    queue = client.get(url("review_queue")).content.decode()
    assert "Resubmitted without changes" in queue
    assert "Changed since last review" not in queue
    page = client.get(url("answer_review", answer.pk))
    assert page.context["diff"].changed is False
    assert "Nothing has changed since the last review." in page.content.decode()


def test_the_diff_escapes_what_the_agency_typed():
    html = text_diff_html("aman <b>lama</b>", "aman <script>alert(1)</script>")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert html.startswith("aman ")


def test_the_diff_marks_added_and_removed_lines():
    html = text_diff_html("satu\ndua\n", "satu\ntiga\nempat\n")
    assert html.startswith("satu\n")
    assert "<del>dua</del>" in html
    assert "<ins>tiga</ins>" in html
    assert "empat" in html


# --------------------------------------------------------------------------- bulk verify


def test_bulk_verify_verifies_the_selected_submitted_answers_and_reports_the_rest(
    client, cast, answers_a
):
    first = submit(answers_a[0], cast.operator_a)
    second = submit(answers_a[1], cast.operator_a, level=2)
    draft = answers_a[2]
    response = login(client, cast, "reviewer").post(
        url("review_queue", query="state=submitted"),
        {"answers": [first.pk, second.pk, draft.pk]},
    )
    assert response.status_code == 302
    assert response["Location"] == url("review_queue", query="state=submitted")
    assert fresh(first).state == fresh(second).state == AnswerState.VERIFIED
    assert (fresh(first).verified_level, fresh(second).verified_level) == (1, 2)
    assert fresh(draft).state == AnswerState.DRAFT
    texts = message_texts(response)
    assert "2 answers verified at their self-assessed level." in texts
    assert any(
        text.startswith(f"Not verified: {draft.indicator.code} (Kota Semarang)") for text in texts
    )


def test_bulk_verify_without_a_selection_says_so(client, cast, answers_a):
    response = login(client, cast, "reviewer").post(url("review_queue"), {})
    assert response.status_code == 302
    assert message_texts(response) == ["Select at least one answer to verify."]


# --------------------------------------------------------------------------- the queue


def rows(response) -> set[int]:
    return {answer.pk for answer in response.context["rows"]}


def test_the_queue_shows_submitted_answers_by_default(client, cast, cycle, answers_a):
    submitted = submit(answers_a[0], cast.operator_a)
    response = login(client, cast, "reviewer").get(url("review_queue"))
    assert rows(response) == {submitted.pk}
    assert response.context["form"]["state"].value() == "submitted"


def test_the_queue_filters_by_region_agency_dimension_element_and_state(
    client, cast, cycle, answers_a
):
    login(client, cast, "reviewer")
    in_cycle = Answer.objects.filter(assessment__cycle=cycle)

    def ids(**filters) -> set[int]:
        return set(in_cycle.filter(**filters).values_list("pk", flat=True))

    def queue(query: str) -> set[int]:
        response = client.get(url("review_queue", query=query))
        assert response.status_code == 200
        return rows(response)

    assert queue("state=") == ids()
    assert len(ids()) == 16
    assert queue(f"state=&region={cast.region_b.pk}") == ids(assessment__region=cast.region_b)
    assert queue(f"state=&agency={cast.agency_a2.pk}") == ids(agency=cast.agency_a2)
    assert queue("state=&dimension=D2") == ids(indicator__element__dimension__code="D2")
    assert queue("state=&element=D1-E1") == ids(indicator__element__code="D1-E1")
    assert queue(f"state=&cycle={cycle.pk}&region={cast.region_a.pk}&element=D1-E2") == ids(
        assessment__region=cast.region_a, indicator__element__code="D1-E2"
    )

    returned = submit(answers_a[0], cast.operator_a)
    services.answer_return(actor=cast.reviewer, answer_id=returned.pk, reason="Kurang bukti.")
    verified = submit(answers_a[1], cast.operator_a)
    services.answer_verify(actor=cast.reviewer, answer_id=verified.pk, verified_level=1)
    assert queue("state=returned") == {returned.pk}
    assert queue("state=verified") == {verified.pk}
    assert queue("state=unverified") == ids() - {verified.pk}
    assert queue("state=submitted") == set()


def test_an_invalid_filter_is_reported_and_ignored(client, cast, cycle, answers_a):
    response = login(client, cast, "reviewer").get(url("review_queue", query="state=&region=x"))
    assert response.status_code == 200
    assert "region" in response.context["form"].errors
    assert len(rows(response)) == 16


def test_the_filter_form_labels_every_field_and_updates_the_results_with_htmx(client, cast, cycle):
    html = login(client, cast, "reviewer").get(url("review_queue")).content.decode()
    for name in ("cycle", "region", "agency", "dimension", "element", "state"):
        assert f'<label for="id_{name}">' in html
    assert 'hx-get="' in html and 'hx-target="#queue-results"' in html
    assert 'hx-push-url="true"' in html
    assert '<button type="submit" class="button">Apply filters</button>' in html


def test_an_htmx_request_to_the_queue_returns_only_the_results_partial(
    client, cast, cycle, answers_a
):
    submit(answers_a[0], cast.operator_a)
    response = login(client, cast, "reviewer").get(
        url("review_queue", query="state=submitted"), HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    names = [template.name for template in response.templates]
    assert names[0] == "assessments/review/partials/queue_results.html"
    assert "assessments/review/queue.html" not in names
    assert "<html" not in html and '<form method="get"' not in html
    assert answers_a[0].indicator.code in html
    assert "HX-Request" in response["Vary"]


def test_the_queue_is_paginated(client, cast, cycle, answers_a, monkeypatch):
    monkeypatch.setattr("assessments.selectors.review.QUEUE_PAGE_SIZE", 5)
    login(client, cast, "reviewer")
    first = client.get(url("review_queue", query="state="))
    assert len(first.context["rows"]) == 5
    assert first.context["page"].paginator.num_pages == 4
    last = client.get(url("review_queue", query="state=&page=4"))
    assert len(last.context["rows"]) == 1
    assert not rows(first) & rows(last)


# --------------------------------------------------------------------------- approval and reopening


def test_approve_is_refused_while_answers_are_unverified(client, cast, assessment_a, answers_a):
    submit(answers_a[0], cast.operator_a)
    login(client, cast, "reviewer")
    page = client.get(url("assessment_detail", assessment_a.pk))
    html = page.content.decode()
    assert "8 answers are not verified yet." in html
    unverified = f"cycle={assessment_a.cycle_id}&amp;region={cast.region_a.pk}&amp;state=unverified"
    assert unverified in html
    response = client.post(url("review_assessment_approve", assessment_a.pk))
    assert response.status_code == 302
    assert any("not verified yet" in text for text in message_texts(response))
    assessment_a.refresh_from_db()
    assert assessment_a.state != AssessmentState.APPROVED


def test_approve_is_accepted_when_every_answer_is_verified(
    client, cast, assessment_a, region_a_all_verified
):
    response = login(client, cast, "reviewer").post(
        url("review_assessment_approve", assessment_a.pk), follow=True
    )
    assert response.status_code == 200
    assessment_a.refresh_from_db()
    assert assessment_a.state == AssessmentState.APPROVED
    html = response.content.decode()
    assert "Approved and locked" in html
    assert "Approve the assessment" not in html


def test_only_reviewers_approve(client, cast, assessment_a, region_a_all_verified):
    for role, status in (("admin", 403), ("coordinator_a", 403), ("operator_b", 404)):
        response = login(client, cast, role).post(url("review_assessment_approve", assessment_a.pk))
        assert response.status_code == status
    assessment_a.refresh_from_db()
    assert assessment_a.state != AssessmentState.APPROVED


def test_reopening_is_for_administrators_and_needs_a_reason(
    client, cast, assessment_a, region_a_all_verified
):
    services.assessment_approve(actor=cast.reviewer, assessment_id=assessment_a.pk)

    reviewer = login(client, cast, "reviewer").post(
        url("review_assessment_reopen", assessment_a.pk), {"reason": "Salah hitung."}
    )
    assert reviewer.status_code == 403

    login(client, cast, "admin")
    page = client.get(url("assessment_detail", assessment_a.pk)).content.decode()
    assert "Reopen with a reason" in page
    without = client.post(url("review_assessment_reopen", assessment_a.pk), {"reason": ""})
    assert without.status_code == 400
    assert "reason" in without.context["reopen_form"].errors
    assessment_a.refresh_from_db()
    assert assessment_a.state == AssessmentState.APPROVED

    done = client.post(
        url("review_assessment_reopen", assessment_a.pk),
        {"reason": "Bukti baru dari Dinkes."},
        follow=True,
    )
    assert done.status_code == 200
    assessment_a.refresh_from_db()
    assert assessment_a.state == AssessmentState.REOPENED
    event = assessment_a.events.order_by("-pk").first()
    assert (event.new_value, event.reason) == (AssessmentState.REOPENED, "Bukti baru dari Dinkes.")
    assert "Bukti baru dari Dinkes." in done.content.decode()


# --------------------------------------------------------------------------- cycles


@pytest.fixture
def new_framework(cycle):
    """A complete draft framework with the same element codes (so the leads of the `cycle`
    fixture cover it)."""
    return build_framework(slug="baru", dimensions=2, elements=2, indicators=1)


def cycle_form(framework, regions, **overrides) -> dict:
    today = datetime.date.today()
    data = {
        "year": today.year + 1,
        "name": "Siklus Baru",
        "framework": framework.pk,
        "regions": [region.pk for region in regions],
        "starts_on": (today + datetime.timedelta(days=1)).isoformat(),
        "entry_deadline": (today + datetime.timedelta(days=30)).isoformat(),
        "review_deadline": (today + datetime.timedelta(days=60)).isoformat(),
    }
    data.update(overrides)
    return data


def test_an_administrator_opens_a_cycle_with_assessments_and_answers_and_a_frozen_framework(
    client, cast, new_framework
):
    response = login(client, cast, "admin").post(
        url("cycle_open"), cycle_form(new_framework, [cast.region_a, cast.region_b])
    )
    assert response.status_code == 302
    cycle = Cycle.objects.get(name="Siklus Baru")
    assert response["Location"] == url("cycle_detail", cycle.pk)
    assert cycle.assessments.count() == 2
    assert Answer.objects.filter(assessment__cycle=cycle).count() == 2 * 4
    new_framework.refresh_from_db()
    assert new_framework.status == FrameworkStatus.FROZEN


def test_opening_a_cycle_shows_the_services_refusal_on_the_form(client, cast, new_framework):
    lonely = RegionFactory(code="3324", name="Kabupaten Kendal")
    response = login(client, cast, "admin").post(
        url("cycle_open"), cycle_form(new_framework, [cast.region_a, lonely])
    )
    assert response.status_code == 400
    errors = response.context["form"].non_field_errors()
    assert any("no lead agency" in error and "Kabupaten Kendal" in error for error in errors)
    assert not Cycle.objects.filter(name="Siklus Baru").exists()
    new_framework.refresh_from_db()
    assert new_framework.status == FrameworkStatus.DRAFT


def test_opening_a_cycle_checks_the_dates_and_the_regions(client, cast, new_framework):
    response = login(client, cast, "admin").post(
        url("cycle_open"),
        cycle_form(
            new_framework,
            [],
            review_deadline=(datetime.date.today()).isoformat(),
        ),
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "regions" in form.errors
    response = client.post(
        url("cycle_open"),
        cycle_form(
            new_framework,
            [cast.region_a],
            review_deadline=(datetime.date.today() + datetime.timedelta(days=2)).isoformat(),
        ),
    )
    assert response.status_code == 400
    assert "review_deadline" in response.context["form"].errors
    assert not Cycle.objects.filter(name="Siklus Baru").exists()


def test_a_non_administrator_cannot_open_a_cycle(client, cast, new_framework):
    response = login(client, cast, "reviewer").post(
        url("cycle_open"), cycle_form(new_framework, [cast.region_a])
    )
    assert response.status_code == 403
    assert not Cycle.objects.filter(name="Siklus Baru").exists()


def test_the_cycle_form_preselects_semarang_raya_members_on_the_start_date(client, cast, cycle):
    ClusterMembershipFactory(region=cast.region_a, valid_from=datetime.date(2020, 1, 1))
    ClusterMembershipFactory(region=cast.region_b, valid_from=datetime.date(2100, 1, 1))
    response = login(client, cast, "admin").get(url("cycle_open"))
    assert response.status_code == 200
    form = response.context["form"]
    assert form["regions"].initial == [cast.region_a.pk]
    html = response.content.decode()
    assert re.search(rf'value="{cast.region_a.pk}" id="id_regions_\d" checked>', html)
    assert re.search(rf'value="{cast.region_b.pk}" id="id_regions_\d">', html)


def test_a_deadline_extension_is_recorded_with_an_audit_event(client, cast, cycle, assessment_a):
    until = cycle.entry_deadline + datetime.timedelta(days=7)
    response = login(client, cast, "admin").post(
        url("cycle_deadline_extend", cycle.pk),
        {"agency": cast.agency_a.pk, "until": until.isoformat(), "reason": "Banjir di kantor."},
        follow=True,
    )
    assert response.status_code == 200
    extension = DeadlineExtension.objects.get(cycle=cycle, agency=cast.agency_a)
    assert (extension.until, extension.reason, extension.granted_by) == (
        until,
        "Banjir di kantor.",
        cast.admin,
    )
    event = AssessmentEvent.objects.get(assessment=assessment_a, kind=EventKind.DEADLINE)
    assert (event.agency, event.new_value, event.reason) == (
        cast.agency_a,
        until.isoformat(),
        "Banjir di kantor.",
    )
    assert "Banjir di kantor." in response.content.decode()
    detail = client.get(url("assessment_detail", assessment_a.pk)).content.decode()
    assert "Entry deadline of Diskominfo extended" in detail


def test_a_deadline_extension_needs_a_reason_and_a_later_date(client, cast, cycle):
    login(client, cast, "admin")
    without = client.post(
        url("cycle_deadline_extend", cycle.pk),
        {
            "agency": cast.agency_a.pk,
            "until": (cycle.entry_deadline + datetime.timedelta(days=3)).isoformat(),
            "reason": "",
        },
    )
    assert without.status_code == 400
    assert "reason" in without.context["extend_form"].errors
    earlier = client.post(
        url("cycle_deadline_extend", cycle.pk),
        {"agency": cast.agency_a.pk, "until": cycle.entry_deadline.isoformat(), "reason": "Cuti."},
    )
    assert earlier.status_code == 400
    assert "until" in earlier.context["extend_form"].errors
    assert not DeadlineExtension.objects.exists()


def test_only_administrators_extend_deadlines(client, cast, cycle):
    data = {
        "agency": cast.agency_a.pk,
        "until": (cycle.entry_deadline + datetime.timedelta(days=3)).isoformat(),
        "reason": "Cuti.",
    }
    assert (
        login(client, cast, "reviewer")
        .post(url("cycle_deadline_extend", cycle.pk), data)
        .status_code
        == 403
    )
    assert not DeadlineExtension.objects.exists()


def test_the_cycle_list_shows_each_regions_assessment_state(client, cast, cycle, assessment_a):
    response = login(client, cast, "admin").get(url("cycle_list"))
    html = response.content.decode()
    assert cycle.name in html
    assert f"v{cycle.framework.version}" in html
    assert url("assessment_detail", assessment_a.pk) in html
    assert url("cycle_open") in html


# --------------------------------------------------------------------------- query counts


def count_queries(client, path: str, **extra) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(path, **extra)
    assert response.status_code == 200
    return len(context.captured_queries)


def more_answers(cast, cycle) -> Cycle:
    """A second cycle with five indicators per element: 40 more answers."""
    framework = build_framework(slug="besar", dimensions=2, elements=2, indicators=5)
    today = datetime.date.today()
    return services.cycle_open(
        actor=cast.admin,
        framework=framework,
        year=today.year + 1,
        name="Siklus Besar",
        regions=[cast.region_a, cast.region_b],
        starts_on=today - datetime.timedelta(days=5),
        entry_deadline=today + datetime.timedelta(days=20),
        review_deadline=today + datetime.timedelta(days=40),
    )


def test_the_queue_issues_a_bounded_number_of_queries_whatever_the_rows(
    client, cast, cycle, answers_a, django_assert_max_num_queries
):
    answer = submit(answers_a[0], cast.operator_a, level=2)
    services.answer_return(actor=cast.reviewer, answer_id=answer.pk, reason="Ulangi.")
    services.answer_submit(actor=cast.operator_a, answer_id=answer.pk)
    login(client, cast, "reviewer")
    path = url("review_queue", query="state=")
    small = count_queries(client, path)
    more_answers(cast, cycle)
    with django_assert_max_num_queries(14):
        response = client.get(path)
    assert len(response.context["rows"]) == 50
    assert count_queries(client, path) == small
    assert count_queries(client, path, HTTP_HX_REQUEST="true") <= small


def test_the_review_page_issues_a_bounded_number_of_queries(
    client, cast, cycle, answers_a, django_assert_max_num_queries
):
    answer = submit(answers_a[0], cast.operator_a, level=2)
    services.answer_return(actor=cast.reviewer, answer_id=answer.pk, reason="Ulangi.")
    services.answer_submit(actor=cast.operator_a, answer_id=answer.pk)
    login(client, cast, "reviewer")
    path = url("answer_review", answer.pk)
    small = count_queries(client, path)
    services.answer_return(actor=cast.reviewer, answer_id=answer.pk, reason="Ulangi lagi.")
    for n in range(3):
        services.comment_add(actor=cast.operator_a, answer_id=answer.pk, body=f"Catatan {n}")
        fill(answer, cast.operator_a, level=2, justification=f"Versi {n}")
    services.answer_submit(actor=cast.operator_a, answer_id=answer.pk)
    with django_assert_max_num_queries(16):
        client.get(path)
    assert count_queries(client, path) == small


def test_the_assessment_and_cycle_pages_issue_a_bounded_number_of_queries(
    client, cast, cycle, assessment_a, django_assert_max_num_queries
):
    login(client, cast, "admin")
    detail = url("assessment_detail", assessment_a.pk)
    cycles = url("cycle_list")
    one_cycle = (count_queries(client, detail), count_queries(client, cycles))
    more_answers(cast, cycle)
    services.deadline_extend(
        actor=cast.admin,
        cycle=cycle,
        agency=cast.agency_a,
        until=cycle.entry_deadline + datetime.timedelta(days=2),
        reason="Cuti bersama.",
    )
    with django_assert_max_num_queries(10):
        client.get(detail)
    assert (count_queries(client, detail), count_queries(client, cycles)) == one_cycle
    with django_assert_max_num_queries(10):
        client.get(url("cycle_detail", cycle.pk))
