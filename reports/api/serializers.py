"""What the API shows of report builds, snapshots and open data, and what it accepts to start a
build.

Output field names are a contract (shared/contracts.md): a report carries exactly `id`,
`region`, `cycle`, `framework`, `engine_version`, `input_hash`, `kind`, `published`, `index`,
`predicate`, `completeness`, `dimensions` and `links`. Regions are plain Kemendagri codes
(`null` for the Semarang Raya aggregate), dimensions and elements framework codes. Every figure
comes from the stored snapshot: the API computes nothing.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from assessments.models import Cycle
from regions.models import Region
from smartprov.api.converters import RegionCodeConverter
from smartprov.api.fields import NamedChoiceField

from ..choices import Predicate, ReportKind, RunState, RunTrigger
from ..exports import neutralise_cell
from ..models import MaturityReport, ReportRun
from ..scoring import round_published

#: The snapshot's downloads, by the `exports:report_<name>` URL names of reports/urls_exports.py.
EXPORT_FORMATS: tuple[str, ...] = ("html", "pdf", "xlsx", "csv", "json")


def report_links(report_id: int) -> dict[str, str]:
    """Root-relative URLs of a snapshot's page and files.

    Reversed in the default language (no prefix), so that a link does not depend on the
    language the API was read in; the page itself offers the language switch.
    """
    with translation.override(settings.LANGUAGE_CODE):
        return {
            name: reverse(f"exports:report_{name}", args=[report_id]) for name in EXPORT_FORMATS
        }


# ----------------------------------------------------------------------------- reports


class ReportElementSerializer(serializers.Serializer):
    code = serializers.CharField(help_text=_("Element code, e.g. GOV-SVC."))
    score = serializers.FloatField(help_text=_("Score on 0–5 at full precision."))


class ReportDimensionSerializer(serializers.Serializer):
    code = serializers.CharField(help_text=_("Dimension code, e.g. GOV."))
    score = serializers.FloatField(help_text=_("Score on 0–5 at full precision."))
    level = serializers.IntegerField(
        min_value=0, max_value=5, help_text=_("Maturity level: the score rounded down (0–5).")
    )
    elements = ReportElementSerializer(
        many=True, help_text=_("The dimension's elements (empty for Semarang Raya).")
    )


class ReportLinksSerializer(serializers.Serializer):
    html = serializers.CharField(help_text=_("The printable report page (root-relative URL)."))
    pdf = serializers.CharField(help_text=_("The report as a PDF."))
    xlsx = serializers.CharField(help_text=_("The Excel workbook."))
    csv = serializers.CharField(help_text=_("Open data, CSV."))
    json = serializers.CharField(help_text=_("Open data, JSON with metadata."))


class ReportSerializer(serializers.ModelSerializer):
    """A stored, immutable snapshot of the scores of one region, or of Semarang Raya, in one
    cycle."""

    # Reads `snapshot_summary` (the `summary` key of the snapshot's results), which
    # `reports.api.views.report_queryset` annotates so that the engine's tables, the bulk of a
    # snapshot, are never loaded for a list.

    region = serializers.CharField(
        source="region.code",
        read_only=True,
        allow_null=True,
        help_text=_("Plain region code, e.g. 3374; null for the Semarang Raya aggregate."),
    )
    kind = NamedChoiceField(ReportKind, read_only=True)
    predicate = NamedChoiceField(Predicate, read_only=True)
    index = serializers.FloatField(
        read_only=True, help_text=_("0–5 at full precision; published to 2 decimals, half up.")
    )
    completeness = serializers.FloatField(
        read_only=True, help_text=_("Share of indicators answered, 0–1.")
    )
    dimensions = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = MaturityReport
        fields = [
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
        ]
        read_only_fields = fields

    @extend_schema_field(ReportDimensionSerializer(many=True))
    def get_dimensions(self, report: MaturityReport) -> list[dict[str, Any]]:
        return [
            {
                "code": dimension["code"],
                "score": dimension["score"],
                "level": dimension["level"],
                "elements": [
                    {"code": element["code"], "score": element["score"]}
                    for element in dimension.get("elements", [])
                ],
            }
            for dimension in report.snapshot_summary.get("dimensions", [])
        ]

    @extend_schema_field(ReportLinksSerializer)
    def get_links(self, report: MaturityReport) -> dict[str, str]:
        return report_links(report.pk)


# ----------------------------------------------------------------------------- builds


class ReportRunSerializer(serializers.ModelSerializer):
    region = serializers.CharField(
        source="region.code",
        read_only=True,
        allow_null=True,
        help_text=_("Plain region code; null: every region of the cycle and Semarang Raya."),
    )
    trigger = NamedChoiceField(RunTrigger, read_only=True)
    kind = NamedChoiceField(ReportKind, read_only=True)
    state = NamedChoiceField(RunState, read_only=True)
    progress = serializers.IntegerField(
        read_only=True, min_value=0, max_value=100, help_text=_("0–100.")
    )
    reports = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text=_("Ids of the snapshots the build stored or found.")
    )

    class Meta:
        model = ReportRun
        fields = [
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
        ]
        read_only_fields = fields


class ReportRunCreateSerializer(serializers.Serializer):
    """POST /report-runs/: what `reports.services.report_run_start` needs."""

    cycle = serializers.PrimaryKeyRelatedField(
        queryset=Cycle.objects.all(), help_text=_("Cycle id.")
    )
    region = serializers.RegexField(
        f"^{RegionCodeConverter.regex}$",
        max_length=10,
        required=False,
        allow_null=True,
        help_text=_(
            "Plain region code, e.g. 3374; left out or null: every region of the cycle and "
            "the Semarang Raya aggregate."
        ),
    )
    kind = NamedChoiceField(ReportKind)

    def validate_region(self, code: str | None) -> Region | None:
        if code is None:
            return None
        region = Region.objects.filter(code=code).first()
        if region is None:
            raise serializers.ValidationError(_("There is no region with this code."))
        return region


# ----------------------------------------------------------------------------- open data


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of the open-data scores table (CSV header, JSON record key)."""

    name: str
    type: str  # integer, number or text
    description: Any  # a lazy translation
    nullable: bool = False


#: The open-data scores table, in CSV order. The names are a contract (docs/api.md): add
#: columns at the end and bump OPEN_DATA_FORMAT_VERSION; never rename or reorder one.
OPEN_DATA_COLUMNS: tuple[Column, ...] = (
    Column("report_id", "integer", _("Id of the published snapshot (GET /api/v1/reports/{id}/).")),
    Column("cycle_id", "integer", _("Id of the assessment cycle.")),
    Column("cycle_year", "integer", _("Year of the assessment cycle.")),
    Column("cycle_name", "text", _("Name of the assessment cycle.")),
    Column(
        "region_code",
        "text",
        _("Plain Kemendagri code (e.g. 3374); empty (null) for the Semarang Raya aggregate."),
        nullable=True,
    ),
    Column("region_name", "text", _("Name of the region, or Semarang Raya.")),
    Column("aggregation", "text", _("Level of aggregation of the row: index, dimension, element.")),
    Column(
        "code",
        "text",
        _("Code of the row's dimension or element (GOV, GOV-SVC); empty for index rows."),
        nullable=True,
    ),
    Column(
        "dimension_code",
        "text",
        _("Dimension the row belongs to (dimension and element rows)."),
        nullable=True,
    ),
    Column("name_id", "text", _("Name of the dimension or element in Indonesian."), nullable=True),
    Column(
        "name_en",
        "text",
        _("Name of the dimension or element in English (empty if not translated)."),
        nullable=True,
    ),
    Column("score", "number", _("Score on 0–5 at full precision.")),
    Column("score_rounded", "number", _("Published figure: 2 decimals, rounded half up.")),
    Column("level", "integer", _("Maturity level: the score rounded down, 0 = below level 1.")),
    Column(
        "predicate",
        "text",
        _("kurang, cukup, baik, sangat_baik or memuaskan (index and dimension rows)."),
        nullable=True,
    ),
    Column(
        "completeness",
        "number",
        _("Share of indicators answered, 0–1 (empty for Semarang Raya dimension rows)."),
        nullable=True,
    ),
    Column("framework_slug", "text", _("Lineage of the framework.")),
    Column("framework_version", "integer", _("Version of the framework.")),
    Column("engine_version", "text", _("Version of the scoring engine.")),
    Column("input_hash", "text", _("SHA-256 of the snapshot's inputs (recomputation).")),
    Column("published_at", "text", _("When the snapshot was published (ISO 8601).")),
)
OPEN_DATA_COLUMN_NAMES: tuple[str, ...] = tuple(column.name for column in OPEN_DATA_COLUMNS)
OPEN_DATA_FORMAT = "smartprov-open-data-scores"
OPEN_DATA_FORMAT_VERSION = 1

_FIELD_CLASSES = {
    "integer": serializers.IntegerField,
    "number": serializers.FloatField,
    "text": serializers.CharField,
}

#: The schema of one row, made from OPEN_DATA_COLUMNS so that the two never disagree.
OpenDataScoreSerializer = type(
    "OpenDataScoreSerializer",
    (serializers.Serializer,),
    {
        column.name: _FIELD_CLASSES[column.type](
            allow_null=column.nullable, help_text=column.description
        )
        for column in OPEN_DATA_COLUMNS
    },
)


class OpenDataColumnSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField(help_text=_("integer, number or text."))
    description = serializers.CharField()


class OpenDataMetadataSerializer(serializers.Serializer):
    format = serializers.CharField(help_text=OPEN_DATA_FORMAT)
    format_version = serializers.IntegerField()
    title = serializers.CharField()
    publisher = serializers.CharField()
    language = serializers.CharField(help_text=_("Language of the descriptions (id or en)."))
    columns = OpenDataColumnSerializer(many=True)


@extend_schema_serializer(many=False)
class OpenDataScoresSerializer(serializers.Serializer):
    metadata = OpenDataMetadataSerializer()
    data = OpenDataScoreSerializer(many=True)


def open_data_metadata() -> dict[str, Any]:
    """The table's metadata, with the column dictionary in the active language."""
    return {
        "format": OPEN_DATA_FORMAT,
        "format_version": OPEN_DATA_FORMAT_VERSION,
        "title": str(_("Published smart-province maturity scores, Central Java")),
        "publisher": "Diskominfo Provinsi Jawa Tengah",
        "language": translation.get_language(),
        "columns": [
            {"name": column.name, "type": column.type, "description": str(column.description)}
            for column in OPEN_DATA_COLUMNS
        ],
    }


def open_data_rows(
    reports: Iterable[MaturityReport],
    names: Mapping[int, Mapping[str, tuple[str | None, str | None]]],
) -> list[dict[str, Any]]:
    """One record per published snapshot × (index, each dimension, each element).

    `reports` are published snapshots with their cycle, region and framework loaded and the
    `snapshot_summary` annotation; `names` maps a framework id to the Indonesian and English
    names of its dimensions and elements, by code.
    """
    rows: list[dict[str, Any]] = []
    for report in reports:
        summary = report.snapshot_summary
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
            "published_at": report.published_at.isoformat() if report.published_at else None,
        }
        framework_names = names.get(report.framework_id, {})
        rows.append(_row(common, framework_names, "index", summary))
        for dimension in summary.get("dimensions", []):
            code = dimension["code"]
            rows.append(_row(common, framework_names, "dimension", dimension, code, code))
            for element in dimension.get("elements", []):
                rows.append(
                    _row(common, framework_names, "element", element, element["code"], code)
                )
    return rows


def _row(
    common: Mapping[str, Any],
    names: Mapping[str, tuple[str | None, str | None]],
    aggregation: str,
    figures: Mapping[str, Any],
    code: str | None = None,
    dimension: str | None = None,
) -> dict[str, Any]:
    """One record in column order. The index row reads the summary's `index` figures; the
    engine rounds elements to no published figure, so theirs is rounded here, its own way."""
    name_id, name_en = names.get(code, (None, None)) if code else (None, None)
    score = float(figures["score"] if "score" in figures else figures["index"])
    rounded = figures.get("score_rounded", figures.get("index_rounded"))
    record = {
        **common,
        "aggregation": aggregation,
        "code": code,
        "dimension_code": dimension,
        "name_id": name_id,
        "name_en": name_en,
        "score": score,
        "score_rounded": round_published(score) if rounded is None else float(rounded),
        "level": figures.get("level"),
        "predicate": figures.get("predicate"),
        "completeness": figures.get("completeness"),
    }
    return {name: record[name] for name in OPEN_DATA_COLUMN_NAMES}


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same float
    if isinstance(value, str):
        return neutralise_cell(value)
    return str(value)


def open_data_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """RFC 4180 CSV (comma, dot decimals, CRLF), one header row of the column names; every
    text cell neutralised against formula injection (`reports.exports.neutralise_cell`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(OPEN_DATA_COLUMN_NAMES)
    for row in rows:
        writer.writerow([_csv_value(row[name]) for name in OPEN_DATA_COLUMN_NAMES])
    return buffer.getvalue()
