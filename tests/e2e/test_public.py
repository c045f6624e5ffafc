"""The public dashboards in a real browser: charts drawn by the vendored plotly.js from their
embedded JSON, nothing fetched from outside, no console error, the language switch relabels
the charts, the data tables are there, and a phone's width needs no sideways scrolling."""

from __future__ import annotations

import http.server
import threading

import pytest

from dimensions.selectors import current_framework
from regions.models import Agency, Region
from tests.reports.test_public_pages import make_cycle, store_snapshots

pytestmark = pytest.mark.django_db(transaction=True)

KOTA_SEMARANG = "3374"

ALL_CHARTS_DRAWN = """() => {
  const charts = [...document.querySelectorAll('[data-figure]')];
  return charts.length > 0 && charts.every(
    (el) => el.classList.contains('js-plotly-plot') && el.querySelector('.main-svg'));
}"""
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"


def publish_reference_results() -> list[Region]:
    """Published 2024 and 2025 results of every Semarang Raya region of the reference data
    (its real framework, regions and agencies), scored by the engine."""
    framework = current_framework()
    regions = list(
        Region.objects.filter(cluster_memberships__cluster__slug="semarang-raya")
        .distinct()
        .order_by("code")
    )
    agencies = {
        region.code: list(
            Agency.objects.filter(region=region).order_by("slug").values_list("slug", flat=True)
        )
        or [""]
        for region in regions
    }
    for year in (2024, 2025):
        store_snapshots(make_cycle(framework, year), regions, agencies=agencies)
    return regions


def open_and_draw(page, url: str) -> int:
    """Open a page, wait until plotly has drawn every chart on it; the number of charts."""
    page.goto(url)
    page.wait_for_function(ALL_CHARTS_DRAWN, timeout=30_000)
    return page.locator("[data-figure]").count()


def radar_axes(page) -> list[str]:
    """The dimension names on the radar, as plotly holds them after drawing."""
    return page.evaluate("document.getElementById('chart-radar').data[0].theta")


@pytest.fixture
def published(reference_data):
    return publish_reference_results()


def test_home_and_region_page_draw_their_charts_from_local_assets(
    live_server, published, page, watch, artifacts
):
    assert open_and_draw(page, live_server.url + "/") == 3
    assert page.locator(".js-plotly-plot .main-svg").count() >= 3
    assert page.locator("#chart-regions").get_attribute("role") == "img"
    page.screenshot(path=artifacts / "public-home-id.png", full_page=True)
    assert open_and_draw(page, f"{live_server.url}/regions/{KOTA_SEMARANG}/") == 4
    for chart in ("radar", "elements", "agencies", "trend"):
        container = page.locator(f"#chart-{chart}")
        assert container.get_attribute("role") == "img"
        assert container.get_attribute("aria-label")
        assert container.locator(".main-svg").first.is_visible()
    page.screenshot(path=artifacts / "public-region-id.png", full_page=True)
    watch.assert_clean()


def test_language_switch_changes_the_chart_labels(live_server, published, page, watch, artifacts):
    open_and_draw(page, f"{live_server.url}/regions/{KOTA_SEMARANG}/")
    indonesian = radar_axes(page)
    assert "Tata Kelola Cerdas" in indonesian
    assert page.locator("#chart-radar .main-svg text", has_text="Tata Kelola").count() >= 1
    page.get_by_role("link", name="English").click()
    page.wait_for_url(f"{live_server.url}/en/regions/{KOTA_SEMARANG}/")
    page.wait_for_function(ALL_CHARTS_DRAWN, timeout=30_000)
    english = radar_axes(page)
    assert "Smart Governance" in english and "Tata Kelola Cerdas" not in english
    assert page.locator("#chart-radar .main-svg text", has_text="Smart").count() >= 1
    title = page.locator("#chart-radar").get_attribute("aria-label")
    assert "on the six dimensions" in title
    page.screenshot(path=artifacts / "public-region-en.png", full_page=True)
    watch.assert_clean()


def test_every_chart_has_its_data_table_and_csv(live_server, published, page, watch):
    open_and_draw(page, f"{live_server.url}/en/regions/{KOTA_SEMARANG}/")
    summary = page.locator("#chart-elements-figure summary")
    table = page.locator("#chart-elements-figure table")
    assert not table.is_visible()
    summary.click()
    assert table.is_visible()
    plotted = page.evaluate("document.getElementById('chart-elements').data[0].y.length")
    assert table.locator("tbody tr").count() == plotted == 18
    assert page.locator("details.chart-table").count() == 4
    csv_link = page.locator("#chart-elements-figure a[download]")
    with page.expect_download() as download:
        csv_link.click()
    lines = open(download.value.path(), encoding="utf-8").read().splitlines()  # noqa: SIM115
    assert len(lines) == 1 + 18
    watch.assert_clean()


@pytest.fixture
def news_site():
    """Another site on this machine (127.0.0.1, its own port: another origin than the live
    server's localhost) whose one page frames whatever `news_site.embed` names."""

    class Article(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = (
                '<!DOCTYPE html><html lang="en"><title>News</title><body>'
                f'<iframe src="{server.embed}" width="600" height="560" title="Chart">'
                "</iframe></body></html>"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Article)
    server.embed = ""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_an_embedded_chart_draws_inside_a_frame_of_another_site(
    live_server, published, page, news_site
):
    news_site.embed = f"{live_server.url}/en/embed/region/{KOTA_SEMARANG}/radar/"
    page.goto(f"http://127.0.0.1:{news_site.server_address[1]}/article")
    frame = page.frame_locator("iframe")
    frame.locator("#chart-radar.js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
    assert frame.locator(".site-header").count() == 0
    assert frame.locator("details.chart-table").count() == 1


@pytest.mark.parametrize("path", ["/", f"/regions/{KOTA_SEMARANG}/", "/semarang-raya/map/"])
def test_public_pages_fit_a_phone_without_sideways_scrolling(
    live_server, published, page, watch, artifacts, path
):
    page.set_viewport_size({"width": 375, "height": 740})
    open_and_draw(page, live_server.url + path)
    assert page.evaluate(OVERFLOW) <= 0
    # Opening a wide data table scrolls inside its own box, not the page.
    page.locator("details.chart-table summary").first.click()
    assert page.evaluate(OVERFLOW) <= 0
    name = path.strip("/").replace("/", "-") or "home"
    page.screenshot(path=artifacts / f"public-phone-{name}.png", full_page=True)
    watch.assert_clean()


def test_the_map_draws_loaded_outlines_offline(live_server, published, page, watch, artifacts):
    """Outlines loaded by an administrator are drawn as shapes by the vendored plotly.js: no
    map tiles, nothing fetched from elsewhere, and each region filled in its own colour."""
    import json

    from django.contrib.auth import get_user_model

    from regions.boundaries import boundaries_load

    def box(n: int) -> list[list[float]]:
        x, y = 110.0 + 0.3 * n, -7.2 + 0.1 * (n % 2)
        return [[x, y], [x + 0.25, y], [x + 0.25, y + 0.2], [x, y + 0.2], [x, y]]

    features = [
        {
            "type": "Feature",
            "properties": {"code": region.code},
            "geometry": {"type": "Polygon", "coordinates": [box(n)]},
        }
        for n, region in enumerate(published)
    ]
    admin = get_user_model().objects.create_user("peta", password="x-Peta-2026!")
    boundaries_load(
        actor=admin,
        content=json.dumps({"type": "FeatureCollection", "features": features}).encode(),
        code_property="code",
        source="Uji peramban",
    )
    assert open_and_draw(page, f"{live_server.url}/en/semarang-raya/map/") == 2
    shapes = page.evaluate(
        "document.getElementById('chart-boundaries').data.filter(t => t.fill === 'toself')"
    )
    assert sorted(trace["name"] for trace in shapes) == sorted(r.name for r in published)
    assert len({trace["fillcolor"] for trace in shapes}) > 1  # coloured by index
    assert page.locator("#chart-boundaries path.js-fill").count() >= len(published)
    page.screenshot(path=artifacts / "public-map-outlines-en.png", full_page=True)
    watch.assert_clean()
