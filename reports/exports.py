"""Exports of a maturity report: HTML outline, PDF, Excel workbook, CSV and JSON open data.

Pure functions (architecture rule 5): they take a `ReportData` (a snapshot and its labels as
plain data, built by `reports.selectors_exports`) and return text or bytes. No ORM, no I/O, no
clock: the time of generation is part of the input. Human texts (headings, the executive
summary, the methodology, the names in the labels) follow the active language; the open-data
column names and codes never do, so a dataset keeps its shape whatever language it was
downloaded in (docs/open-data.md is the column dictionary).

Charts are drawn with matplotlib's Agg backend and PDFs with fpdf2 in the DejaVu Sans font that
matplotlib ships: both pure Python plus wheels, no browser, no system library, no network.

Spreadsheet safety: every text cell of the CSV and the workbook goes through `neutralise_cell`,
so a name such as ``=HYPERLINK(...)`` typed into the portal is shown as text by Excel or
LibreOffice, never run as a formula (CSV/formula injection, OWASP).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.utils import formats, timezone
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _

from dimensions.choices import MaturityLevel

from .choices import KIND_BASIS, Predicate, ReportKind
from .scoring import round_published

#: Version of the open-data format (columns, metadata keys). Bump it when a column is added,
#: renamed or changes meaning, and say so in docs/open-data.md.
FORMAT_VERSION = 1

#: Aggregation levels, in the order rows and workbook sheets come in.
AGGREGATIONS: tuple[str, ...] = ("index", "dimension", "element", "agency")
SHEET_TITLES: dict[str, str] = {
    "index": "Index",
    "dimension": "Dimensions",
    "element": "Elements",
    "agency": "Agencies",
}

#: SPBE predicate bands on the published (2-decimal) figure: code, lowest, highest.
PREDICATE_BANDS: tuple[tuple[str, float, float], ...] = (
    ("kurang", 0.00, 1.79),
    ("cukup", 1.80, 2.59),
    ("baik", 2.60, 3.49),
    ("sangat_baik", 3.50, 4.19),
    ("memuaskan", 4.20, 5.00),
)

#: Leading characters that make a spreadsheet read a cell as a formula (OWASP CSV injection),
#: with the full-width forms that some locales of Excel accept as well.
_FORMULA_TRIGGERS = frozenset("=+-@\t\r\n＝＋－＠")
_LEADING_BLANKS = " \t\r\n"

#: Fonts: the DejaVu Sans files inside matplotlib's package data (no system font needed).
_BRAND = (11, 83, 148)  # --brand of smartprov.css
_BRAND_DARK = (7, 55, 99)
_MUTED = (74, 85, 101)
_WASH = (243, 245, 248)
_ALERT = (153, 27, 27)


@dataclass(frozen=True)
class Column:
    """One column of the open-data table (CSV, JSON records and the workbook's sheets)."""

    name: str
    type: str  # integer, number or text
    description: Any  # a lazy translation


COLUMNS: tuple[Column, ...] = (
    Column("report_id", "integer", gettext_lazy("Identifier of the report snapshot.")),
    Column("cycle_id", "integer", gettext_lazy("Identifier of the assessment cycle.")),
    Column("cycle_year", "integer", gettext_lazy("Year of the assessment cycle.")),
    Column("cycle_name", "text", gettext_lazy("Name of the assessment cycle.")),
    Column(
        "kind",
        "text",
        gettext_lazy("final (verified levels of approved assessments) or provisional."),
    ),
    Column(
        "basis",
        "text",
        gettext_lazy("Levels the scores use: final (verified) or provisional (self-assessed)."),
    ),
    Column(
        "region_code",
        "text",
        gettext_lazy(
            "Kemendagri code of the region the figure is about (plain, e.g. 3374); empty for "
            "the Semarang Raya aggregate."
        ),
    ),
    Column("region_name", "text", gettext_lazy("Name of the region, or Semarang Raya.")),
    Column(
        "aggregation",
        "text",
        gettext_lazy("Level of aggregation of the row: index, dimension, element or agency."),
    ),
    Column("dimension_code", "text", gettext_lazy("Dimension code of the framework (e.g. GOV).")),
    Column("dimension_name", "text", gettext_lazy("Dimension name, in the download's language.")),
    Column("element_code", "text", gettext_lazy("Element code of the framework (e.g. GOV-SVC).")),
    Column("element_name", "text", gettext_lazy("Element name, in the download's language.")),
    Column("agency_code", "text", gettext_lazy("Slug of the agency (perangkat daerah).")),
    Column("agency_short_name", "text", gettext_lazy("Short name of the agency.")),
    Column("agency_name", "text", gettext_lazy("Full name of the agency.")),
    Column("score", "number", gettext_lazy("Score on 0–5 at full precision.")),
    Column(
        "score_rounded",
        "number",
        gettext_lazy("Published figure: the score to 2 decimals, rounded half up."),
    ),
    Column(
        "level",
        "integer",
        gettext_lazy("Maturity level: the score rounded down, 0 = below level 1."),
    ),
    Column(
        "predicate",
        "text",
        gettext_lazy(
            "Predicate code of the published figure: kurang, cukup, baik, sangat_baik, "
            "memuaskan (index and dimension rows)."
        ),
    ),
    Column("answered", "integer", gettext_lazy("Indicators answered.")),
    Column("total", "integer", gettext_lazy("Indicators that apply.")),
    Column("completeness", "number", gettext_lazy("answered / total, from 0 to 1.")),
    Column(
        "regions_counted",
        "integer",
        gettext_lazy("Semarang Raya rows: member regions averaged."),
    ),
    Column("framework_slug", "text", gettext_lazy("Lineage of the framework.")),
    Column("framework_version", "integer", gettext_lazy("Version of the framework.")),
    Column("engine_version", "text", gettext_lazy("Version of the scoring engine.")),
)
COLUMN_NAMES: tuple[str, ...] = tuple(column.name for column in COLUMNS)


@dataclass(frozen=True)
class Recommendation:
    """What one weak indicator needs next: the descriptor of the level above its own."""

    element_code: str
    indicator_code: str
    indicator_name: str
    level: int  # on the report's basis; 0 = not answered
    next_level: int
    descriptor: str


@dataclass(frozen=True)
class ReportData:
    """One snapshot and everything its exports show, as plain data (no model instances).

    `labels` names dimension, element and member-region codes in the active language; `order`
    gives dimension and element codes their place in the framework; `agencies` maps an agency
    slug to its (short name, full name). `recommendations` are the next-level descriptors of
    the weakest indicators of the weakest elements; `recommendations_available` is False when
    the answers changed after the snapshot, so the indicator levels it scored are unknown.
    """

    report_id: int
    kind: str
    published: bool
    published_at: datetime | None
    created_at: datetime
    generated_at: datetime
    region_code: str | None  # None: the Semarang Raya aggregate
    place: str
    cycle_id: int
    cycle_name: str
    cycle_year: int
    framework_slug: str
    framework_name: str
    framework_version: int
    engine_version: str
    input_hash: str
    weights: Mapping[str, Any]
    results: Mapping[str, Any]
    index: float
    predicate: str
    completeness: float
    labels: Mapping[str, str] = field(default_factory=dict)
    order: Mapping[str, int] = field(default_factory=dict)
    agencies: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    recommendations: tuple[Recommendation, ...] = ()
    recommendations_available: bool = True

    @property
    def is_aggregate(self) -> bool:
        return self.region_code is None

    @property
    def basis(self) -> str:
        return str(self.results.get("basis") or KIND_BASIS[self.kind])

    @property
    def summary(self) -> Mapping[str, Any]:
        return self.results.get("summary", {})

    def table(self, name: str) -> list[Mapping[str, Any]]:
        """Rows of one of the snapshot's tables on the report's own basis."""
        basis = self.basis
        return [
            row for row in self.results.get("tables", {}).get(name, []) if row["basis"] == basis
        ]


# --------------------------------------------------------------------------- cells


def neutralise_cell(value: Any) -> Any:
    """A text cell made safe for spreadsheets: prefixed with ``'`` when it starts (or starts
    after blanks) with a character that makes Excel or LibreOffice read a formula. Other values
    are returned as they are."""
    if not isinstance(value, str) or not value:
        return value
    if value[0] in _FORMULA_TRIGGERS or value.lstrip(_LEADING_BLANKS)[:1] in _FORMULA_TRIGGERS:
        return "'" + value
    return value


def export_filename(data: ReportData, extension: str) -> str:
    """smartprov-3374-2025-final.pdf; an unpublished snapshot also carries its id, since a
    region has many of them in a cycle."""
    place = data.region_code or "semarang-raya"
    suffix = "" if data.published else f"-{data.report_id}"
    return f"smartprov-{place}-{data.cycle_year}-{data.kind}{suffix}.{extension}"


# --------------------------------------------------------------------------- open-data rows


def export_rows(data: ReportData) -> dict[str, list[dict[str, Any]]]:
    """The snapshot's figures on its own basis as flat records with `COLUMN_NAMES`, one list
    per aggregation level. A region has index, dimension, element and agency rows; the Semarang
    Raya aggregate has index and dimension rows for itself (empty region code) and for each
    member region."""
    common = {
        "report_id": data.report_id,
        "cycle_id": data.cycle_id,
        "cycle_year": data.cycle_year,
        "cycle_name": data.cycle_name,
        "kind": data.kind,
        "basis": data.basis,
        "framework_slug": data.framework_slug,
        "framework_version": data.framework_version,
        "engine_version": data.engine_version,
    }

    def row(aggregation: str, region_code: str | None, **values: Any) -> dict[str, Any]:
        record = dict.fromkeys(COLUMN_NAMES)
        record.update(common)
        record["aggregation"] = aggregation
        record["region_code"] = region_code or ""
        record["region_name"] = (
            data.place if region_code == data.region_code else data.labels.get(region_code, "")
        )
        dimension = values.pop("dimension", None)
        if dimension:
            record["dimension_code"] = dimension
            record["dimension_name"] = data.labels.get(dimension, "")
        element = values.pop("element", None)
        if element:
            record["element_code"] = element
            record["element_name"] = data.labels.get(element, "")
        if "agency" in values:
            agency = values.pop("agency")
            short_name, name = data.agencies.get(agency, ("", ""))
            record["agency_code"] = agency
            record["agency_short_name"] = short_name or (agency or _("(no agency)"))
            record["agency_name"] = name
        record.update(values)
        return record

    def figures(source: Mapping[str, Any], score_key: str = "score") -> dict[str, Any]:
        score = float(source[score_key])
        rounded = source.get(f"{score_key}_rounded")
        return {
            "score": score,
            "score_rounded": float(rounded) if rounded is not None else round_published(score),
            "level": source.get("level"),
            "predicate": source.get("predicate"),
            "answered": source.get("answered"),
            "total": source.get("total"),
            "completeness": source.get("completeness"),
        }

    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in AGGREGATIONS}
    if data.is_aggregate:
        for source in data.table("cluster"):
            values = figures(source)
            values["regions_counted"] = source.get("regions")
            if source["dimension"] == "":
                values["completeness"] = data.summary.get("completeness")
                rows["index"].append(row("index", None, **values))
            else:
                rows["dimension"].append(
                    row("dimension", None, dimension=source["dimension"], **values)
                )
        for source in data.table("regions"):
            rows["index"].append(row("index", source["region"], **figures(source, "index")))
        for source in data.table("dimensions"):
            rows["dimension"].append(
                row("dimension", source["region"], dimension=source["dimension"], **figures(source))
            )
    else:
        code = data.region_code
        for source in data.table("regions"):
            rows["index"].append(row("index", code, **figures(source, "index")))
        for source in data.table("dimensions"):
            rows["dimension"].append(
                row("dimension", code, dimension=source["dimension"], **figures(source))
            )
        for source in data.table("elements"):
            rows["element"].append(
                row(
                    "element",
                    code,
                    dimension=source["dimension"],
                    element=source["element"],
                    **figures(source),
                )
            )
        for source in data.table("agencies"):
            values = figures(source)
            values["level"] = None  # the engine defines no maturity level for an agency
            rows["agency"].append(
                row(
                    "agency", code, dimension=source["dimension"], agency=source["agency"], **values
                )
            )

    def position(record: dict[str, Any]) -> tuple:
        return (
            record["region_code"] != (data.region_code or ""),  # the report's own place first
            record["region_code"],
            data.order.get(record["dimension_code"] or "", -1),
            data.order.get(record["element_code"] or "", -1),
            record["agency_short_name"] or "",
        )

    return {name: sorted(records, key=position) for name, records in rows.items()}


def _flat_rows(data: ReportData) -> list[dict[str, Any]]:
    return [record for records in export_rows(data).values() for record in records]


# --------------------------------------------------------------------------- metadata


def methodology() -> list[str]:
    """How the figures are computed (domain.md §3-§4, docs/scoring.md), in the active
    language: shown in every export beside the framework and engine versions."""
    bands = ", ".join(
        f"{predicate_label(code)} {_number(low)}–{_number(high)}"
        for code, low, high in reversed(PREDICATE_BANDS)
    )
    return [
        _(
            "Each indicator is answered with a maturity level from 1 (Initial) to 5 "
            "(Optimised), the SPBE levels of PermenPANRB 59/2020. An applicable indicator that "
            "is not answered scores 0 and lowers the completeness."
        ),
        _(
            "An element's score is the weighted mean of its indicators' levels, a dimension's "
            "score the weighted mean of its elements' scores, and the index the weighted mean of "
            "the dimension scores. Weights are normalised within each parent, so only their "
            "ratios matter; the weights used are recorded with the report."
        ),
        _(
            "Final reports use the levels verified by the provincial reviewers, for approved "
            "assessments only. Provisional reports use the self-assessed levels and are never "
            "published."
        ),
        _(
            "Scores are published to two decimals, rounded half up, and the predicate is read "
            "from the published figure: %(bands)s. The maturity level of a score is the score "
            "rounded down (0: below level 1)."
        )
        % {"bands": bands},
        _(
            "The Semarang Raya index is the plain mean of the indices of the member regions "
            "counted in the cycle; its dimension scores are the means of theirs."
        ),
        _(
            "Each report records the framework version, the weights, the version of the scoring "
            "engine and a hash of its inputs, so that it can be recomputed exactly."
        ),
    ]


def metadata(data: ReportData) -> dict[str, Any]:
    """The dataset's metadata (JSON `metadata`, the workbook's Metadata sheet): what it is,
    where and when it is about, who produced it, and how and with what it was computed."""
    return {
        "format": "smartprov-maturity-report",
        "format_version": FORMAT_VERSION,
        "title": _title(data),
        "description": _(
            "Smart-province maturity scores (0–5) per dimension, element and agency, from the "
            "SmartProv self-assessment of Central Java."
        ),
        "publisher": "Diskominfo Provinsi Jawa Tengah",
        "language": get_language(),
        "report_id": data.report_id,
        "region_code": data.region_code or "",
        "region_name": data.place,
        "cycle": {"id": data.cycle_id, "name": data.cycle_name, "year": data.cycle_year},
        "kind": data.kind,
        "basis": data.basis,
        "published": data.published,
        "published_at": _iso(data.published_at),
        "created_at": _iso(data.created_at),
        "generated_at": _iso(data.generated_at),
        "framework": {
            "slug": data.framework_slug,
            "name": data.framework_name,
            "version": data.framework_version,
        },
        "engine_version": data.engine_version,
        "input_hash": data.input_hash,
        "index": data.index,
        "index_rounded": round_published(data.index),
        "predicate": data.predicate,
        "completeness": data.completeness,
        "unit": _("maturity score on a scale of 0 to 5"),
        "weights": data.weights,
        "predicate_bands": [
            {"code": code, "label": predicate_label(code), "min": low, "max": high}
            for code, low, high in PREDICATE_BANDS
        ],
        "methodology": "\n\n".join(methodology()),
        "columns": [
            {"name": column.name, "type": column.type, "description": str(column.description)}
            for column in COLUMNS
        ],
    }


# --------------------------------------------------------------------------- CSV and JSON


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same float
    if isinstance(value, str):
        return neutralise_cell(value)
    return str(value)


def report_csv(data: ReportData) -> str:
    """Open data as CSV (RFC 4180, UTF-8, comma, dot decimals): one header row of
    `COLUMN_NAMES`, then every row of `export_rows`, index first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMN_NAMES)
    for record in _flat_rows(data):
        writer.writerow([_csv_value(record[name]) for name in COLUMN_NAMES])
    return buffer.getvalue()


def report_json(data: ReportData) -> str:
    """Open data as JSON: ``{"metadata": {...}, "data": [records with COLUMN_NAMES]}``. Values
    are kept as they are (JSON is not evaluated by spreadsheets)."""
    document = {"metadata": metadata(data), "data": _flat_rows(data)}
    return json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False)


# --------------------------------------------------------------------------- workbook


def report_workbook(data: ReportData) -> bytes:
    """An Excel workbook: one sheet per aggregation level (Index, Dimensions, Elements,
    Agencies; those without rows are left out) with the open-data columns, and a Metadata
    sheet (framework, versions, hash, weights, predicate bands, methodology, column
    dictionary)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    workbook.remove(workbook.active)
    header_font, header_fill = Font(bold=True), PatternFill("solid", fgColor="F3F5F8")
    formats_by_column = {"score": "0.0000", "score_rounded": "0.00", "completeness": "0.0%"}
    for aggregation, records in export_rows(data).items():
        if not records and aggregation in ("element", "agency"):
            continue
        sheet = workbook.create_sheet(SHEET_TITLES[aggregation])
        sheet.append(list(COLUMN_NAMES))
        for record in records:
            sheet.append([_xlsx_value(record[name]) for name in COLUMN_NAMES])
        for position, name in enumerate(COLUMN_NAMES, start=1):
            letter = get_column_letter(position)
            sheet[f"{letter}1"].font, sheet[f"{letter}1"].fill = header_font, header_fill
            widest = max((len(str(record[name] or "")) for record in records), default=0)
            sheet.column_dimensions[letter].width = min(max(len(name), widest) + 2, 48)
            if name in formats_by_column:
                for (cell,) in sheet.iter_rows(min_row=2, min_col=position, max_col=position):
                    cell.number_format = formats_by_column[name]
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = sheet.dimensions

    sheet = workbook.create_sheet("Metadata")
    wrap = Alignment(wrap_text=True, vertical="top")
    bold = Font(bold=True)

    def heading(text: str) -> None:
        sheet.append([])
        sheet.append([_xlsx_value(text)])
        sheet.cell(row=sheet.max_row, column=1).font = bold

    info = metadata(data)
    sheet.append([_xlsx_value(info["title"])])
    sheet.cell(row=1, column=1).font = Font(bold=True, size=14)
    facts = [
        (_("Report"), data.report_id),
        (_("Region"), data.place),
        (_("Region code"), data.region_code or ""),
        (_("Cycle"), data.cycle_name),
        (_("Year"), data.cycle_year),
        (_("Kind"), _kind_label(data.kind)),
        (_("Basis"), data.basis),
        (_("Index"), round_published(data.index)),
        (_("Predicate"), predicate_label(data.predicate)),
        (_("Framework"), data.framework_name),
        (_("Framework lineage"), data.framework_slug),
        (_("Framework version"), data.framework_version),
        (_("Engine version"), data.engine_version),
        (_("Input hash"), data.input_hash),
        (_("Created"), info["created_at"]),
        (_("Published"), info["published_at"] or "—"),
        (_("Generated"), info["generated_at"]),
        (_("Language"), info["language"]),
        (_("Format version"), FORMAT_VERSION),
        (_("Publisher"), info["publisher"]),
    ]
    for label, value in facts:
        sheet.append([_xlsx_value(label), _xlsx_value(value)])
        sheet.cell(row=sheet.max_row, column=1).font = bold

    heading(_("Weights"))
    for level in ("dimensions", "elements", "indicators"):
        for code, weight in data.weights.get(level, {}).items():
            sheet.append([_xlsx_value(level), _xlsx_value(code), weight])

    heading(_("Predicate bands"))
    for band in info["predicate_bands"]:
        sheet.append([band["code"], _xlsx_value(band["label"]), band["min"], band["max"]])

    heading(_("Methodology"))
    for paragraph in methodology():
        sheet.append([_xlsx_value(paragraph)])
        sheet.cell(row=sheet.max_row, column=1).alignment = wrap
        sheet.merge_cells(
            start_row=sheet.max_row, start_column=1, end_row=sheet.max_row, end_column=4
        )
        sheet.row_dimensions[sheet.max_row].height = 15 * (1 + len(paragraph) // 110)

    heading(_("Columns"))
    for column in COLUMNS:
        sheet.append([column.name, column.type, _xlsx_value(str(column.description))])
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 40
    sheet.column_dimensions["C"].width = 40
    sheet.column_dimensions["D"].width = 12

    workbook.properties.title = info["title"]
    workbook.properties.creator = "SmartProv"
    workbook.properties.language = info["language"]
    # Document properties carry the generation time given, not the clock (naive = UTC).
    generated = data.generated_at
    if timezone.is_aware(generated):
        generated = timezone.make_naive(generated, UTC)
    workbook.properties.created = workbook.properties.modified = generated
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        return ILLEGAL_CHARACTERS_RE.sub("", neutralise_cell(value))
    return value


# --------------------------------------------------------------------------- outline (HTML, PDF)


def ranked(data: ReportData) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(strengths, weaknesses): the top and bottom items of the finest level the report has
    (elements of a region; dimensions of Semarang Raya), up to three each and never the same
    item twice (a small framework splits its items in half)."""
    if data.is_aggregate:
        items = [
            {
                "code": row["dimension"],
                "parent": "",
                "score": float(row["score"]),
                "level": row["level"],
            }
            for row in data.table("cluster")
            if row["dimension"] != ""
        ]
    else:
        items = [
            {
                "code": row["element"],
                "parent": row["dimension"],
                "score": float(row["score"]),
                "level": row["level"],
            }
            for row in data.table("elements")
        ]
    count = min(3, max(1, len(items) // 2)) if items else 0
    place = data.order.get
    strengths = sorted(items, key=lambda item: (-item["score"], place(item["code"], 0)))[:count]
    chosen = {item["code"] for item in strengths}
    rest = [item for item in items if item["code"] not in chosen]
    weaknesses = sorted(rest, key=lambda item: (item["score"], place(item["code"], 0)))[:count]
    return strengths, weaknesses


def pick_weak_indicators(
    *,
    levels: Mapping[str, float | None],
    element_of: Mapping[str, str],
    elements: Sequence[str],
    per_element: int = 2,
) -> list[tuple[str, str, int, int]]:
    """(element, indicator, level, next level) of the lowest indicators of each weak element:
    those at its lowest level below 5, at most `per_element`, by code. An unanswered
    indicator is level 0, so its next step is level 1."""
    picked = []
    for element in elements:
        own = sorted(
            (_level_or_zero(levels.get(code)), code)
            for code, parent in element_of.items()
            if parent == element
        )
        own = [(level, code) for level, code in own if level < 5]
        if not own:
            continue
        lowest = own[0][0]
        picked.extend(
            (element, code, level, level + 1)
            for level, code in own[:per_element]
            if level == lowest
        )
    return picked


def _level_or_zero(level: float | None) -> int:
    return 0 if level is None or level != level else int(level)  # NaN: not answered


def report_outline(data: ReportData) -> dict[str, Any]:
    """The sections the HTML page and the PDF share, with every text already in the active
    language: headline, executive summary, scores, strengths, weaknesses with
    recommendations, methodology and provenance."""
    summary = data.summary
    index_rounded = round_published(data.index)
    level = int(summary.get("level", 0))
    dimensions = _dimension_items(data)
    members = (
        [
            {
                "code": row["region"],
                "name": data.labels.get(row["region"], row["region"]),
                "score_text": _number(row["index_rounded"]),
                "level": row["level"],
                "predicate_label": predicate_label(row["predicate"]),
            }
            for row in sorted(data.table("regions"), key=lambda row: row["region"])
        ]
        if data.is_aggregate
        else []
    )
    strengths, weaknesses = ranked(data)
    recommendations: dict[str, list[Recommendation]] = {}
    for item in data.recommendations:
        recommendations.setdefault(item.element_code, []).append(item)

    def described(item: dict[str, Any]) -> dict[str, Any]:
        return {
            **item,
            "name": data.labels.get(item["code"], item["code"]),
            "parent_name": data.labels.get(item["parent"], ""),
            "score_text": _number(round_published(item["score"])),
            "level_label": _level_label(item["level"]),
            "recommendations": [
                {
                    "indicator_code": r.indicator_code,
                    "indicator_name": r.indicator_name,
                    "level": r.level,
                    "next_level": r.next_level,
                    "next_level_label": _level_label(r.next_level),
                    "descriptor": r.descriptor,
                }
                for r in recommendations.get(item["code"], [])
            ],
        }

    if data.is_aggregate:
        note = _("Recommendations per indicator are in the report of each member region.")
    elif not data.recommendations_available:
        note = _(
            "The answers have changed since this report was built, so the indicator levels it "
            "scored are not known any more: recommendations per indicator are left out. A newer "
            "report has them."
        )
    else:
        note = ""
    return {
        "title": _title(data),
        "place": data.place,
        "cycle_name": data.cycle_name,
        "kind": data.kind,
        "kind_label": _kind_label(data.kind),
        "is_provisional": data.kind == ReportKind.PROVISIONAL,
        "is_aggregate": data.is_aggregate,
        "published": data.published,
        "published_on": _date(data.published_at),
        "index_rounded": index_rounded,
        "index_text": _number(index_rounded),
        "predicate_label": predicate_label(data.predicate),
        "level": level,
        "level_label": _level_label(level),
        "completeness_pct": round(data.completeness * 100),
        "answered": summary.get("answered"),
        "total": summary.get("total"),
        "summary": _executive_summary(data, dimensions, members, level),
        "dimensions": dimensions,
        "members": members,
        "strengths": [described(item) for item in strengths],
        "weaknesses": [described(item) for item in weaknesses],
        "recommendations_note": note,
        "methodology": methodology(),
        "provenance": _provenance(data),
        "chart_alt": _(
            "Bar chart of the dimension scores on a scale of 0 to 5, with the index as a line; "
            "the same figures are in the table of scores."
        ),
    }


def _dimension_items(data: ReportData) -> list[dict[str, Any]]:
    if data.is_aggregate:
        rows = [row for row in data.table("cluster") if row["dimension"] != ""]
        elements: dict[str, list] = {}
    else:
        rows = data.table("dimensions")
        elements = {}
        for row in data.table("elements"):
            elements.setdefault(row["dimension"], []).append(row)
    place = data.order.get
    items = []
    for row in sorted(rows, key=lambda row: (place(row["dimension"], 0), row["dimension"])):
        code = row["dimension"]
        items.append({
            "code": code,
            "name": data.labels.get(code, code),
            "score": float(row["score"]),
            "score_text": _number(row["score_rounded"]),
            "level": row["level"],
            "level_label": _level_label(row["level"]),
            "predicate_label": predicate_label(row["predicate"]),
            "elements": [
                {
                    "code": element["element"],
                    "name": data.labels.get(element["element"], element["element"]),
                    "score_text": _number(round_published(element["score"])),
                    "level": element["level"],
                    "level_label": _level_label(element["level"]),
                }
                for element in sorted(
                    elements.get(code, []),
                    key=lambda element: (place(element["element"], 0), element["element"]),
                )
            ],
        })  # fmt: skip
    return items


def _executive_summary(
    data: ReportData, dimensions: list[dict], members: list[dict], level: int
) -> list[str]:
    values = {
        "place": data.place,
        "cycle": data.cycle_name,
        "index": _number(round_published(data.index)),
        "predicate": predicate_label(data.predicate),
        "level": _level_label(level),
    }
    paragraphs = [
        _(
            "In %(cycle)s, %(place)s reached a smart-province maturity index of %(index)s out of "
            "5: predicate %(predicate)s, maturity level %(level)s."
        )
        % values
    ]
    if data.is_aggregate and members:
        paragraphs.append(
            ngettext(
                "The index is the mean of the indices of %(count)d member region: %(members)s.",
                "The index is the mean of the indices of %(count)d member regions: %(members)s.",
                len(members),
            )
            % {
                "count": len(members),
                "members": ", ".join(f"{m['name']} ({m['score_text']})" for m in members),
            }
        )
    answered, total = data.summary.get("answered"), data.summary.get("total")
    if total:
        paragraphs.append(
            _(
                "%(answered)d of %(total)d indicators were answered (%(percent)d%% complete); an "
                "unanswered indicator counts as 0."
            )
            % {"answered": answered, "total": total, "percent": round(data.completeness * 100)}
        )
    if len(dimensions) > 1:
        best = max(dimensions, key=lambda d: d["score"])
        worst = min(dimensions, key=lambda d: d["score"])
        paragraphs.append(
            _(
                "The strongest dimension is %(best)s (%(best_score)s); the weakest is %(worst)s "
                "(%(worst_score)s)."
            )
            % {
                "best": best["name"],
                "best_score": best["score_text"],
                "worst": worst["name"],
                "worst_score": worst["score_text"],
            }
        )
    elements = [e for d in dimensions for e in d["elements"]]
    if elements:
        paragraphs.append(
            _("%(count)d of %(total)d elements reach level 3 (Standardised) or higher.")
            % {"count": sum(1 for e in elements if e["level"] >= 3), "total": len(elements)}
        )
    if data.kind == ReportKind.PROVISIONAL:
        paragraphs.append(
            _(
                "Provisional figures: computed from self-assessed levels that are not verified "
                "yet. Not for publication."
            )
        )
    else:
        paragraphs.append(
            _("Final figures: computed from the levels verified by the provincial reviewers.")
        )
    return paragraphs


def _provenance(data: ReportData) -> list[tuple[str, str]]:
    dimension_weights = data.weights.get("dimensions", {})
    weights = ", ".join(
        f"{code} {_weight(weight)}"
        for code, weight in sorted(
            dimension_weights.items(), key=lambda kv: data.order.get(kv[0], 0)
        )
    )
    return [
        (_("Framework"), f"{data.framework_name} v{data.framework_version}"),
        (_("Engine version"), data.engine_version),
        (_("Input hash"), data.input_hash),
        (_("Dimension weights"), weights or "—"),
        (_("Report"), f"#{data.report_id} · {_kind_label(data.kind)}"),
        (_("Created"), _datetime(data.created_at)),
        (_("Published"), _date(data.published_at) or _("not published")),
        (_("Generated"), _datetime(data.generated_at)),
    ]


# --------------------------------------------------------------------------- chart


def report_chart(data: ReportData, *, image_format: str = "png") -> bytes:
    """The dimension scores as a horizontal bar chart (0-5, the predicate bands as light
    guides, the index as a line), PNG for the PDF or SVG for the page. Agg backend: no display,
    no browser; matplotlib is imported here so that the portal starts without it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dimensions = _dimension_items(data)
    names = [_wrap(item["name"], 26) for item in dimensions]
    scores = [item["score"] for item in dimensions]
    figure = Figure(figsize=(7.2, 0.5 * len(dimensions) + 1.3), dpi=150, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    rgb = tuple(c / 255 for c in _BRAND)
    positions = range(len(dimensions))
    bars = axes.barh(list(positions), scores, color=rgb, height=0.6)
    axes.bar_label(bars, labels=[item["score_text"] for item in dimensions], padding=3, fontsize=8)
    for _code, low, _high in PREDICATE_BANDS[1:]:
        axes.axvline(low, color="#b8c0cc", linewidth=0.8, linestyle=":", zorder=0)
    index = round_published(data.index)
    axes.axvline(
        index,
        color="#b45309",
        linewidth=1.6,
        linestyle="--",
        label=_("Index %(index)s") % {"index": _number(index)},
    )
    axes.set_yticks(list(positions), labels=names, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, 5)
    axes.set_xticks(range(6))
    axes.set_xlabel(_("Score (0–5)"), fontsize=8)
    axes.tick_params(axis="x", labelsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(loc="lower right", fontsize=8, frameon=False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=image_format, metadata=_image_metadata(image_format))
    return buffer.getvalue()


def _image_metadata(image_format: str) -> dict[str, Any]:
    # No creation date: the same snapshot gives the same image.
    return {"Date": None} if image_format == "svg" else {}


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)[:2]) or text


# --------------------------------------------------------------------------- PDF


def _font_path(bold: bool = False) -> str:
    import matplotlib

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return os.path.join(matplotlib.get_data_path(), "fonts", "ttf", name)


def report_pdf(data: ReportData) -> bytes:
    """The maturity report as an A4 PDF: a cover (region, cycle, index, predicate), the
    executive summary with the chart, the scores per dimension and element (or per member
    region), strengths, weaknesses with recommendations, and the methodology."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    # fontTools logs every font subset at INFO: one PDF would write a hundred log lines.
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    outline = report_outline(data)
    footer = f"SmartProv · {outline['place']} · {outline['cycle_name']}"

    class Document(FPDF):
        def footer(self) -> None:
            self.set_y(-13)
            self.set_font("DejaVu", "", 8)
            self.set_text_color(*_MUTED)
            page = _("Page %(page)s of %(pages)s") % {"page": self.page_no(), "pages": "{nb}"}
            self.cell(0, 5, f"{footer} · {page}", align="C")

    pdf = Document(orientation="portrait", unit="mm", format="A4")
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_font("DejaVu", "", _font_path())
    pdf.add_font("DejaVu", "B", _font_path(bold=True))
    pdf.set_title(outline["title"])
    pdf.set_author("SmartProv")
    pdf.set_creator("SmartProv")
    pdf.set_lang(get_language() or "id")
    pdf.set_creation_date(data.generated_at)

    def heading(text: str, size: float = 14) -> None:
        pdf.set_font("DejaVu", "B", size)
        pdf.set_text_color(*_BRAND_DARK)
        pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        pdf.set_text_color(0, 0, 0)

    def paragraph(text: str, size: float = 10, color=(0, 0, 0)) -> None:
        pdf.set_font("DejaVu", "", size)
        pdf.set_text_color(*color)
        pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1.5)
        pdf.set_text_color(0, 0, 0)

    # Cover
    pdf.add_page()
    pdf.set_fill_color(*_BRAND_DARK)
    pdf.rect(0, 0, pdf.w, 30, style="F")
    pdf.set_xy(18, 11)
    pdf.set_font("DejaVu", "B", 12)
    pdf.set_text_color(255, 255, 255)
    pdf.cell(0, 8, "SmartProv · " + _("Central Java Smart Province"))
    pdf.set_xy(18, 48)
    pdf.set_text_color(*_MUTED)
    pdf.set_font("DejaVu", "", 13)
    pdf.multi_cell(0, 7, _("Smart-province maturity report"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_text_color(*_BRAND_DARK)
    pdf.set_font("DejaVu", "B", 28)
    pdf.multi_cell(0, 13, outline["place"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 15)
    pdf.set_text_color(0, 0, 0)
    pdf.multi_cell(0, 8, outline["cycle_name"], new_x="LMARGIN", new_y="NEXT")
    pdf.ln(10)
    top = pdf.get_y()
    pdf.set_fill_color(*_WASH)
    pdf.set_draw_color(*_BRAND)
    pdf.rect(18, top, pdf.epw, 46, style="DF")
    pdf.set_xy(24, top + 5)
    pdf.set_font("DejaVu", "", 11)
    pdf.set_text_color(*_MUTED)
    pdf.cell(60, 6, _("Index (0–5)"))
    pdf.cell(0, 6, _("Predicate"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_xy(24, top + 12)
    pdf.set_text_color(*_BRAND_DARK)
    pdf.set_font("DejaVu", "B", 40)
    pdf.cell(60, 20, outline["index_text"])
    pdf.set_font("DejaVu", "B", 18)
    pdf.cell(0, 20, outline["predicate_label"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_xy(24, top + 34)
    pdf.set_font("DejaVu", "", 11)
    pdf.set_text_color(0, 0, 0)
    pdf.cell(
        0,
        6,
        _("Maturity level %(level)s · completeness %(percent)d%%")
        % {"level": outline["level_label"], "percent": outline["completeness_pct"]},
    )
    pdf.set_xy(18, top + 54)
    if outline["is_provisional"]:
        paragraph(
            _("PROVISIONAL: self-assessed levels, not verified. Not for publication."),
            size=12,
            color=_ALERT,
        )
    elif not outline["published"]:
        paragraph(_("Final, not published."), size=12, color=_ALERT)
    else:
        paragraph(
            _("Final · published %(date)s") % {"date": outline["published_on"]},
            size=12,
            color=_MUTED,
        )
    paragraph(
        _("Framework: %(framework)s · scoring engine %(engine)s")
        % {
            "framework": f"{data.framework_name} v{data.framework_version}",
            "engine": data.engine_version,
        },
        size=10,
        color=_MUTED,
    )

    # Executive summary and chart
    pdf.add_page()
    heading(_("Executive summary"))
    for text in outline["summary"]:
        paragraph(text)
    pdf.ln(2)
    chart = report_chart(data, image_format="png")
    pdf.image(io.BytesIO(chart), w=pdf.epw, alt_text=outline["chart_alt"])
    pdf.ln(4)

    # Scores
    heading(
        _("Scores per dimension and element")
        if not data.is_aggregate
        else _("Scores per dimension")
    )
    headings_style = FontFace(emphasis="BOLD", fill_color=_WASH)
    dimension_style = FontFace(emphasis="BOLD", fill_color=(230, 238, 247))
    pdf.set_font("DejaVu", "", 9)
    with pdf.table(
        col_widths=(20, 72, 16, 38, 28),
        text_align=("LEFT", "LEFT", "RIGHT", "LEFT", "LEFT"),
        headings_style=headings_style,
        line_height=5,
        repeat_headings=1,
    ) as table:
        table.row([_("Code"), _("Dimension / element"), _("Score"), _("Level"), _("Predicate")])
        for dimension in outline["dimensions"]:
            table.row(
                [
                    dimension["code"],
                    dimension["name"],
                    dimension["score_text"],
                    dimension["level_label"],
                    dimension["predicate_label"],
                ],
                style=dimension_style,
            )
            for element in dimension["elements"]:
                table.row(
                    [
                        element["code"],
                        "   " + element["name"],
                        element["score_text"],
                        element["level_label"],
                        "",
                    ]
                )
    if outline["members"]:
        pdf.ln(4)
        heading(_("Member regions"), size=12)
        pdf.set_font("DejaVu", "", 9)
        with pdf.table(
            col_widths=(20, 96, 18, 40),
            text_align=("LEFT", "LEFT", "RIGHT", "LEFT"),
            headings_style=headings_style,
            line_height=5,
        ) as table:
            table.row([_("Code"), _("Region"), _("Index"), _("Predicate")])
            for member in outline["members"]:
                table.row(
                    [
                        member["code"],
                        member["name"],
                        member["score_text"],
                        member["predicate_label"],
                    ]
                )

    # Strengths, weaknesses, recommendations
    pdf.ln(6)
    heading(_("Strengths"))
    for item in outline["strengths"]:
        paragraph(_item_line(item))
    pdf.ln(2)
    heading(_("Weaknesses and recommendations"))
    for item in outline["weaknesses"]:
        pdf.set_font("DejaVu", "B", 10)
        pdf.multi_cell(0, 5, _item_line(item), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
        for recommendation in item["recommendations"]:
            pdf.set_x(24)
            pdf.set_font("DejaVu", "B", 9)
            pdf.multi_cell(
                0,
                4.6,
                _("%(code)s %(name)s: from level %(level)d to %(next)s")
                % {
                    "code": recommendation["indicator_code"],
                    "name": recommendation["indicator_name"],
                    "level": recommendation["level"],
                    "next": recommendation["next_level_label"],
                },
                new_x="LMARGIN",
                new_y="NEXT",
            )
            pdf.set_x(24)
            pdf.set_font("DejaVu", "", 9)
            pdf.multi_cell(0, 4.6, recommendation["descriptor"], new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1.5)
        pdf.ln(1.5)
    if outline["recommendations_note"]:
        paragraph(outline["recommendations_note"], size=9, color=_MUTED)

    # Methodology and provenance
    pdf.ln(4)
    heading(_("Methodology"))
    for text in outline["methodology"]:
        paragraph(text, size=9.5)
    pdf.ln(3)
    heading(_("Provenance"), size=12)
    pdf.set_font("DejaVu", "", 8.5)
    with pdf.table(
        col_widths=(45, 129),
        first_row_as_headings=False,
        line_height=4.6,
        borders_layout="HORIZONTAL_LINES",
    ) as table:
        for label, value in outline["provenance"]:
            table.row([label, value])
    return bytes(pdf.output())


def _item_line(item: Mapping[str, Any]) -> str:
    where = f" ({item['parent_name']})" if item.get("parent_name") else ""
    return _("%(code)s %(name)s%(where)s: %(score)s, level %(level)s") % {
        "code": item["code"],
        "name": item["name"],
        "where": where,
        "score": item["score_text"],
        "level": item["level_label"],
    }


# --------------------------------------------------------------------------- small helpers


def title_for(place: str, cycle_name: str) -> str:
    return _("Smart-province maturity: %(place)s, %(cycle)s") % {
        "place": place,
        "cycle": cycle_name,
    }


def _title(data: ReportData) -> str:
    return title_for(data.place, data.cycle_name)


def _number(value: Any, decimals: int = 2) -> str:
    """A figure for people, in the active locale (2,60 in Indonesian, 2.60 in English)."""
    if value is None:
        return "—"
    return formats.number_format(value, decimals)


def _weight(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else formats.number_format(value)


def predicate_label(code: str | None) -> str:
    """The predicate's name in the active language (codes are data)."""
    try:
        return str(Predicate(code).label)
    except ValueError:
        return code or ""


def _kind_label(kind: str) -> str:
    try:
        return str(ReportKind(kind).label)
    except ValueError:
        return kind


def _level_label(level: Any) -> str:
    if level is None:
        return "—"
    level = int(level)
    if level == 0:
        return _("0 – Not yet (below level 1)")
    try:
        return str(MaturityLevel(level).label)
    except ValueError:
        return str(level)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _date(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return formats.date_format(moment, "DATE_FORMAT")


def _datetime(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return formats.date_format(moment, "DATETIME_FORMAT")
