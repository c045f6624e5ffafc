"""Public pages: only published snapshots, a constant number of queries, charts with their
tables and CSV, embeds framable from anywhere, and labels in the reader's language."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
from collections.abc import Callable

import pandas as pd
import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from assessments.models import Cycle
from dimensions.models import Dimension, Element
from regions.choices import AgencyRole, RegionKind
from regions.models import Region
from reports import scoring, services
from reports.choices import ReportKind
from reports.models import MaturityReport
from reports.selectors import framework_frame
from reports.views_public import PREDICATE_LABELS
from tests.factories import AgencyElementRoleFactory, AgencyFactory, RegionFactory

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------- building snapshots


def make_cycle(framework, year: int, name: str | None = None) -> Cycle:
    """A past cycle row (the pages read only snapshots; no assessment is needed)."""
    return Cycle.objects.create(
        year=year,
        name=name or f"Penilaian {year}",
        framework=framework,
        starts_on=datetime.date(year, 1, 1),
        entry_deadline=datetime.date(year, 6, 30),
        review_deadline=datetime.date(year, 8, 31),
    )


def default_level(region_code: str, position: int, year: int) -> int:
    return (position + int(region_code[-1]) + year) % 5 + 1


def store_snapshots(
    cycle: Cycle,
    regions: list[Region],
    *,
    agencies: dict[str, list[str]] | None = None,
    level: Callable[[str, int, int], int] = default_level,
    kind: str = ReportKind.FINAL,
    publish: bool = True,
    aggregate: bool = True,
) -> dict[str | None, MaturityReport]:
    """Score made-up answers of `regions` with the real engine and store the snapshots the
    way the report services plan them (one per region, plus the Semarang Raya aggregate),
    built with the model's own constructor. `agencies` gives each region's agency slugs,
    which take the indicators in turn."""
    framework, weights = framework_frame(framework_id=cycle.framework_id)
    records = []
    for region in regions:
        slugs = (agencies or {}).get(region.code, [""])
        for position, indicator in enumerate(framework["indicator"]):
            value = level(region.code, position, cycle.year)
            records.append(
                {
                    "cycle": cycle.pk,
                    "region": region.code,
                    "indicator": indicator,
                    "agency": slugs[position % len(slugs)],
                    "self_level": float(value),
                    "final_level": float(value),
                }
            )
    answers = pd.DataFrame(records)
    codes = [region.code for region in regions]
    cluster = pd.DataFrame({"cycle": [cycle.pk] * len(codes), "region": codes})
    result = scoring.compute(answers, framework, cluster=cluster)
    basis = "final" if kind == ReportKind.FINAL else "provisional"
    planned = {
        code: services._plan_region(
            result,
            cycle,
            code,
            basis,
            scoring.input_hash(answers[answers["region"] == code], framework),
        )
        for code in codes
    }
    if aggregate:
        digest = scoring.input_hash(answers, framework, cluster=cluster)
        planned[None] = services._plan_aggregate(result, cycle, codes, basis, digest)
    by_code = {region.code: region for region in regions}
    stored = {}
    for code, item in planned.items():
        stored[code] = MaturityReport.objects.create(
            cycle=cycle,
            region=by_code.get(code),
            kind=kind,
            framework_id=cycle.framework_id,
            engine_version=scoring.ENGINE_VERSION,
            input_hash=item.input_hash,
            weights=weights,
            results=item.results,
            index=item.index,
            predicate=item.predicate,
            completeness=item.completeness,
            published=publish,
            published_at=timezone.now() if publish else None,
        )
    return stored


def make_regions(count: int, province: Region, start: int = 0) -> list[Region]:
    """`count` regencies with two agencies each, numbered from `start` + 1."""
    regions = []
    for n in range(start, start + count):
        region = RegionFactory(
            code=f"33{n + 1:02d}",
            name=f"Kabupaten Uji {n + 1}",
            kind=RegionKind.REGENCY,
            parent=province,
        )
        AgencyFactory(region=region, short_name=f"Diskominfo {n + 1}", slug="diskominfo")
        AgencyFactory(region=region, short_name=f"Dinkes {n + 1}", slug="dinkes")
        regions.append(region)
    return regions


AGENCIES = ["diskominfo", "dinkes"]


def agencies_of(regions: list[Region]) -> dict[str, list[str]]:
    return {region.code: AGENCIES for region in regions}


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def two_cycles(framework, province):
    """Two regions published in 2024 and 2025 (regions and aggregate), ready to read."""
    regions = make_regions(2, province)
    old = make_cycle(framework, 2024)
    new = make_cycle(framework, 2025)
    store_snapshots(old, regions, agencies=agencies_of(regions))
    stored = store_snapshots(new, regions, agencies=agencies_of(regions))
    return {"regions": regions, "old": old, "new": new, "stored": stored}


def url(name: str, *args, lang: str = "id") -> str:
    """A page's path in a language (a request leaves its language active in the thread)."""
    with translation.override(lang):
        return reverse(name, args=args)


def figures(response) -> dict[str, dict]:
    """Every chart figure a page embeds (json_script), by its element id."""
    html = response.content.decode()
    found = re.findall(
        r'<script id="(chart-[\w-]+-data)" type="application/json">(.*?)</script>', html, re.S
    )
    return {dom_id: json.loads(text) for dom_id, text in found}


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


# --------------------------------------------------------------------------- published only


def test_home_says_plainly_when_nothing_is_published(client, reference_data):
    html = client.get("/en/").content.decode()
    assert "No results have been published yet." in html
    assert "plotly.min.js" not in html
    assert "Six dimensions" in html and "Kota Semarang" in html


def test_home_shows_the_latest_published_semarang_raya_index_and_predicate(client, two_cycles):
    aggregate = two_cycles["stored"][None]
    response = client.get("/en/")
    html = response.content.decode()
    rounded = aggregate.results["summary"]["index_rounded"]
    assert f'<dd class="figure">{rounded:.2f}</dd>' in html
    label = PREDICATE_LABELS[aggregate.predicate]
    assert f'<span class="predicate predicate-{aggregate.predicate}">{label}</span>' in html
    assert "Published results of Penilaian 2025" in html
    assert set(figures(response)) == {
        "chart-radar-data",
        "chart-regions-data",
        "chart-changes-data",
    }
    for region in two_cycles["regions"]:
        assert url("public:region", region.code) in html


def test_unpublished_and_provisional_snapshots_never_appear(client, framework, province):
    regions = make_regions(2, province)
    cycle = make_cycle(framework, 2024)
    store_snapshots(cycle, regions)
    secret_region = RegionFactory(code="3369", name="Kabupaten Rahasia", kind=RegionKind.REGENCY)
    draft_cycle = make_cycle(framework, 2026, name="Siklus Rahasia")
    drafts = store_snapshots(draft_cycle, [*regions, secret_region], publish=False)
    provisional = store_snapshots(
        draft_cycle, [*regions, secret_region], kind=ReportKind.PROVISIONAL, publish=False
    )
    pages = [
        "/",
        "/en/",
        url("public:map"),
        url("public:methodology"),
        url("public:dimension", "D1"),
        url("public:region", regions[0].code),
        url("public:region", secret_region.code),
    ]
    for page in pages:
        html = client.get(page).content.decode()
        assert "Siklus Rahasia" not in html, page
        assert f'<option value="{draft_cycle.pk}"' not in html, page
    assert "No results of Kabupaten Rahasia have been published yet." in (
        client.get(url("public:region", secret_region.code, lang="en")).content.decode()
    )
    for snapshot in [*drafts.values(), *provisional.values()]:
        assert client.get(url("public:report", snapshot.pk)).status_code == 404
    for page in [page for page in pages if page != url("public:methodology")]:
        assert client.get(f"{page}?cycle={draft_cycle.pk}").status_code == 404, page
    chart = url("public:chart_csv", "region", regions[0].code, "radar")
    assert client.get(f"{chart}?cycle={draft_cycle.pk}").status_code == 404


def test_a_published_snapshot_address_leads_to_its_page_and_cycle(client, two_cycles):
    region = two_cycles["regions"][0]
    old = MaturityReport.objects.get(cycle=two_cycles["old"], region=region)
    response = client.get(url("public:report", old.pk))
    assert response.status_code == 302
    assert response["Location"] == (
        url("public:region", region.code) + f"?cycle={two_cycles['old'].pk}"
    )
    aggregate = two_cycles["stored"][None]
    response = client.get(url("public:report", aggregate.pk))
    assert response["Location"] == f"/?cycle={two_cycles['new'].pk}"


def test_pages_read_snapshots_made_by_the_report_pipeline(
    client, cast, cycle, approve_region, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        approve_region(cycle, cast.region_a)
    region_report = MaturityReport.objects.get(region=cast.region_a, kind=ReportKind.FINAL)
    aggregate = MaturityReport.objects.get(region__isnull=True, kind=ReportKind.FINAL)
    # Built but not yet published: nothing public.
    assert "No results have been published yet." in client.get("/en/").content.decode()
    services.report_publish(actor=cast.admin, report=region_report)
    services.report_publish(actor=cast.admin, report=aggregate)
    home = client.get("/en/").content.decode()
    assert f"{aggregate.summary['index_rounded']:.2f}" in home
    response = client.get(url("public:region", cast.region_a.code, lang="en"))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"{region_report.summary['index_rounded']:.2f}" in html
    assert {"chart-radar-data", "chart-elements-data", "chart-trend-data"} <= set(figures(response))
    assert "chart-agencies-data" in figures(response)
    assert cast.agency_a.short_name in html


def test_a_cycle_can_be_chosen_among_the_published_ones(client, two_cycles):
    region = two_cycles["regions"][0]
    page = url("public:region", region.code, lang="en")
    html = client.get(page).content.decode()
    assert f'<option value="{two_cycles["old"].pk}"' in html
    old = client.get(f"{page}?cycle={two_cycles['old'].pk}").content.decode()
    assert "Published results of Penilaian 2024" in old
    assert client.get(f"{page}?cycle=not-a-number").status_code == 404
    assert client.get(f"{page}?cycle=999999").status_code == 404


def test_unknown_region_and_dimension_are_not_found(client, two_cycles):
    assert client.get(url("public:region", "9999")).status_code == 404
    assert client.get(url("public:region", "33")).status_code == 404  # province
    assert client.get(url("public:dimension", "XYZ")).status_code == 404
    assert client.get(url("public:embed", "home", "nothing")).status_code == 404
    assert client.get(url("public:embed", "elsewhere", "radar")).status_code == 404


# --------------------------------------------------------------------------- region page


def test_region_page_has_every_chart_strengths_weaknesses_and_next_steps(client, two_cycles):
    region = two_cycles["regions"][0]
    response = client.get(url("public:region", region.code, lang="en"))
    html = response.content.decode()
    charts = figures(response)
    assert set(charts) == {
        "chart-radar-data",
        "chart-elements-data",
        "chart-agencies-data",
        "chart-trend-data",
    }
    summary = two_cycles["stored"][region.code].results["summary"]
    # Elements against the Semarang Raya mean of the published members.
    elements = charts["chart-elements-data"]["data"]
    assert [trace["name"] for trace in elements] == [region.name, "Semarang Raya mean"]
    own = {e["code"]: e["score"] for d in summary["dimensions"] for e in d["elements"]}
    names = dict(Element.objects.values_list("code", "name_en"))
    assert elements[0]["y"] == [names[code] for code in own]
    assert elements[0]["x"] == [scoring.round_published(score) for score in own.values()]
    # Trend over both published cycles, with Semarang Raya beside it.
    trend = charts["chart-trend-data"]["data"]
    assert trend[0]["x"] == ["Penilaian 2024", "Penilaian 2025"]
    assert len(trend) == 2
    # Agencies by name, dimensions by name.
    heatmap = charts["chart-agencies-data"]["data"][0]
    assert heatmap["y"] == ["Dinkes 1", "Diskominfo 1"]
    assert heatmap["x"] == list(
        Dimension.objects.filter(framework=two_cycles["new"].framework)
        .order_by("order")
        .values_list("name_en", flat=True)
    )
    assert "Strengths" in html and "Weaknesses" in html
    weakest = min(own, key=lambda code: (own[code], code))
    level = next(
        e["level"] for d in summary["dimensions"] for e in d["elements"] if e["code"] == weakest
    )
    assert f"Level {level + 1} descriptor" in html  # the NEXT level's descriptor
    assert url("public:role_map", region.code) in html


def test_region_without_published_results_says_so(client, two_cycles, province):
    quiet = RegionFactory(code="3372", name="Kota Uji Sepi", kind=RegionKind.CITY)
    response = client.get(url("public:region", quiet.code, lang="en"))
    assert response.status_code == 200
    assert "No results of Kota Uji Sepi have been published yet." in response.content.decode()
    assert not figures(response)


# --------------------------------------------------------------------------- other pages


def test_dimension_page_compares_the_regions_on_it_and_its_elements(client, two_cycles):
    response = client.get(url("public:dimension", "D2", lang="en"))
    assert response.status_code == 200
    charts = figures(response)
    bars = charts["chart-regions-data"]["data"][0]

    def d2(snapshot: MaturityReport) -> float:
        dimensions = snapshot.results["summary"]["dimensions"]
        return next(d["score_rounded"] for d in dimensions if d["code"] == "D2")

    ranked = sorted(
        ((region.name, d2(two_cycles["stored"][region.code])) for region in two_cycles["regions"]),
        key=lambda pair: (-pair[1], pair[0]),
    )
    ranked.append(("Semarang Raya", d2(two_cycles["stored"][None])))
    assert list(zip(bars["y"], bars["x"], strict=True)) == ranked
    assert [trace["name"] for trace in charts["chart-elements-data"]["data"]] == list(
        Element.objects.filter(dimension__code="D2")
        .order_by("order")
        .values_list("name_en", flat=True)
    )


def test_map_is_a_tile_grid_with_a_visible_table(client, two_cycles):
    response = client.get(url("public:map", lang="en"))
    html = response.content.decode()
    tiles = figures(response)["chart-tiles-data"]["data"][0]
    assert tiles["type"] == "heatmap" and tiles["colorscale"]
    values = sorted(v for row in tiles["z"] for v in row if v is not None)
    expected = sorted(
        two_cycles["stored"][region.code].results["summary"]["index_rounded"]
        for region in two_cycles["regions"]
    )
    assert values == expected
    assert '<details class="chart-table" open>' in html


def test_role_map_says_lead_and_supporting_in_words(client, two_cycles, framework):
    region = two_cycles["regions"][0]
    diskominfo, dinkes = region.agencies.order_by("slug")[1], region.agencies.order_by("slug")[0]
    AgencyElementRoleFactory(agency=diskominfo, element_code="D1-E1", role=AgencyRole.LEAD)
    AgencyElementRoleFactory(agency=dinkes, element_code="D1-E1", role=AgencyRole.SUPPORTING)
    html = client.get(url("public:role_map", region.code, lang="en")).content.decode()
    assert '<td class="role role-lead">Lead</td>' in html
    assert '<td class="role role-supporting">Supporting</td>' in html
    name = Element.objects.get(dimension__framework=framework, code="D1-E1").name_en
    assert f'<th scope="col"><abbr title="{name}">D1-E1</abbr></th>' in html
    assert "<caption" in html


def test_methodology_is_generated_from_the_framework_and_the_engine(client, two_cycles):
    html = client.get(url("public:methodology", lang="en")).content.decode()
    assert scoring.ENGINE_VERSION in html
    assert "2 dimensions, 4 elements, 8 indicators" in html
    for label in ["1 – Initial", "5 – Optimised"]:
        assert label in html
    # Bands read off the engine: Excellent from 4.20, Good from 2.60 to 3.49.
    assert re.search(
        r"Excellent</span></th><td class=\"num\">4.20</td><td class=\"num\">5.00", html
    )
    assert re.search(r"Good</span></th><td class=\"num\">2.60</td><td class=\"num\">3.49", html)
    assert "D1-E1-01" in html and "12.50%" in html  # 1/2 · 1/2 · 1/2 of the index


# --------------------------------------------------------------------------- charts, CSV, embeds


def test_every_chart_has_a_titled_image_container_and_a_table(client, two_cycles):
    region = two_cycles["regions"][0]
    response = client.get(url("public:region", region.code, lang="en"))
    html = response.content.decode()
    for dom_id, figure in figures(response).items():
        container = dom_id.removesuffix("-data")
        title = figure["layout"]["title"]["text"].replace("<br>", " ")
        assert f'id="{container}" role="img" aria-label="{title}"' in html.replace("&#x27;", "'")
    assert html.count('<details class="chart-table"') == 4
    assert html.count("<caption>") >= 4
    assert "<script>" not in html  # no inline code: figures are JSON, drawn by charts.js
    assert "js/charts.js" in html and "vendor/plotly/plotly.min.js" in html


@pytest.mark.parametrize(
    ("page", "chart"),
    [
        ("home", "radar"),
        ("home", "regions"),
        ("home", "changes"),
        ("map", "tiles"),
        ("region", "radar"),
        ("region", "elements"),
        ("region", "agencies"),
        ("region", "trend"),
        ("dimension", "regions"),
        ("dimension", "elements"),
    ],
)
def test_csv_of_a_chart_is_exactly_the_data_it_plots(client, two_cycles, page, chart):
    code = {"region": two_cycles["regions"][0].code, "dimension": "D1"}.get(page)
    args = [page, chart] if code is None else [page, code, chart]
    response = client.get(url("public:chart_csv", *args, lang="en"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    header, *rows = csv_rows(response)
    page_url = (
        url("home", lang="en") if page == "home" else url(f"public:{page}", *args[1:-1], lang="en")
    )
    figure = figures(client.get(page_url))[f"chart-{chart}-data"]
    traces = figure["data"]

    def number(cell: str) -> float | None:
        return None if cell == "" else float(cell)

    if chart == "tiles":
        plotted = sorted(v for row in traces[0]["z"] for v in row if v is not None)
        assert sorted(number(row[1]) for row in rows) == plotted
    elif chart == "agencies":
        assert header[1:] == traces[0]["x"]
        assert [row[0] for row in rows] == traces[0]["y"]
        assert [[number(c) for c in row[1:]] for row in rows] == traces[0]["z"]
    elif chart == "changes":
        assert [row[0] for row in rows] == traces[0]["y"]
        assert [number(row[3]) for row in rows] == traces[0]["x"]
    elif chart == "radar":
        for position, trace in enumerate(traces, start=1):
            assert header[position] == trace["name"]
            assert [number(row[position]) for row in rows] == trace["r"][:-1]
            assert [row[0] for row in rows] == trace["theta"][:-1]
    elif chart == "trend":
        for position, trace in enumerate(traces, start=1):
            assert [row[0] for row in rows] == trace["x"]
            assert [number(row[position]) for row in rows] == trace["y"]
    else:  # horizontal bars
        for position, trace in enumerate(traces, start=1):
            assert header[position] == trace["name"]
            assert [row[0] for row in rows] == trace["y"]
            assert [number(row[position]) for row in rows] == trace["x"]
    assert rows, "a chart with no data"


def test_csv_neutralises_formula_injection_in_names(client, framework, province):
    regions = make_regions(2, province)
    region = regions[0]
    AgencyFactory(region=region, short_name='=HYPERLINK("http://evil.example","x")', slug="evil")
    AgencyFactory(region=region, short_name="@SUM(1+1)", slug="at")
    cycle = make_cycle(framework, 2025)
    store_snapshots(cycle, regions, agencies={region.code: ["evil", "at", "dinkes"]})
    response = client.get(url("public:chart_csv", "region", region.code, "agencies"))
    first_cells = [row[0] for row in csv_rows(response)]
    assert '\'=HYPERLINK("http://evil.example","x")' in first_cells
    assert "'@SUM(1+1)" in first_cells
    assert not any(
        cell.startswith(("=", "+", "-", "@")) for row in csv_rows(response) for cell in row
    )


def test_embed_is_a_minimal_page_framable_from_anywhere(client, two_cycles):
    region = two_cycles["regions"][0]
    response = client.get(url("public:embed", "region", region.code, "radar"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "X-Frame-Options" not in response
    assert "frame-ancestors *" in response["Content-Security-Policy"]
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert 'class="site-header"' not in html and 'class="site-footer"' not in html
    assert 'id="chart-radar-data"' in html and 'role="img"' in html
    assert "<details" in html
    # Ordinary pages keep refusing to be framed by others.
    page = client.get(url("public:region", region.code))
    assert "frame-ancestors 'self'" in page["Content-Security-Policy"]
    assert page["X-Frame-Options"] in {"DENY", "SAMEORIGIN"}


def test_english_under_en_changes_chart_labels(client, two_cycles):
    region = two_cycles["regions"][0]
    path = url("public:region", region.code)
    indonesian = figures(client.get(path))["chart-radar-data"]
    english = figures(client.get(url("public:region", region.code, lang="en")))["chart-radar-data"]
    assert indonesian["data"][0]["theta"][0].startswith("Dimensi ")
    assert english["data"][0]["theta"][0].startswith("Dimension ")
    assert indonesian["layout"]["separators"] == ",." and english["layout"]["separators"] == ".,"
    assert "on the six dimensions" in english["layout"]["title"]["text"].replace("<br>", " ")
    csv_id = client.get(url("public:chart_csv", "region", region.code, "radar"))
    csv_en = client.get(url("public:chart_csv", "region", region.code, "radar", lang="en"))
    assert csv_rows(csv_id)[1][0].startswith("Dimensi ")
    assert csv_rows(csv_en)[1][0].startswith("Dimension ")


# --------------------------------------------------------------------------- caching and queries


PAGES = {
    "home": lambda regions: "/",
    "region": lambda regions: url("public:region", regions[0].code),
    "dimension": lambda regions: url("public:dimension", "D1"),
    "map": lambda regions: url("public:map"),
    "methodology": lambda regions: url("public:methodology"),
    "role_map": lambda regions: url("public:role_map", regions[0].code),
    "csv": lambda regions: url("public:chart_csv", "region", regions[0].code, "agencies"),
}
# Queries of a page on a cache miss, whatever the number of regions, agencies and cycles.
MAX_QUERIES = {
    "home": 10,
    "region": 9,
    "dimension": 4,
    "map": 2,  # the published set and the regions' outlines
    "methodology": 6,
    "role_map": 6,
    "csv": 9,
}


def build_world(
    framework, province, n_regions: int, n_cycles: int, start: int = 0, first_year: int = 2020
) -> list[Region]:
    """Regions, each agency-mapped, with published snapshots in `n_cycles` cycles."""
    regions = make_regions(n_regions, province, start)
    for region in regions:
        for element in Element.objects.filter(dimension__framework=framework):
            agency = region.agencies.get(slug="diskominfo")
            AgencyElementRoleFactory(agency=agency, element_code=element.code)
    for year in range(first_year, first_year + n_cycles):
        store_snapshots(make_cycle(framework, year), regions, agencies=agencies_of(regions))
    return regions


@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.parametrize(("n_regions", "n_cycles"), [(2, 1), (5, 3)])
def test_public_pages_use_a_constant_number_of_queries(
    client, framework, province, page, n_regions, n_cycles, django_assert_max_num_queries
):
    regions = build_world(framework, province, n_regions, n_cycles)
    path = PAGES[page](regions)
    with django_assert_max_num_queries(MAX_QUERIES[page]):
        response = client.get(path)
    assert response.status_code == 200


@pytest.mark.parametrize("page", ["home", "region", "dimension", "map", "methodology", "csv"])
def test_query_count_is_the_same_for_small_and_large_data(client, framework, province, page):
    def count(regions: list[Region]) -> int:
        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            assert client.get(PAGES[page](regions)).status_code == 200
        return len(queries)

    small = count(build_world(framework, province, 2, 1))
    # Five more regions (with their agencies and roles) and three more cycles, all published.
    large = count(build_world(framework, province, 5, 3, start=2, first_year=2030))
    assert small == large


def test_a_cached_page_costs_one_query_and_publishing_invalidates_it(
    client, framework, province, django_assert_num_queries
):
    regions = make_regions(2, province)
    first = make_cycle(framework, 2024)
    store_snapshots(first, regions)
    assert "Penilaian 2024" in client.get("/en/").content.decode()
    path = url("public:map", lang="en")
    client.get(path)
    with django_assert_num_queries(0):  # served before the middleware stack and the view
        client.get(path)
    # A new publication changes the key: the next request shows it without clearing anything.
    store_snapshots(make_cycle(framework, 2025), regions)
    assert "Published results of Penilaian 2025" in client.get(path).content.decode()


@pytest.mark.parametrize("page", [p for p in PAGES if p != "csv"])
def test_an_anonymous_repeat_visit_is_served_whole_from_the_cache(
    client, framework, province, page, django_assert_num_queries
):
    regions = build_world(framework, province, 2, 1)
    path = PAGES[page](regions)
    first = client.get(path)
    assert first.status_code == 200
    with django_assert_num_queries(0):  # no session, no user, no view: the stored page
        again = client.get(path)
    assert again.status_code == 200 and again.content == first.content


# --------------------------------------------------------------------------- outlines


def test_the_map_draws_loaded_outlines_with_their_source_and_table(client, cast, framework):
    from regions.boundaries import boundaries_load

    store_snapshots(make_cycle(framework, 2024), [cast.region_a, cast.region_b])
    path = url("public:map", lang="en")
    before = client.get(path).content.decode()
    assert 'id="chart-tiles"' in before and 'id="chart-boundaries"' not in before
    square = [[110.35, -7.05], [110.45, -7.05], [110.45, -6.95], [110.35, -6.95], [110.35, -7.05]]
    geojson = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": "3374"},
                "geometry": {"type": "Polygon", "coordinates": [square]},
            }
        ],
    }
    boundaries_load(
        actor=cast.admin,
        content=json.dumps(geojson).encode(),
        code_property="code",
        source="Badan Informasi Geospasial, 2023",
    )
    # The cached page (anonymous, before the load) is not served any more.
    response = client.get(path)
    html = response.content.decode()
    assert 'id="chart-boundaries"' in html and 'id="chart-tiles"' in html
    assert "Boundaries: Badan Informasi Geospasial, 2023" in html
    figure = figures(response)["chart-boundaries-data"]
    outline = next(trace for trace in figure["data"] if trace.get("fill") == "toself")
    assert outline["x"][:5] == [110.35, 110.45, 110.45, 110.35, 110.35]
    assert outline["name"] == "Kota Semarang"
    rows = csv_rows(client.get(url("public:chart_csv", "map", "boundaries", lang="en")))
    assert [row[0] for row in rows[1:]] == ["Kota Semarang"]  # Demak has no outline
    embed = client.get(url("public:embed", "map", "boundaries", lang="en"))
    assert embed.status_code == 200


def test_the_map_is_open_data_as_geojson_with_the_published_indices(client, cast, framework):
    from regions.boundaries import boundaries_load

    reports = store_snapshots(make_cycle(framework, 2024), [cast.region_a, cast.region_b])
    draft = store_snapshots(make_cycle(framework, 2025), [cast.region_a], publish=False)
    geojson_url = url("public:map_geojson", lang="en")
    assert client.get(geojson_url).status_code == 404  # no outline loaded yet
    assert geojson_url not in client.get(url("exports:open_data", lang="en")).content.decode()
    ring = [[110.35, -7.05], [110.45, -7.05], [110.45, -6.95], [110.35, -7.05]]
    boundaries_load(
        actor=cast.admin,
        content=json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"code": code},
                        "geometry": {"type": "Polygon", "coordinates": [ring]},
                    }
                    for code in ("3374", "3321")
                ],
            }
        ).encode(),
        code_property="code",
        source="BIG, 2023",
    )
    response = client.get(geojson_url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/geo+json")
    assert 'filename="smartprov-semarang-raya-2024.geojson"' in response["Content-Disposition"]
    document = json.loads(response.content)
    assert document["type"] == "FeatureCollection"
    assert document["metadata"]["boundaries_source"] == ["BIG, 2023"]
    by_code = {f["properties"]["code"]: f for f in document["features"]}
    assert set(by_code) == {"3374", "3321"}
    semarang = reports[cast.region_a.code]
    assert by_code["3374"]["properties"]["index"] == semarang.results["summary"]["index_rounded"]
    assert by_code["3374"]["geometry"]["coordinates"] == [[ring]]
    # Only published cycles: the draft 2025 cycle is not a choice.
    draft_cycle = draft[cast.region_a.code].cycle_id
    assert client.get(geojson_url + f"?cycle={draft_cycle}").status_code == 404
    assert "download>" in client.get(url("public:map", lang="en")).content.decode()
