"""The API's permission matrix: each role × each endpoint and action, on the user's own objects,
on objects of another agency in the same region and on objects of another region.

Reading guide: 401 anonymous, 404 may not see, 403 may see but not do, 2xx done, and 400 allowed
but refused by the workflow in the object's current state (the code says why). The second half
checks that the API decides exactly what `assessments.permissions` (the browser's functions)
decides, for every user, object and action.
"""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from assessments import services
from assessments.models import Answer, Assessment
from assessments.permissions import (
    Action,
    answers_visible_to,
    assessments_visible_to,
    get_answer_for_user,
    get_assessment_for_user,
)

pytestmark = pytest.mark.django_db

ROLES = [
    "anonymous",
    "operator_a",
    "operator_a2",
    "operator_b",
    "coordinator_a",
    "reviewer",
    "admin",
]


@pytest.fixture
def objects(cast, cycle, answers_a):
    """Region A: `own` (agency A, element D1-E1, complete draft; agency A2 supports D1-E1),
    `submitted` (agency A, D1-E1, submitted), `unsupported` (agency A, D1-E2, draft);
    region B: `other_region` (agency B, complete draft)."""
    own, submitted, unsupported = answers_a[0], answers_a[1], answers_a[2]
    other_region = (
        Answer.objects.filter(assessment__region=cast.region_b).order_by("indicator__code").first()
    )
    for answer, operator in ((own, cast.operator_a), (submitted, cast.operator_a)):
        services.answer_save(
            actor=operator,
            answer_id=answer.pk,
            expected_version=1,
            self_level=1,
            justification="Berjalan.",
        )
    services.answer_save(
        actor=cast.operator_b,
        answer_id=other_region.pk,
        expected_version=1,
        self_level=1,
        justification="Berjalan.",
    )
    services.answer_submit(actor=cast.operator_a, answer_id=submitted.pk)
    return {
        "own": own.pk,
        "submitted": submitted.pk,
        "unsupported": unsupported.pk,
        "other_region": other_region.pk,
        "assessment_a": own.assessment_id,
        "assessment_b": other_region.assessment_id,
        "cycle": cycle.pk,
        "framework": cycle.framework_id,
        "cycle_body": {
            "framework": cycle.framework_id,
            "year": 2031,
            "name": "Siklus 2031",
            "regions": ["3374"],
            "starts_on": datetime.date.today().isoformat(),
            "entry_deadline": (datetime.date.today() + datetime.timedelta(days=30)).isoformat(),
            "review_deadline": (datetime.date.today() + datetime.timedelta(days=60)).isoformat(),
        },
    }


def _request(client, objects, endpoint: str, target: str | None):
    """Perform one row of the matrix: `endpoint` is 'METHOD path-template'."""
    method, template = endpoint.split(" ", 1)
    pk = objects[target] if target else None
    url = "/api/v1/" + template.format(pk=pk)
    body = {
        "PATCH answers/{pk}/": {"version": 2, "justification": "Diperbarui."},
        "POST answers/{pk}/evidence/": {"url": "https://example.test/bukti.pdf"},
        "POST answers/{pk}/return/": {"reason": "Lengkapi bukti."},
        "POST answers/{pk}/verify/": {"verified_level": 1},
        "POST assessments/{pk}/reopen/": {"reason": "Koreksi data."},
        "POST cycles/": objects["cycle_body"],
    }.get(endpoint, {})
    if method == "GET":
        return client.get(url)
    return getattr(client, method.lower())(url, body, format="json")


# (endpoint, target) → status for each role in ROLES order. 400s carry their code below.
MATRIX = [
    # reference data: everyone, also anonymously
    ("GET frameworks/", None, [200, 200, 200, 200, 200, 200, 200]),
    ("GET frameworks/{pk}/", "framework", [200, 200, 200, 200, 200, 200, 200]),
    ("GET dimensions/", None, [200, 200, 200, 200, 200, 200, 200]),
    ("GET regions/", None, [200, 200, 200, 200, 200, 200, 200]),
    ("GET agencies/", None, [200, 200, 200, 200, 200, 200, 200]),
    # cycles: every logged-in user reads; administrators open
    ("GET cycles/", None, [401, 200, 200, 200, 200, 200, 200]),
    ("GET cycles/{pk}/", "cycle", [401, 200, 200, 200, 200, 200, 200]),
    ("POST cycles/", None, [401, 403, 403, 403, 403, 403, 201]),
    # answers: read
    ("GET answers/", None, [401, 200, 200, 200, 200, 200, 200]),
    ("GET answers/{pk}/", "own", [401, 200, 200, 404, 200, 200, 200]),
    ("GET answers/{pk}/", "unsupported", [401, 200, 404, 404, 200, 200, 200]),
    ("GET answers/{pk}/", "other_region", [401, 404, 404, 200, 404, 200, 200]),
    # answers: the owning agency's operator edits and submits
    ("PATCH answers/{pk}/", "own", [401, 200, 403, 404, 403, 403, 403]),
    ("PATCH answers/{pk}/", "unsupported", [401, 409, 404, 404, 403, 403, 403]),
    ("PATCH answers/{pk}/", "other_region", [401, 404, 404, 200, 404, 403, 403]),
    ("POST answers/{pk}/evidence/", "own", [401, 201, 403, 404, 403, 403, 403]),
    ("POST answers/{pk}/evidence/", "other_region", [401, 404, 404, 201, 404, 403, 403]),
    ("POST answers/{pk}/submit/", "own", [401, 200, 403, 404, 403, 403, 403]),
    ("POST answers/{pk}/submit/", "other_region", [401, 404, 404, 200, 404, 403, 403]),
    # answers: reviewers return and verify
    ("POST answers/{pk}/return/", "submitted", [401, 403, 403, 404, 403, 200, 403]),
    ("POST answers/{pk}/verify/", "submitted", [401, 403, 403, 404, 403, 200, 403]),
    ("POST answers/{pk}/verify/", "own", [401, 403, 403, 404, 403, 400, 403]),
    # assessments
    ("GET assessments/", None, [401, 200, 200, 200, 200, 200, 200]),
    ("GET assessments/{pk}/", "assessment_a", [401, 200, 200, 404, 200, 200, 200]),
    ("GET assessments/{pk}/", "assessment_b", [401, 404, 404, 200, 404, 200, 200]),
    ("POST assessments/{pk}/submit/", "assessment_a", [401, 400, 400, 404, 400, 403, 403]),
    ("POST assessments/{pk}/submit/", "assessment_b", [401, 404, 404, 400, 404, 403, 403]),
    ("POST assessments/{pk}/approve/", "assessment_a", [401, 403, 403, 404, 403, 400, 403]),
    ("POST assessments/{pk}/reopen/", "assessment_a", [401, 403, 403, 404, 403, 403, 400]),
]

# Why the workflow refuses where the role is allowed (state of the fixture's objects).
REFUSALS = {
    ("POST answers/{pk}/verify/", "own"): "invalid_transition",  # a draft cannot be verified
    ("POST assessments/{pk}/submit/", "assessment_a"): "incomplete",  # empty answers left
    ("POST assessments/{pk}/submit/", "assessment_b"): "incomplete",
    ("POST assessments/{pk}/approve/", "assessment_a"): "invalid_transition",  # still open
    ("POST assessments/{pk}/reopen/", "assessment_a"): "invalid_transition",  # not approved
}
ERROR_CODES = {401: "not_authenticated", 403: "permission_denied", 404: "not_found"}


@pytest.mark.parametrize(
    ("endpoint", "target", "expected"),
    [pytest.param(*row, id=f"{row[0]} {row[1] or 'list'}") for row in MATRIX],
)
def test_permission_matrix(clients, objects, endpoint, target, expected):
    """One row of the matrix: the statuses of all roles, in ROLES order. Only one role (or the
    owners of different regions) may act in a row, so the roles' requests do not interfere."""
    responses = [_request(clients[role], objects, endpoint, target) for role in ROLES]

    assert [r.status_code for r in responses] == expected, dict(
        zip(ROLES, (r.content[:200] for r in responses), strict=True)
    )
    for role, response in zip(ROLES, responses, strict=True):
        if response.status_code < 400:
            continue
        error = response.json()["error"]
        assert set(error) >= {"code", "message", "fields"}, role
        wanted = REFUSALS.get((endpoint, target)) if response.status_code == 400 else None
        wanted = wanted or ERROR_CODES.get(response.status_code, "stale_version")
        assert error["code"] == wanted, (role, error)
        if response.status_code == 401:
            assert response["WWW-Authenticate"] == "Token"


def test_a_refused_action_changes_nothing(clients, objects):
    before = Answer.objects.values("state", "justification", "version").get(pk=objects["own"])

    for role in ("operator_a2", "coordinator_a", "reviewer", "admin"):
        clients[role].patch(
            f"/api/v1/answers/{objects['own']}/",
            {"version": 2, "justification": "Bukan milik saya."},
            format="json",
        )
        clients[role].post(f"/api/v1/answers/{objects['own']}/submit/")
    clients["operator_b"].post(f"/api/v1/assessments/{objects['assessment_a']}/submit/")

    assert Answer.objects.values("state", "justification", "version").get(pk=objects["own"]) == (
        before
    )


@pytest.mark.parametrize("role", ROLES[1:])
def test_lists_show_exactly_what_the_shared_scoping_shows(clients, cast, objects, role):
    user = getattr(cast, role)

    answers = clients[role].get("/api/v1/answers/?page_size=200").json()
    assessments = clients[role].get("/api/v1/assessments/").json()
    cycle = clients[role].get(f"/api/v1/cycles/{objects['cycle']}/").json()

    assert {a["id"] for a in answers["results"]} == set(
        answers_visible_to(user).values_list("pk", flat=True)
    )
    visible_assessments = set(assessments_visible_to(user).values_list("pk", flat=True))
    assert {a["id"] for a in assessments["results"]} == visible_assessments
    assert {a["id"] for a in cycle["assessments"]} == visible_assessments


def _decision(function, *args) -> int | None:
    try:
        function(*args)
    except Http404:
        return 404
    except PermissionDenied:
        return 403
    return None


# An API call per action that changes nothing when allowed (a stale version, an empty body),
# so that only the permission decision shows: allowed gives 409/400, refused 403/404.
ANSWER_PROBES = {
    Action.VIEW: ("get", "answers/{pk}/", None),
    Action.EDIT: ("patch", "answers/{pk}/", {"version": 999}),
    Action.REVIEW: ("post", "answers/{pk}/verify/", {}),
}
ASSESSMENT_PROBES = {
    Action.VIEW: ("get", "assessments/{pk}/", None),
    Action.APPROVE: ("post", "assessments/{pk}/approve/", None),
    Action.REOPEN: ("post", "assessments/{pk}/reopen/", {}),
}


@pytest.mark.parametrize("role", ROLES[1:])
def test_api_decides_what_the_shared_permission_functions_decide(clients, cast, objects, role):
    """For every answer and assessment in the data: 404, 403 or allowed, as the browser's
    get_answer_for_user / get_assessment_for_user decide."""
    user = getattr(cast, role)
    client = clients[role]
    checked = 0
    for answer_id in Answer.objects.values_list("pk", flat=True):
        for action, (method, template, body) in ANSWER_PROBES.items():
            expected = _decision(get_answer_for_user, user, answer_id, action)
            response = getattr(client, method)(
                "/api/v1/" + template.format(pk=answer_id), body, format="json"
            )
            assert (response.status_code if response.status_code in (403, 404) else None) == (
                expected
            ), (role, answer_id, action, response.content)
            checked += 1
    for assessment_id in Assessment.objects.values_list("pk", flat=True):
        for action, (method, template, body) in ASSESSMENT_PROBES.items():
            expected = _decision(get_assessment_for_user, user, assessment_id, action)
            response = getattr(client, method)(
                "/api/v1/" + template.format(pk=assessment_id), body, format="json"
            )
            assert (response.status_code if response.status_code in (403, 404) else None) == (
                expected
            ), (role, assessment_id, action, response.content)
            checked += 1
    assert checked == 16 * 3 + 2 * 3
