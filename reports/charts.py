"""Chart builders of the public dashboards: plain records in, plotly figure dicts out.

Pure (architecture rule 5): no ORM, no request, no translation lookups. Callers pass labels
already in the reader's language and the number separators of that language; every builder
returns a `Chart`: the figure (``fig.to_plotly_json()`` made JSON-safe, drawn in the browser
by static/js/charts.js) together with the table of exactly the numbers it plots. The page shows
that table as the accessible alternative and the CSV endpoint serves it, so the three can never
disagree: they are one object.

Colours are colour-blind safe: series take the Okabe–Ito palette, heatmaps and tiles the
sequential cividis scale (readable with every common colour-vision deficiency and in
greyscale). Nothing is told by colour alone: bars carry their value as text, changes their sign.
"""

from __future__ import annotations

import csv
import io
import json
import math
import textwrap
from collections.abc import Sequence
from typing import Any, TypedDict

import plotly.graph_objects as go
from plotly.utils import PlotlyJSONEncoder

#: Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour
#: vision deficiency. Ordered so that the first two series (a region and Semarang Raya) are
#: blue and orange, the pair that stays apart in greyscale too.
OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#56B4E9",  # sky blue
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow
    "#000000",  # black
)
#: Sequential, colour-blind safe, perceptually uniform (Nuñez et al. 2018).
SEQUENTIAL_SCALE = "Cividis"
POSITIVE, NEGATIVE = OKABE_ITO[0], OKABE_ITO[3]

MAX_SCORE = 5.0
#: Characters per line of a chart title: fits a phone's width at the title's font size.
TITLE_WIDTH = 40
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif'
#: Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection"),
#: tab and carriage return included.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class Table(TypedDict):
    columns: list[str]
    rows: list[list[Any]]


class Chart(TypedDict):
    id: str
    title: str
    figure: dict[str, Any]
    table: Table


# --------------------------------------------------------------------------- helpers


def figure_dict(fig: go.Figure) -> dict[str, Any]:
    """The figure as plain JSON types (numpy arrays and scalars turned into lists and
    numbers), without plotly.py's default template: plotly.js's own defaults apply, and each
    page does not carry some 7 kB of template per chart."""
    data = json.loads(json.dumps(fig.to_plotly_json(), cls=PlotlyJSONEncoder))
    data.get("layout", {}).pop("template", None)
    return data


def figure(value: float | None) -> float | None:
    """A score as published: two decimals (the engine has already rounded half up where it
    matters; this only trims float noise such as 2.6000000000000001)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), 2)


def wrap(label: str, width: int = 18) -> str:
    """A long category label broken over lines (plotly's <br>), so that axes stay narrow on
    a phone. Only tick text is wrapped; data and tables keep the plain label."""
    return "<br>".join(textwrap.wrap(str(label), width=width)) or str(label)


def _layout(
    *,
    title: str,
    separators: str,
    height: int,
    showlegend: bool = False,
    margin: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The layout every chart shares. Plotly places the title in the top margin (which grows
    with each line of a wrapped title) and the legend at the very bottom of the figure, in
    a margin of its own, where it never collides with an axis title."""
    # Plotly does not wrap titles; broken over lines here they stay whole on a phone.
    text = wrap(title, TITLE_WIDTH)
    extra = 18 * text.count("<br>")
    margin = {"l": 10, "r": 10, "t": 48, "b": 10, "pad": 2, **(margin or {})}
    margin["t"] += extra
    return {
        "title": {"text": text, "x": 0, "xanchor": "left", "font": {"size": 15}},
        "font": {"family": FONT, "size": 12, "color": "#1b2430"},
        "separators": separators,
        "height": height + extra + (28 if showlegend else 0),
        "autosize": True,
        "margin": margin,
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "colorway": list(OKABE_ITO),
        "showlegend": showlegend,
        "legend": {
            "orientation": "h",
            "x": 0,
            "xanchor": "left",
            "y": 0,
            "yref": "container",
            "yanchor": "bottom",
        },
        "hoverlabel": {"font": {"family": FONT}},
    }


def _score_axis(title: str) -> dict[str, Any]:
    return {
        "title": {"text": title},
        "range": [0, MAX_SCORE],
        "dtick": 1,
        "gridcolor": "#d5dbe3",
        "zeroline": False,
        "automargin": True,
        "fixedrange": True,
    }


def _category_axis(labels: Sequence[str], *, title: str = "", width: int = 18) -> dict[str, Any]:
    return {
        "title": {"text": title},
        "type": "category",
        "tickmode": "array",
        "tickvals": list(labels),
        "ticktext": [wrap(label, width) for label in labels],
        "automargin": True,
        "fixedrange": True,
    }


def _chart(chart_id: str, title: str, fig: go.Figure, columns: list[str], rows) -> Chart:
    return {
        "id": chart_id,
        "title": title,
        "figure": figure_dict(fig),
        "table": {"columns": [str(c) for c in columns], "rows": [list(r) for r in rows]},
    }


def _translucent(colour: str, alpha: float) -> str:
    """A #rrggbb colour as rgba with `alpha`: overlapping radar fills stay readable."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha})"


def _text(value: float | None, separators: str) -> str:
    """A score as the bars' text label, with the language's decimal separator."""
    if value is None:
        return ""
    return f"{value:.2f}".replace(".", separators[0])


# --------------------------------------------------------------------------- builders


def radar_chart(
    *,
    chart_id: str,
    title: str,
    axis_label: str,
    axes: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    separators: str = ".,",
) -> Chart:
    """Scores on the six dimensions, one closed polygon per series (region, Semarang Raya).

    `axes` are the dimension names; each series is (name, one value per axis)."""
    fig = go.Figure()
    for position, (name, values) in enumerate(series):
        values = [figure(v) for v in values]
        colour = OKABE_ITO[position % len(OKABE_ITO)]
        fig.add_trace(
            go.Scatterpolar(
                r=[*values, values[0]] if values else [],
                theta=[*axes, axes[0]] if axes else [],
                name=name,
                mode="lines+markers",
                fill="toself",
                fillcolor=_translucent(colour, 0.18),
                line={"color": colour, "width": 2, "dash": "solid" if position == 0 else "dash"},
                marker={"color": colour, "size": 7, "symbol": ["circle", "square"][position % 2]},
                hovertemplate="%{theta}: %{r:.2f}<extra>" + name + "</extra>",
            )
        )
    layout = _layout(
        title=title,
        separators=separators,
        height=480,
        showlegend=len(series) > 1,
        # Room for the dimension names around the circle, which plotly does not reserve.
        margin={"l": 70, "r": 70, "t": 90, "b": 40},
    )
    fig.update_layout(
        layout,
        polar={
            "radialaxis": {"range": [0, MAX_SCORE], "dtick": 1, "angle": 90, "tickangle": 90},
            "angularaxis": {
                "direction": "clockwise",
                "rotation": 90,
                "tickmode": "array",
                "tickvals": list(axes),
                "ticktext": [wrap(a, 11) for a in axes],
            },
        },
    )
    rows = [[axis, *(figure(values[i]) for _, values in series)] for i, axis in enumerate(axes)]
    return _chart(chart_id, title, fig, [axis_label, *(name for name, _ in series)], rows)


def bar_chart(
    *,
    chart_id: str,
    title: str,
    category_label: str,
    value_label: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    separators: str = ".,",
    highlight: str | None = None,
) -> Chart:
    """Horizontal bars of scores (0–5) by category; several series are grouped.

    Horizontal, so that long names (regions, elements) read on a phone. `highlight` names a
    category (Semarang Raya among the regions) drawn hatched in the second colour, so it
    stands apart by pattern as well as by colour."""
    fig = go.Figure()
    for position, (name, values) in enumerate(series):
        values = [figure(v) for v in values]
        colours = [OKABE_ITO[position % len(OKABE_ITO)]] * len(values)
        patterns = [""] * len(values)
        if highlight is not None and len(series) == 1:
            for i, category in enumerate(categories):
                if category == highlight:
                    colours[i], patterns[i] = OKABE_ITO[1], "/"
        fig.add_trace(
            go.Bar(
                x=values,
                y=list(categories),
                name=name,
                orientation="h",
                marker={"color": colours, "pattern": {"shape": patterns}},
                text=[_text(v, separators) for v in values],
                textposition="outside",
                cliponaxis=False,
                hovertemplate="%{y}: %{x:.2f}<extra>" + name + "</extra>",
            )
        )
    per_category = 22 * max(len(series), 1) + 12
    height = max(260, 90 + per_category * len(categories))
    fig.update_layout(
        _layout(title=title, separators=separators, height=height, showlegend=len(series) > 1),
        barmode="group",
        xaxis=_score_axis(value_label),
        yaxis={**_category_axis(categories), "autorange": "reversed"},
    )
    rows = [
        [category, *(figure(values[i]) for _, values in series)]
        for i, category in enumerate(categories)
    ]
    return _chart(chart_id, title, fig, [category_label, *(name for name, _ in series)], rows)


def change_chart(
    *,
    chart_id: str,
    title: str,
    category_label: str,
    previous_label: str,
    current_label: str,
    change_label: str,
    rows: Sequence[tuple[str, float, float]],
    separators: str = ".,",
) -> Chart:
    """What changed since the previous published cycle: one bar per region, the change of
    its published index. Rising bars are blue and carry a "+", falling ones vermillion and
    a "−", so the sign is told in text as well as in colour."""
    categories = [name for name, _, _ in rows]
    previous = [figure(p) for _, p, _ in rows]
    current = [figure(c) for _, _, c in rows]
    changes = [figure(c - p) for p, c in zip(previous, current, strict=True)]
    sign = [("+" if d > 0 else "−" if d < 0 else "±") for d in changes]
    text = [s + _text(abs(d), separators) for s, d in zip(sign, changes, strict=True)]
    span = max([0.5, *(abs(d) for d in changes)]) * 1.35
    fig = go.Figure(
        go.Bar(
            x=changes,
            y=categories,
            orientation="h",
            marker={
                "color": [POSITIVE if d >= 0 else NEGATIVE for d in changes],
                "pattern": {"shape": ["" if d >= 0 else "x" for d in changes]},
            },
            text=text,
            textposition="outside",
            cliponaxis=False,
            customdata=[[p, c] for p, c in zip(previous, current, strict=True)],
            hovertemplate=(
                "%{y}: %{customdata[0]:.2f} → %{customdata[1]:.2f} (%{text})<extra></extra>"
            ),
        )
    )
    fig.update_layout(
        _layout(title=title, separators=separators, height=max(240, 90 + 34 * len(rows))),
        xaxis={
            "title": {"text": change_label},
            "range": [-span, span],
            "zeroline": True,
            "zerolinecolor": "#1b2430",
            "gridcolor": "#d5dbe3",
            "automargin": True,
            "fixedrange": True,
        },
        yaxis={**_category_axis(categories), "autorange": "reversed"},
    )
    table_rows = zip(categories, previous, current, changes, strict=True)
    columns = [category_label, previous_label, current_label, change_label]
    return _chart(chart_id, title, fig, columns, table_rows)


def heatmap_chart(
    *,
    chart_id: str,
    title: str,
    row_label: str,
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[float | None]],
    colorbar_label: str,
    separators: str = ".,",
) -> Chart:
    """A matrix of scores (agencies × dimensions) on the sequential cividis scale, 0 to 5,
    each cell also written out, so no value is told by colour alone. Empty cells (an agency
    owns nothing in a dimension) stay blank."""
    z = [[figure(v) for v in row] for row in values]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(columns),
            y=list(rows),
            zmin=0,
            zmax=MAX_SCORE,
            colorscale=SEQUENTIAL_SCALE,
            texttemplate="%{z:.2f}",
            hoverongaps=False,
            xgap=2,
            ygap=2,
            colorbar={"title": {"text": colorbar_label}, "thickness": 12, "len": 0.8},
            hovertemplate="%{y} · %{x}: %{z:.2f}<extra></extra>",
        )
    )
    fig.update_layout(
        _layout(title=title, separators=separators, height=max(280, 130 + 30 * len(rows))),
        xaxis={**_category_axis(columns, width=12), "side": "bottom"},
        yaxis={**_category_axis(rows), "autorange": "reversed"},
    )
    table_rows = [[label, *row] for label, row in zip(rows, z, strict=True)]
    return _chart(chart_id, title, fig, [row_label, *columns], table_rows)


def trend_chart(
    *,
    chart_id: str,
    title: str,
    period_label: str,
    value_label: str,
    periods: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    separators: str = ".,",
) -> Chart:
    """Published index per cycle, one line per series (the region, Semarang Raya)."""
    fig = go.Figure()
    for position, (name, values) in enumerate(series):
        colour = OKABE_ITO[position % len(OKABE_ITO)]
        fig.add_trace(
            go.Scatter(
                x=list(periods),
                y=[figure(v) for v in values],
                name=name,
                # Values written on the first line only: two close lines' labels would overlap;
                # the table and the hover give every value.
                mode="lines+markers+text" if position == 0 else "lines+markers",
                text=[_text(figure(v), separators) for v in values] if position == 0 else None,
                textposition="top center",
                line={"color": colour, "width": 2, "dash": "solid" if position == 0 else "dash"},
                marker={"color": colour, "size": 8, "symbol": ["circle", "square"][position % 2]},
                connectgaps=False,
                hovertemplate="%{x}: %{y:.2f}<extra>" + name + "</extra>",
            )
        )
    fig.update_layout(
        _layout(title=title, separators=separators, height=340, showlegend=len(series) > 1),
        xaxis=_category_axis(periods, title=period_label, width=14),
        yaxis=_score_axis(value_label),
    )
    rows = [
        [period, *(figure(values[i]) for _, values in series)] for i, period in enumerate(periods)
    ]
    return _chart(chart_id, title, fig, [period_label, *(name for name, _ in series)], rows)


def tile_chart(
    *,
    chart_id: str,
    title: str,
    region_label: str,
    value_label: str,
    tiles: Sequence[dict[str, Any]],
    separators: str = ".,",
) -> Chart:
    """A schematic tile grid: one square per region at its (row, col), coloured by index on
    the cividis scale and labelled with its name and index. Schematic on purpose: equal
    tiles let a small city weigh as much as a large regency, which a real map would not.

    Each tile is {"label", "row", "col", "value"}; rows count from the top."""
    n_rows = max((t["row"] for t in tiles), default=0) + 1
    n_cols = max((t["col"] for t in tiles), default=0) + 1
    z: list[list[float | None]] = [[None] * n_cols for _ in range(n_rows)]
    text: list[list[str]] = [[""] * n_cols for _ in range(n_rows)]
    for tile in tiles:
        value = figure(tile["value"])
        z[tile["row"]][tile["col"]] = value
        text[tile["row"]][tile["col"]] = (
            f"{wrap(tile['label'], 12)}<br><b>{_text(value, separators) or '–'}</b>"
        )
    fig = go.Figure(
        go.Heatmap(
            z=z,
            text=text,
            texttemplate="%{text}",
            zmin=0,
            zmax=MAX_SCORE,
            colorscale=SEQUENTIAL_SCALE,
            hoverongaps=False,
            xgap=6,
            ygap=6,
            colorbar={"title": {"text": value_label}, "thickness": 12, "len": 0.8},
            hovertemplate="%{text}<extra></extra>",
        )
    )
    hidden = {"visible": False, "fixedrange": True}
    fig.update_layout(
        _layout(title=title, separators=separators, height=120 + 110 * n_rows),
        xaxis={**hidden, "constrain": "domain"},
        yaxis={**hidden, "autorange": "reversed", "scaleanchor": "x"},
    )
    rows = [[tile["label"], figure(tile["value"])] for tile in tiles]
    return _chart(chart_id, title, fig, [region_label, value_label], rows)


def _outer_rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    """The outer ring of each polygon of a (Multi)Polygon; holes are left out, because the
    region inside a hole (Kota Salatiga inside Kabupaten Semarang) is drawn on top."""
    polygons = geometry["coordinates"]
    if geometry.get("type") == "Polygon":
        polygons = [polygons]
    return [polygon[0] for polygon in polygons if polygon]


def _extent(rings: list[list[list[float]]]) -> tuple[float, float, float, float]:
    xs = [p[0] for ring in rings for p in ring]
    ys = [p[1] for ring in rings for p in ring]
    return min(xs), min(ys), max(xs), max(ys)


def boundary_chart(
    *,
    chart_id: str,
    title: str,
    region_label: str,
    value_label: str,
    regions: Sequence[dict[str, Any]],
    separators: str = ".,",
) -> Chart:
    """Regions drawn from their outlines (longitude/latitude), filled by index on the cividis
    scale and labelled with name and index: a choropleth that needs no map tiles and no
    projection library, so it draws offline like every other chart.

    Each region is {"label", "value", "geometry"} (a GeoJSON Polygon or MultiPolygon)."""
    from plotly.colors import sample_colorscale

    shapes = []
    for region in regions:
        rings = _outer_rings(region["geometry"])
        if rings:
            west, south, east, north = _extent(rings)
            shapes.append((region, rings, (east - west) * (north - south)))
    # Largest first, so that a region enclosed by another is drawn on top of it.
    shapes.sort(key=lambda item: -item[2])
    fig = go.Figure()
    label_x, label_y, label_text, label_colour = [], [], [], []
    for region, rings, _area in shapes:
        value = figure(region["value"])
        colour = (
            "#d5dbe3"
            if value is None
            else sample_colorscale(SEQUENTIAL_SCALE, [value / MAX_SCORE])[0]
        )
        xs: list[float | None] = []
        ys: list[float | None] = []
        for ring in rings:
            xs += [p[0] for p in ring] + [None]
            ys += [p[1] for p in ring] + [None]
        shown = _text(value, separators) or "–"
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                fill="toself",
                fillcolor=colour,
                line={"color": "#ffffff", "width": 1.5},
                hoveron="fills",
                name=region["label"],
                text=f"{region['label']}: {shown}",
                hoverinfo="text",
                showlegend=False,
            )
        )
        largest = max(rings, key=len)
        label_x.append(sum(p[0] for p in largest) / len(largest))
        label_y.append(sum(p[1] for p in largest) / len(largest))
        label_text.append(f"{wrap(region['label'], 12)}<br><b>{shown}</b>")
        label_colour.append("#ffffff" if value is not None and value < 2.5 else "#1b2430")
    fig.add_trace(
        go.Scatter(
            x=label_x,
            y=label_y,
            mode="text",
            text=label_text,
            textfont={"color": label_colour, "size": 11},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    # The colour bar: an invisible marker that carries the scale.
    fig.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            marker={
                "color": [0],
                "colorscale": SEQUENTIAL_SCALE,
                "cmin": 0,
                "cmax": MAX_SCORE,
                "showscale": True,
                "colorbar": {"title": {"text": value_label}, "thickness": 12, "len": 0.8},
            },
            hoverinfo="skip",
            showlegend=False,
        )
    )
    hidden = {"visible": False, "fixedrange": True}
    fig.update_layout(
        _layout(title=title, separators=separators, height=480),
        xaxis={**hidden, "constrain": "domain"},
        # Degrees of longitude are as long as degrees of latitude near the equator (Central
        # Java lies at 7° S, where they differ by under 1 %).
        yaxis={**hidden, "scaleanchor": "x"},
    )
    rows = [[region["label"], figure(region["value"])] for region, _rings, _area in shapes]
    rows.sort(key=lambda row: row[0])
    return _chart(chart_id, title, fig, [region_label, value_label], rows)


# --------------------------------------------------------------------------- CSV


def neutralise(cell: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula gets a leading single quote.
    Numbers are left alone: a number is never a formula, and "-0.12" must stay a number."""
    if isinstance(cell, str) and cell.startswith(FORMULA_PREFIXES):
        return "'" + cell
    return cell


def table_csv(table: Table) -> str:
    """A chart's table as CSV: header row, then one row per category; decimals with a dot
    whatever the page language (machine-readable), empty cells for missing values."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(c) for c in table["columns"]])
    for row in table["rows"]:
        writer.writerow(["" if cell is None else neutralise(cell) for cell in row])
    return buffer.getvalue()
