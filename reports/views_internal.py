"""The internal monitoring dashboard (/monitoring/): provisional results, completion and
lateness, review backlog and throughput, and self-assessed against verified levels.

Scoped by role in `reports.selectors_internal`: reviewers and administrators see every region,
coordinators their own, operators are refused (403) and visitors are sent to the login page.
Charts are plotly figures built here, on the server, made JSON-safe by
`reports.charts.figure_dict` and sent to the page with `json_script`; static/js/charts.js draws
every `data-figure="<json_script id>"` element with the vendored plotly.js, so the page keeps a
strict Content-Security-Policy. Every chart has a table beside it with the same figures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import plotly.graph_objects as go
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .charts import figure_dict
from .choices import Predicate
from .selectors_internal import (
    AgencyCompletion,
    CalibrationCell,
    Dashboard,
    ProvisionalRegion,
    ThroughputDay,
    choose_cycle,
    monitoring_cycles,
    monitoring_dashboard,
)

# Okabe–Ito colours: distinguishable with every common colour-vision deficiency.
BLUE, ORANGE, GREEN = "#0072B2", "#E69F00", "#009E73"
# Diverging purple–white–orange (ColorBrewer PuOr): under-rating purple, over-rating orange.
GAP_SCALE = [
    [0.0, "#5e3c99"],
    [0.25, "#b2abd2"],
    [0.5, "#f7f7f7"],
    [0.75, "#fdb863"],
    [1, "#e66101"],
]
FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 13}


# --------------------------------------------------------------------------- sorting


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    numeric: bool
    sort: Callable[[AgencyCompletion], object]


AGENCY_COLUMNS = [
    Column(
        "region",
        gettext_lazy("Region"),
        False,
        lambda a: (a.region_name.lower(), a.agency_short_name.lower()),
    ),
    Column(
        "agency",
        gettext_lazy("Agency"),
        False,
        lambda a: (a.agency_short_name.lower(), a.region_name.lower()),
    ),
    Column("total", gettext_lazy("Total"), True, lambda a: a.counts.total),
    Column("answered", gettext_lazy("Answered"), True, lambda a: a.counts.answered),
    Column("submitted", gettext_lazy("Submitted"), True, lambda a: a.counts.submitted),
    Column("returned", gettext_lazy("Returned"), True, lambda a: a.counts.returned),
    Column("verified", gettext_lazy("Verified"), True, lambda a: a.counts.verified),
    Column("complete", gettext_lazy("Complete (%)"), True, lambda a: a.counts.percent_complete),
    Column("deadline", gettext_lazy("Entry deadline"), False, lambda a: a.deadline),
    Column("late", gettext_lazy("Late"), False, lambda a: (a.late, a.counts.open)),
]
DEFAULT_SORT, DEFAULT_DIRECTION = "late", "desc"


def _sorted_agencies(
    rows: list[AgencyCompletion], key: str, direction: str
) -> list[AgencyCompletion]:
    column = next(c for c in AGENCY_COLUMNS if c.key == key)
    return sorted(rows, key=column.sort, reverse=direction == "desc")


def _headers(cycle_id: int, key: str, direction: str) -> list[dict]:
    """Column headers as links that sort the table (server-side: works without script),
    with `aria-sort` on the sorted column."""
    headers = []
    for column in AGENCY_COLUMNS:
        active = column.key == key
        following = "asc" if active and direction == "desc" else "desc"
        if not active and not column.numeric and column.key != "late":
            following = "asc"
        query = urlencode({"cycle": cycle_id, "sort": column.key, "dir": following})
        headers.append(
            {
                "key": column.key,
                "label": column.label,
                "numeric": column.numeric,
                "url": f"?{query}#agencies",
                "aria_sort": (
                    ("ascending" if direction == "asc" else "descending") if active else ""
                ),
            }
        )
    return headers


# --------------------------------------------------------------------------- charts


def _layout(**extra) -> dict:
    return {
        "font": FONT,
        # Decimal, then thousands separator of the active language (Indonesian: 2,60).
        "separators": formats.get_format("DECIMAL_SEPARATOR")
        + formats.get_format("THOUSAND_SEPARATOR"),
        "margin": {"l": 60, "r": 20, "t": 20, "b": 60},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        **extra,
    }


def provisional_figure(rows: list[ProvisionalRegion]) -> dict:
    figure = go.Figure(
        go.Bar(
            x=[row.index for row in rows],
            y=[row.region_name for row in rows],
            orientation="h",
            marker={"color": GREEN},
            text=[formats.number_format(row.index, 2) for row in rows],
            textposition="outside",
            hovertemplate="%{y}: %{x:.2f}<extra></extra>",
            name=_("Provisional index"),
        ),
        layout=_layout(
            xaxis={"title": {"text": _("Provisional index (0–5)")}, "range": [0, 5.4]},
            yaxis={"autorange": "reversed", "automargin": True},
            height=max(200, 60 + 40 * len(rows)),
            margin={"l": 20, "r": 20, "t": 10, "b": 50},
        ),
    )
    return figure_dict(figure)


def throughput_figure(days: list[ThroughputDay]) -> dict:
    labels = [day.day.isoformat() for day in days]
    top = max([max(day.verified, day.returned) for day in days] + [0])
    figure = go.Figure(
        [
            go.Bar(
                x=labels,
                y=[day.verified for day in days],
                name=_("Verified"),
                marker={"color": BLUE},
            ),
            go.Bar(
                x=labels,
                y=[day.returned for day in days],
                name=_("Returned"),
                # A hatch as well as a colour: the two series differ without colour vision.
                marker={"color": ORANGE, "pattern": {"shape": "/"}},
            ),
        ],
        layout=_layout(
            barmode="group",
            xaxis={"title": {"text": _("Day")}, "type": "category", "automargin": True},
            yaxis={
                "title": {"text": _("Answers")},
                "rangemode": "tozero",
                "tickformat": "d",
                # Whole answers: one tick per answer while counts are small, plotly's own above.
                **({"dtick": 1} if top <= 6 else {}),
            },
            legend={"orientation": "h", "y": 1.12},
            height=320,
        ),
    )
    return figure_dict(figure)


def _signed(value: float) -> str:
    sign = "+" if value > 0 else "−" if value < 0 else ""
    # number_format truncates: round first, so 0.667 shows as 0.67 as in the table.
    return sign + formats.number_format(round(abs(value), 2), 2)


def calibration_figure(cells: list[CalibrationCell], dimensions: list[tuple[str, str]]) -> dict:
    """Agencies (rows) by dimensions (columns): mean self - verified, written in each cell."""
    agencies = sorted(
        {(c.region_name, c.agency_short_name, c.agency_id) for c in cells},
        key=lambda a: (a[0], a[1].lower()),
    )
    used = {c.dimension_code for c in cells}
    codes = [code for code, _name in dimensions if code in used]
    values = {(c.agency_id, c.dimension_code): c for c in cells}
    z, text = [], []
    for _region, _agency, agency_id in agencies:
        cells_row = [values.get((agency_id, code)) for code in codes]
        z.append([None if c is None else round(c.mean_gap, 2) for c in cells_row])
        text.append(
            ["" if c is None else f"{_signed(c.mean_gap)} (n={c.verified})" for c in cells_row]
        )
    reach = max([abs(c.mean_gap) for c in cells] + [1.0])
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=codes,
            y=[f"{agency} · {region}" for region, agency, _id in agencies],
            text=text,
            texttemplate="%{text}",
            hovertemplate="%{y} · %{x}: %{text}<extra></extra>",
            colorscale=GAP_SCALE,
            zmid=0,
            zmin=-reach,
            zmax=reach,
            xgap=2,
            ygap=2,
            colorbar={"title": {"text": _("Self − verified")}},
        ),
        layout=_layout(
            xaxis={"title": {"text": _("Dimension")}, "side": "top", "type": "category"},
            yaxis={"autorange": "reversed", "automargin": True, "type": "category"},
            height=max(220, 90 + 34 * len(agencies)),
            margin={"l": 20, "r": 20, "t": 60, "b": 20},
        ),
    )
    return figure_dict(figure)


# --------------------------------------------------------------------------- the page


def _predicate_label(code: str) -> str:
    try:
        return str(Predicate(code).label)
    except ValueError:
        return code


@login_required
@never_cache
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    cycles = monitoring_cycles(user=request.user)
    cycle = choose_cycle(cycles, request.GET.get("cycle"))
    context: dict = {"cycles": cycles, "cycle": cycle}
    if cycle is None:
        return render(request, "reports/internal/dashboard.html", context)
    data: Dashboard = monitoring_dashboard(user=request.user, cycle=cycle)
    key = request.GET.get("sort", DEFAULT_SORT)
    direction = request.GET.get("dir", DEFAULT_DIRECTION)
    if key not in {c.key for c in AGENCY_COLUMNS} or direction not in {"asc", "desc"}:
        key, direction = DEFAULT_SORT, DEFAULT_DIRECTION
    dimension_names = dict(data.dimensions)
    context.update(
        {
            "data": data,
            "agencies": _sorted_agencies(data.agencies, key, direction),
            "headers": _headers(cycle.pk, key, direction),
            "provisional": [
                {"row": row, "predicate": _predicate_label(row.predicate)}
                for row in data.provisional
            ],
            "calibration": [
                {"cell": cell, "dimension": dimension_names.get(cell.dimension_code, "")}
                for cell in data.calibration
            ],
            "provisional_figure": provisional_figure(data.provisional),
            "throughput_figure": throughput_figure(data.throughput),
            "calibration_figure": calibration_figure(data.calibration, data.dimensions),
        }
    )
    return render(request, "reports/internal/dashboard.html", context)
