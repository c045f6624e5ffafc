"""Property-based tests of the live API against its own OpenAPI schema (schemathesis).

The schema is loaded from /api/v1/schema/ of the project's WSGI application, in this process,
and requests go to the same application, so they reach the test database. For every operation,
schemathesis generates requests (valid and invalid; examples and fuzzing, at most 15 of each,
reproducible), anonymously and with a token for each role, and checks that no answer is a 5xx
and that every answer — status, content type, headers and body — is one the schema declares.

Random ids would almost never name an existing object, so `aim_at_existing_objects` points
part of the generated ids at the objects of the test data (answers in several states, the
assessments, the cycle, ...) and sends the answer's current `version` in part of the PATCHes:
that is where a request goes past the 404 and the 409 into the services.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from assessments import services
from assessments.models import Answer, Assessment
from regions.models import Agency, Region
from reports.choices import ReportKind
from reports.services import report_build, report_run_start
from smartprov.wsgi import application

ROLES = ["anonymous", "operator_a", "coordinator_a", "reviewer", "admin"]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20260101,
        # The coverage phase enumerates every boundary of every parameter: far more requests
        # than CI can afford for five clients; examples and bounded fuzzing cover the rest.
        "phases": {"coverage": {"enabled": False}},
    }
)

# Loaded from the live application when the module is collected (the schema view reads no
# data); each test's requests then go to the same application, inside the test's transaction.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application, config=CONFIG)

# resource (first path segment after /api/v1/) → ids of existing objects; set per test.
KNOWN: dict[str, list] = {}


@schema.hook
def map_case(context, case):
    """Aim part of the generated ids (and PATCH versions) at existing objects."""
    resource = case.operation.path.split("/")[3]
    known = KNOWN.get(resource)
    parameters = case.path_parameters or {}
    name = "code" if resource == "regions" else "id"
    value = parameters.get(name)
    if known and isinstance(value, int | str) and str(value).isdigit():
        index = int(value) % (len(known) + 1)
        if index < len(known):
            case.path_parameters = {**parameters, name: known[index]}
    answer_id = (case.path_parameters or {}).get("id")
    if (
        case.operation.method.upper() == "PATCH"
        and resource == "answers"
        and isinstance(case.body, dict)
        and isinstance(case.body.get("version"), int)
        and case.body["version"] % 2 == 0
    ):
        current = Answer.objects.filter(pk=answer_id).values_list("version", flat=True).first()
        if current is not None:
            case.body = {**case.body, "version": current}
    return case


@pytest.fixture
def wsgi_app(db):
    """The project's WSGI application, minus the end-of-request connection cleanup: it would
    close the database connection and with it the test's transaction (Django's test client
    disconnects the same handlers)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield application
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def known_objects(request, cast, cycle, answers_a):
    """Answers in several states (draft, complete draft, submitted) and the ids to aim at; for
    the operations on builds and snapshots, a provisional build of the cycle too (only there:
    a build costs a few tenths of a second)."""
    complete, submitted = answers_a[0], answers_a[1]
    for answer in (complete, submitted):
        services.answer_save(
            actor=cast.operator_a,
            answer_id=answer.pk,
            expected_version=answer.version,
            self_level=1,
            justification="Sudah berjalan di semua unit.",
            links=["https://example.test/bukti"],
        )
    services.answer_submit(actor=cast.operator_a, answer_id=submitted.pk)
    region_b_answer = Answer.objects.filter(assessment__region=cast.region_b).first()
    KNOWN.update(
        {
            "answers": [a.pk for a in answers_a] + [region_b_answer.pk],
            "assessments": list(Assessment.objects.values_list("pk", flat=True)),
            "cycles": [cycle.pk],
            "frameworks": [cycle.framework_id],
            "dimensions": list(cycle.framework.dimensions.values_list("pk", flat=True)),
            "agencies": list(Agency.objects.values_list("pk", flat=True)),
            "regions": list(Region.objects.values_list("code", flat=True)),
        }
    )
    if "/api/v1/report" in request.node.name:
        run = report_run_start(actor=cast.admin, cycle=cycle, kind=ReportKind.PROVISIONAL)
        report_build(run_id=run.pk)
        KNOWN["report-runs"] = [run.pk]
        KNOWN["reports"] = list(run.reports.values_list("pk", flat=True))
    yield KNOWN
    KNOWN.clear()


@pytest.fixture(params=ROLES)
def role(request):
    return request.param


@pytest.fixture
def auth_headers(role, clients, known_objects, wsgi_app):
    """The role's `Authorization: Token ...` header (none for anonymous)."""
    if role == "anonymous":
        return {}
    return {"Authorization": clients[role]._credentials["HTTP_AUTHORIZATION"]}


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case, auth_headers):
    case.call_and_validate(headers=auth_headers, checks=CHECKS)
