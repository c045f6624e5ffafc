"""Chart builders (pure): figures and tables agree, colours are colour-blind safe, CSV cells
cannot run as formulas; and the vendored plotly.js is the installed package's own."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import plotly
import plotly.colors
import pytest

from reports import charts

ROOT = Path(__file__).resolve().parents[2]
VENDORED = ROOT / "static" / "vendor" / "plotly"
BUNDLED = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

DIMENSIONS = ["Tata Kelola Cerdas", "Branding Cerdas", "Ekonomi Cerdas"]


# --------------------------------------------------------------------------- vendored bundle


def test_vendored_plotly_is_byte_identical_to_the_installed_package_bundle():
    assert (VENDORED / "plotly.min.js").read_bytes() == BUNDLED.read_bytes()


def test_vendored_version_file_names_the_bundle_header_version():
    header = (VENDORED / "plotly.min.js").read_bytes()[:200].decode()
    version = re.search(r"plotly\.js v(\d+\.\d+\.\d+)", header).group(1)
    assert f"plotly.js {version} " in (VENDORED / "VERSION").read_text()


# --------------------------------------------------------------------------- figures and tables


def test_radar_table_holds_exactly_the_plotted_values_of_each_series():
    chart = charts.radar_chart(
        chart_id="radar",
        title="Kota Semarang",
        axis_label="Dimension",
        axes=DIMENSIONS,
        series=[("Kota Semarang", [3.456, 2.0, None]), ("Semarang Raya", [2.5, 2.25, 4.0])],
    )
    assert chart["table"]["columns"] == ["Dimension", "Kota Semarang", "Semarang Raya"]
    assert chart["table"]["rows"] == [
        ["Tata Kelola Cerdas", 3.46, 2.5],
        ["Branding Cerdas", 2.0, 2.25],
        ["Ekonomi Cerdas", None, 4.0],
    ]
    first, second = chart["figure"]["data"]
    assert first["type"] == "scatterpolar" and first["fill"] == "toself"
    assert first["r"] == [3.46, 2.0, None, 3.46]  # closed polygon
    assert first["theta"] == [*DIMENSIONS, DIMENSIONS[0]]
    assert chart["figure"]["layout"]["polar"]["radialaxis"]["range"] == [0, 5.0]
    assert chart["figure"]["layout"]["title"]["text"] == "Kota Semarang"
    assert first["line"]["color"] != second["line"]["color"]
    assert first["line"]["dash"] != second["line"]["dash"]  # not told by colour alone


def test_bar_chart_keeps_plain_labels_in_data_and_wraps_only_tick_text():
    long_name = "Harmonisasi Tata Ruang dan Hunian"
    chart = charts.bar_chart(
        chart_id="elements",
        title="Elements",
        category_label="Element",
        value_label="Score",
        categories=[long_name, "Kesehatan"],
        series=[("Kota Semarang", [1.239, 4.5]), ("Semarang Raya mean", [2.0, 3.0])],
        separators=",.",
    )
    bars = chart["figure"]["data"]
    assert [trace["orientation"] for trace in bars] == ["h", "h"]
    assert bars[0]["y"] == [long_name, "Kesehatan"] and bars[0]["x"] == [1.24, 4.5]
    assert bars[0]["text"] == ["1,24", "4,50"]  # the language's decimal comma
    yaxis = chart["figure"]["layout"]["yaxis"]
    assert yaxis["tickvals"] == [long_name, "Kesehatan"]
    assert "<br>" in yaxis["ticktext"][0]
    assert chart["table"]["rows"] == [[long_name, 1.24, 2.0], ["Kesehatan", 4.5, 3.0]]
    assert chart["figure"]["layout"]["separators"] == ",."
    assert chart["figure"]["layout"]["barmode"] == "group"


def test_highlighted_bar_differs_by_pattern_as_well_as_colour():
    chart = charts.bar_chart(
        chart_id="regions",
        title="Regions",
        category_label="Region",
        value_label="Index",
        categories=["Kota Semarang", "Kabupaten Demak", "Semarang Raya"],
        series=[("Index", [3.1, 2.4, 2.75])],
        highlight="Semarang Raya",
    )
    marker = chart["figure"]["data"][0]["marker"]
    assert marker["pattern"]["shape"] == ["", "", "/"]
    assert marker["color"][2] != marker["color"][0]


def test_change_chart_says_the_sign_in_text_and_computes_the_change():
    chart = charts.change_chart(
        chart_id="changes",
        title="Change since 2024",
        category_label="Region",
        previous_label="2024",
        current_label="2025",
        change_label="Change",
        rows=[("Kota Semarang", 2.5, 2.75), ("Kabupaten Kendal", 3.0, 2.9)],
    )
    bar = chart["figure"]["data"][0]
    assert bar["x"] == [0.25, -0.1]
    assert bar["text"] == ["+0.25", "−0.10"]
    assert bar["marker"]["color"] == [charts.POSITIVE, charts.NEGATIVE]
    assert chart["table"] == {
        "columns": ["Region", "2024", "2025", "Change"],
        "rows": [["Kota Semarang", 2.5, 2.75, 0.25], ["Kabupaten Kendal", 3.0, 2.9, -0.1]],
    }


def test_heatmap_uses_the_sequential_cividis_scale_from_0_to_5_with_values_written():
    chart = charts.heatmap_chart(
        chart_id="agencies",
        title="Agencies",
        row_label="Agency",
        rows=["Diskominfo", "Dinkes"],
        columns=["GOV", "LIV"],
        values=[[3.333, None], [1.0, 4.25]],
        colorbar_label="Score",
    )
    heatmap = chart["figure"]["data"][0]
    assert heatmap["z"] == [[3.33, None], [1.0, 4.25]]
    assert (heatmap["zmin"], heatmap["zmax"]) == (0, 5.0)
    assert [colour for _, colour in heatmap["colorscale"]] == plotly.colors.sequential.Cividis
    assert heatmap["texttemplate"] == "%{z:.2f}"
    assert chart["table"]["rows"] == [["Diskominfo", 3.33, None], ["Dinkes", 1.0, 4.25]]


def test_trend_has_one_line_per_series_over_the_cycles():
    chart = charts.trend_chart(
        chart_id="trend",
        title="Trend",
        period_label="Cycle",
        value_label="Index",
        periods=["2024", "2025"],
        series=[("Kota Semarang", [2.1, 2.6]), ("Semarang Raya", [None, 2.4])],
    )
    lines = chart["figure"]["data"]
    assert [line["y"] for line in lines] == [[2.1, 2.6], [None, 2.4]]
    assert lines[0]["marker"]["symbol"] != lines[1]["marker"]["symbol"]
    assert chart["table"]["rows"] == [["2024", 2.1, None], ["2025", 2.6, 2.4]]


def test_tile_chart_places_each_region_at_its_row_and_column():
    chart = charts.tile_chart(
        chart_id="tiles",
        title="Semarang Raya",
        region_label="Region",
        value_label="Index",
        tiles=[
            {"label": "Kabupaten Kendal", "row": 0, "col": 0, "value": 2.7},
            {"label": "Kota Semarang", "row": 0, "col": 1, "value": 3.6},
            {"label": "Kabupaten Semarang", "row": 1, "col": 1, "value": 2.9},
        ],
    )
    heatmap = chart["figure"]["data"][0]
    assert heatmap["z"] == [[2.7, 3.6], [None, 2.9]]
    assert (
        heatmap["text"][0][1] == "Kota<br>Semarang<br><b>3.60</b>" and heatmap["text"][1][0] == ""
    )
    assert [colour for _, colour in heatmap["colorscale"]] == plotly.colors.sequential.Cividis
    assert chart["table"]["rows"] == [
        ["Kabupaten Kendal", 2.7],
        ["Kota Semarang", 3.6],
        ["Kabupaten Semarang", 2.9],
    ]


def test_series_colours_come_from_the_okabe_ito_palette():
    chart = charts.trend_chart(
        chart_id="trend",
        title="Trend",
        period_label="Cycle",
        value_label="Index",
        periods=["2025"],
        series=[(f"S{n}", [1.0]) for n in range(3)],
    )
    assert [line["line"]["color"] for line in chart["figure"]["data"]] == list(charts.OKABE_ITO[:3])
    assert chart["figure"]["layout"]["colorway"] == list(charts.OKABE_ITO)


def test_figures_are_plain_json_without_the_default_template():
    chart = charts.radar_chart(
        chart_id="radar", title="T", axis_label="D", axes=DIMENSIONS, series=[("A", [1, 2, 3])]
    )
    assert "template" not in chart["figure"]["layout"]
    assert json.loads(json.dumps(chart["figure"])) == chart["figure"]


# --------------------------------------------------------------------------- CSV


@pytest.mark.parametrize(
    "cell", ["=1+1", "+1", "-1+2", "@SUM(A1)", "\tx", "\r=x", '=HYPERLINK("http://x")']
)
def test_formula_cells_get_a_leading_quote(cell):
    assert charts.neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Kota Semarang", "Dinas (PU)", 2.75, -0.12, 0, None])
def test_other_cells_and_numbers_are_left_alone(cell):
    assert charts.neutralise(cell) == cell


def test_table_csv_writes_header_rows_dot_decimals_and_blanks():
    table = {
        "columns": ["Agency", "=GOV"],
        "rows": [["-Diskominfo", -0.12], ["Dinkes", None]],
    }
    rows = list(csv.reader(io.StringIO(charts.table_csv(table))))
    assert rows == [["Agency", "'=GOV"], ["'-Diskominfo", "-0.12"], ["Dinkes", ""]]
