"""A whole assessment cycle through the API alone, with token authentication, and the API's
error shape (400, 401, 403, 404, 409) in English and Indonesian."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from rest_framework.test import APIClient

from assessments import services
from assessments.api.serializers import evidence_download_path
from assessments.exceptions import InvalidTransition, StaleVersionError
from assessments.models import Answer, AnswerEvent, Evidence
from regions.choices import AgencyRole
from tests.factories import AgencyElementRoleFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def login(username: str, *, language: str = "en") -> APIClient:
    """A client that logs in like a script would: POST /api/v1/auth/token/, then Token auth."""
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    response = client.post(
        "/api/v1/auth/token/", {"username": username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.content
    return response.json()


@pytest.fixture
def lead_agencies(cast, framework, element_codes):
    """In region A, agency A leads D1-* and agency A2 leads D2-*; no cycle is open yet."""
    for code in element_codes:
        agency = cast.agency_a if code.startswith("D1") else cast.agency_a2
        AgencyElementRoleFactory(agency=agency, element_code=code, role=AgencyRole.LEAD)
    return framework


def open_cycle(admin: APIClient, framework_id: int) -> dict:
    today = datetime.date.today()
    return ok(
        admin.post(
            "/api/v1/cycles/",
            {
                "framework": framework_id,
                "year": today.year,
                "name": f"Siklus {today.year}",
                "regions": ["3374"],
                "starts_on": (today - datetime.timedelta(days=1)).isoformat(),
                "entry_deadline": (today + datetime.timedelta(days=30)).isoformat(),
                "review_deadline": (today + datetime.timedelta(days=60)).isoformat(),
            },
            format="json",
        ),
        201,
    )


def test_a_whole_cycle_runs_through_the_api_alone(cast, lead_agencies):
    admin, operator = login("admin"), login("op-a")
    operator2, reviewer = login("op-a2"), login("reviewer")

    # The administrator opens the cycle; the framework version freezes.
    cycle = open_cycle(admin, lead_agencies.pk)
    assert [a["region"] for a in cycle["assessments"]] == ["3374"]
    assessment_id = cycle["assessments"][0]["id"]
    assert ok(admin.get(f"/api/v1/frameworks/{lead_agencies.pk}/"))["status"] == "frozen"

    # Operator A reads the agency's worklist and fills it in, one PATCH per answer.
    worklist = ok(operator.get(f"/api/v1/answers/?cycle={cycle['id']}&region=3374"))["results"]
    assert [a["indicator"] for a in worklist] == ["D1-E1-01", "D1-E1-02", "D1-E2-01", "D1-E2-02"]
    assert {a["agency"] for a in worklist} == {"diskominfo"}
    first, *others = worklist
    saved = ok(
        operator.patch(
            f"/api/v1/answers/{first['id']}/",
            {"version": first["version"], "self_level": 3, "justification": "Terstandar."},
            format="json",
        )
    )
    assert (saved["self_level"], saved["version"]) == (3, first["version"] + 1)
    for answer in others:
        ok(
            operator.patch(
                f"/api/v1/answers/{answer['id']}/",
                {"version": answer["version"], "self_level": 1, "justification": "Rintisan."},
                format="json",
            )
        )

    # Level 3 needs evidence: the agency's submission is refused and says what is missing.
    refused = operator.post(f"/api/v1/assessments/{assessment_id}/submit/", {}, format="json")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "incomplete"
    with translation.override("en"):
        gaps = [str(gap) for gap in services.answer_missing(Answer.objects.get(pk=first["id"]))]
    assert len(gaps) == 1  # the evidence, nothing else
    assert error["missing"] == [{"answer": first["id"], "indicator": "D1-E1-01", "missing": gaps}]
    assert Answer.objects.filter(pk=first["id"]).values_list("state", flat=True).get() == "draft"

    # Evidence: a file (multipart) and a link (JSON).
    upload = ok(
        operator.post(
            f"/api/v1/answers/{first['id']}/evidence/",
            {"file": SimpleUploadedFile("SK Walikota.pdf", PDF, content_type="application/pdf")},
            format="multipart",
        ),
        201,
    )
    assert (upload["kind"], upload["name"], upload["content_type"]) == (
        "file",
        "SK Walikota.pdf",
        "application/pdf",
    )
    assert upload["size"] == len(PDF)
    assert upload["download"].endswith(evidence_download_path(upload["id"]))
    assert upload["url"] is None
    link = ok(
        operator.post(
            f"/api/v1/answers/{first['id']}/evidence/",
            {"url": "https://jdih.semarangkota.go.id/sk"},
            format="json",
        ),
        201,
    )
    assert (link["kind"], link["url"], link["download"]) == (
        "link",
        "https://jdih.semarangkota.go.id/sk",
        None,
    )
    assert link["answer_version"] == upload["answer_version"] + 1

    # Each operator submits their own agency's answers; the region is then submitted.
    submitted = ok(operator.post(f"/api/v1/assessments/{assessment_id}/submit/", {}, format="json"))
    assert sorted(submitted["submitted"]) == sorted(a["id"] for a in worklist)
    assert submitted["assessment"]["state"] == "open"  # agency A2 has not submitted yet
    for answer in ok(operator2.get(f"/api/v1/answers/?assessment={assessment_id}&agency=dinkes"))[
        "results"
    ]:
        ok(
            operator2.patch(
                f"/api/v1/answers/{answer['id']}/",
                {"version": answer["version"], "self_level": 1, "justification": "Rintisan."},
                format="json",
            )
        )
    submitted = ok(
        operator2.post(
            f"/api/v1/assessments/{assessment_id}/submit/", {"agency": "dinkes"}, format="json"
        )
    )
    assert submitted["assessment"]["state"] == "submitted"

    # The reviewer returns one answer; a reason is required.
    no_reason = reviewer.post(f"/api/v1/answers/{first['id']}/return/", {}, format="json")
    assert no_reason.status_code == 400
    assert "reason" in no_reason.json()["error"]["fields"]
    returned = ok(
        reviewer.post(
            f"/api/v1/answers/{first['id']}/return/",
            {"reason": "SK belum ditandatangani."},
            format="json",
        )
    )
    assert (returned["state"], returned["return_reason"]) == (
        "returned",
        "SK belum ditandatangani.",
    )
    assert ok(reviewer.get(f"/api/v1/assessments/{assessment_id}/"))["state"] == "in_review"

    # The operator sees why, fixes the answer and resubmits it.
    seen = ok(operator.get(f"/api/v1/answers/{first['id']}/"))
    assert seen["return_reason"] == "SK belum ditandatangani."
    ok(
        operator.patch(
            f"/api/v1/answers/{first['id']}/",
            {"version": seen["version"], "justification": "SK sudah ditandatangani."},
            format="json",
        )
    )
    assert ok(operator.post(f"/api/v1/answers/{first['id']}/submit/"))["state"] == "submitted"

    # The reviewer verifies every answer; a different level needs a reason.
    pending = ok(
        reviewer.get(f"/api/v1/answers/?assessment={assessment_id}&state=submitted&page_size=50")
    )["results"]
    assert len(pending) == 8
    differs = reviewer.post(
        f"/api/v1/answers/{first['id']}/verify/", {"verified_level": 2}, format="json"
    )
    assert differs.status_code == 400
    assert list(differs.json()["error"]["fields"]) == ["reason"]
    for answer in pending:
        level, reason = (
            (2, "Bukti baru mendukung level 2.") if answer["id"] == first["id"] else (1, "")
        )
        verified = ok(
            reviewer.post(
                f"/api/v1/answers/{answer['id']}/verify/",
                {"verified_level": level, "reason": reason},
                format="json",
            )
        )
        assert (verified["state"], verified["verified_level"], verified["final_level"]) == (
            "verified",
            level,
            level,
        )

    # The reviewer approves; the assessment is locked.
    approved = ok(reviewer.post(f"/api/v1/assessments/{assessment_id}/approve/"))
    assert approved["state"] == "approved"
    assert approved["approved_at"] is not None
    final = ok(operator.get(f"/api/v1/answers/{first['id']}/"))
    assert (final["self_level"], final["verified_level"], final["final_level"]) == (3, 2, 2)
    kinds = [event["kind"] for event in final["history"]]
    assert kinds.count("evidence_added") == 2
    assert "verified_level" in kinds
    locked = operator.patch(
        f"/api/v1/answers/{first['id']}/",
        {"version": final["version"], "justification": "Terlambat."},
        format="json",
    )
    assert locked.status_code == 400
    assert locked.json()["error"]["code"] == "invalid_transition"

    # The administrator reopens with a reason; the history says who and why.
    reopened = ok(
        admin.post(
            f"/api/v1/assessments/{assessment_id}/reopen/",
            {"reason": "Koreksi bobot bukti."},
            format="json",
        )
    )
    assert reopened["state"] == "reopened"
    assert reopened["history"][-1]["reason"] == "Koreksi bobot bukti."
    assert reopened["history"][-1]["actor"] == "admin"


def test_stale_version_is_refused_with_409_and_changes_nothing(cast, answers_a):
    operator = login("op-a")
    answer = answers_a[0]
    first = ok(
        operator.patch(
            f"/api/v1/answers/{answer.pk}/",
            {"version": 1, "self_level": 2, "justification": "Versi pertama."},
            format="json",
        )
    )
    events_before = AnswerEvent.objects.filter(answer=answer).count()

    stale = operator.patch(
        f"/api/v1/answers/{answer.pk}/",
        {"version": 1, "self_level": 4, "justification": "Versi basi."},
        format="json",
    )

    assert stale.status_code == 409
    error = stale.json()["error"]
    assert error["code"] == "stale_version"
    assert error["current_version"] == first["version"] == 2
    answer.refresh_from_db()
    assert (answer.self_level, answer.justification, answer.version) == (2, "Versi pertama.", 2)
    assert AnswerEvent.objects.filter(answer=answer).count() == events_before


def test_evidence_upload_refuses_a_file_whose_content_does_not_match(cast, answers_a):
    operator = login("op-a")

    response = operator.post(
        f"/api/v1/answers/{answers_a[0].pk}/evidence/",
        {"file": SimpleUploadedFile("laporan.pdf", b"MZ\x90\x00 not a pdf")},
        format="multipart",
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "file": ["The file's content does not match its .pdf extension."]
    }
    assert not Evidence.objects.filter(answer=answers_a[0]).exists()


def test_token_endpoint_refuses_a_wrong_password_in_the_error_shape(cast):
    response = APIClient(HTTP_ACCEPT_LANGUAGE="en").post(
        "/api/v1/auth/token/", {"username": "op-a", "password": "wrong"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid_credentials",
            "message": "The username or password is not correct.",
            "fields": {},
        }
    }


def test_token_endpoint_locks_out_in_the_error_shape_after_repeated_failures(cast, settings):
    settings.AXES_ENABLED = True
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")

    def attempt(username, password):
        return client.post(
            "/api/v1/auth/token/", {"username": username, "password": password}, format="json"
        )

    failures = [attempt("op-a", "wrong").status_code for _n in range(settings.AXES_FAILURE_LIMIT)]
    locked = attempt("op-a", PASSWORD)
    other_user = attempt("op-b", PASSWORD)

    assert failures[:-1] == [400] * (settings.AXES_FAILURE_LIMIT - 1)
    assert failures[-1] == 429
    assert locked.status_code == 429
    assert locked["Content-Type"] == "application/json"
    assert locked.json()["error"]["code"] == "locked_out"
    assert other_user.status_code == 200


def test_session_authentication_requires_the_csrf_token(cast, answers_a):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(cast.operator_a)

    read = browser.get(f"/api/v1/answers/{answers_a[0].pk}/")
    write = browser.patch(
        f"/api/v1/answers/{answers_a[0].pk}/", {"version": 1, "self_level": 1}, format="json"
    )

    assert read.status_code == 200
    assert write.status_code == 403
    assert write.json()["error"]["code"] == "permission_denied"
    assert "CSRF" in write.json()["error"]["message"]


def test_answer_list_issues_a_bounded_number_of_queries(
    cast, cycle, answers_a, django_assert_max_num_queries
):
    for answer in answers_a:
        Evidence.objects.create(answer=answer, url="https://example.test/a", uploaded_by=None)
    reviewer = login("reviewer")

    # token, memberships, count, page, evidence
    with django_assert_max_num_queries(5):
        assert len(ok(reviewer.get("/api/v1/answers/?page_size=200"))["results"]) == 16
    with django_assert_max_num_queries(5):  # token, memberships, count, page (+ scoping)
        assert ok(reviewer.get("/api/v1/assessments/"))["count"] == 2
    with django_assert_max_num_queries(5):  # token, memberships, count, page, assessments
        assert ok(reviewer.get("/api/v1/cycles/"))["count"] == 1
    with django_assert_max_num_queries(7):  # + evidence, events
        ok(reviewer.get(f"/api/v1/answers/{answers_a[0].pk}/"))


# --------------------------------------------------------------------------- error shape

CODES = {
    400: "invalid_transition",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    409: "stale_version",
}


def _one_of_each(cast, answers_a, language: str) -> dict[int, object]:
    """Requests that answer 400, 401, 403, 404 and 409, in one language."""
    anonymous = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    operator_a, operator_b = login("op-a", language=language), login("op-b", language=language)
    coordinator, reviewer = (
        login("coord-a", language=language),
        login("reviewer", language=language),
    )
    answer = answers_a[0].pk
    return {
        400: reviewer.post(
            f"/api/v1/answers/{answer}/verify/", {"verified_level": 1}, format="json"
        ),
        401: anonymous.get("/api/v1/answers/"),
        403: coordinator.patch(f"/api/v1/answers/{answer}/", {"version": 1}, format="json"),
        404: operator_b.get(f"/api/v1/answers/{answer}/"),
        409: operator_a.patch(f"/api/v1/answers/{answer}/", {"version": 7}, format="json"),
    }


def test_every_error_has_one_shape_with_an_english_message(cast, answers_a):
    # Domain errors carry the services' own messages, the ones the browser shows.
    with translation.override("en"), pytest.raises(InvalidTransition) as refusal:
        services.answer_verify(actor=cast.reviewer, answer_id=answers_a[0].pk, verified_level=1)
    with translation.override("en"):
        stale = str(StaleVersionError(1).message)
    english = {
        400: str(refusal.value.message),
        401: "Authentication credentials were not provided.",
        403: "You do not have permission to perform this action.",
        404: "Not found.",
        409: stale,
    }

    responses = _one_of_each(cast, answers_a, "en")

    for status, response in responses.items():
        assert response.status_code == status
        assert response["Content-Type"] == "application/json"
        assert response["Content-Language"] == "en"
        assert response.json() == {
            "error": {
                "code": CODES[status],
                "message": english[status],
                "fields": {},
                **({"current_version": 1} if status == 409 else {}),
            }
        }


def test_errors_asked_for_in_indonesian_keep_the_shape_and_the_codes(cast, answers_a):
    responses = _one_of_each(cast, answers_a, "id")

    for status, response in responses.items():
        assert response.status_code == status
        assert response["Content-Language"] == "id"
        error = response.json()["error"]
        assert set(error) >= {"code", "message", "fields"}
        assert error["code"] == CODES[status]
        assert isinstance(error["message"], str)
        assert error["message"]
    # DRF ships an Indonesian catalogue; the portal's own is filled in later.
    assert responses[401].json()["error"]["message"] != (
        "Authentication credentials were not provided."
    )


def test_field_errors_are_listed_per_field(cast, answers_a):
    operator = login("op-a")

    response = operator.patch(
        f"/api/v1/answers/{answers_a[0].pk}/",
        {"self_level": 9, "links": ["bukan tautan"]},
        format="json",
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"] == "Some fields are not valid; see the field errors."
    assert set(error["fields"]) == {"version", "self_level", "links.0"}
    assert error["fields"]["version"] == ["This field is required."]


def test_malformed_json_is_a_400_in_the_error_shape(cast, answers_a):
    operator = login("op-a")

    response = operator.generic(
        "PATCH",
        f"/api/v1/answers/{answers_a[0].pk}/",
        b'{"version": 1,',
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
