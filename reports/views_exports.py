"""Public report pages and downloads: the printable maturity report, its PDF, workbook, CSV and
JSON, and the open-data index of every published snapshot.

Published snapshots are public and cacheable (their contents never change). Unpublished ones
answer 404 except to the province's staff and the region's coordinators, and are never cached
or indexed. Texts follow the URL's language (no prefix: Indonesian, /en/: English); the
open-data columns and codes do not.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.translation import get_language
from django.views.decorators.http import require_safe

from . import exports
from .models import MaturityReport
from .scoring import round_published
from .selectors_exports import (
    export_data,
    get_report_for_export,
    outlines_loaded,
    place_of,
    published_reports,
)

#: How long browsers and proxies may keep a published snapshot's files. The contents never
#: change; an hour bounds how long a superseded (unpublished) report stays in a cache.
PUBLIC_MAX_AGE = 3600

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json; charset=utf-8",
    "svg": "image/svg+xml",
}


def _content(data: exports.ReportData, file_format: str) -> bytes:
    if file_format == "pdf":
        return exports.report_pdf(data)
    if file_format == "xlsx":
        return exports.report_workbook(data)
    if file_format == "csv":
        return exports.report_csv(data).encode("utf-8")
    if file_format == "json":
        return exports.report_json(data).encode("utf-8")
    if file_format == "svg":
        return exports.report_chart(data, image_format="svg")
    raise ValueError(file_format)


def _cache_headers(response: HttpResponse, report: MaturityReport, *, public: bool) -> None:
    if report.published and public:
        patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE)
    elif report.published:
        patch_cache_control(response, private=True, max_age=0)
    else:
        add_never_cache_headers(response)
        patch_cache_control(response, private=True)
        response["X-Robots-Tag"] = "noindex"


def report_links(report: MaturityReport) -> dict[str, str]:
    """Root-relative URLs of a snapshot's page and files, in the active language."""
    return {
        name: reverse(f"exports:report_{name}", args=[report.pk])
        for name in ("html", "pdf", "xlsx", "csv", "json")
    }


@require_safe
def report_download(request: HttpRequest, pk: int, file_format: str) -> HttpResponse:
    """One export file of a snapshot, as an attachment named smartprov-<region>-<year>-<kind>.
    (The chart is served inline: the HTML page shows it.)"""
    report = get_report_for_export(user=request.user, pk=pk)
    data = export_data(report=report)
    response = HttpResponse(_content(data, file_format), content_type=CONTENT_TYPES[file_format])
    if file_format != "svg":
        filename = exports.export_filename(data, file_format)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    _cache_headers(response, report, public=True)
    return response


@require_safe
def report_html(request: HttpRequest, pk: int) -> HttpResponse:
    """The maturity report as a printable page, with the same sections as the PDF."""
    report = get_report_for_export(user=request.user, pk=pk)
    data = export_data(report=report)
    response = render(
        request,
        "reports/exports/report.html",
        {
            "outline": exports.report_outline(data),
            "links": report_links(report),
            "chart_url": reverse("exports:report_chart", args=[report.pk]),
        },
    )
    # The page carries the visitor's own header (name, CSRF token): never a shared cache.
    _cache_headers(response, report, public=False)
    return response


@require_safe
def open_data(request: HttpRequest) -> HttpResponse:
    """Every published snapshot with its files and versions, the methodology and the column
    dictionary of the open data."""
    reports = [
        {"report": report, "place": place_of(report), "links": report_links(report)}
        for report in published_reports()
    ]
    return render(
        request,
        "reports/exports/open_data.html",
        {
            "reports": reports,
            "methodology": exports.methodology(),
            "columns": exports.COLUMNS,
            "format_version": exports.FORMAT_VERSION,
            "bands": [
                (exports.predicate_label(code), low, high)
                for code, low, high in reversed(exports.PREDICATE_BANDS)
            ],
            "catalog_url": reverse("exports:open_data_catalog"),
            # The map as GeoJSON, once an administrator has loaded region outlines.
            "map_geojson_url": (
                reverse("public:map_geojson") if reports and outlines_loaded() else ""
            ),
        },
    )


@require_safe
def open_data_catalog(request: HttpRequest) -> HttpResponse:
    """The open-data index as JSON, for harvesting by a data portal (Satu Data): one entry per
    published snapshot with its versions and the absolute URLs of its files."""
    datasets = []
    for report in published_reports():
        links = report_links(report)
        datasets.append(
            {
                "report_id": report.pk,
                "title": exports.title_for(place_of(report), report.cycle.name),
                "region_code": report.region.code if report.region_id else "",
                "region_name": place_of(report),
                "cycle": {
                    "id": report.cycle_id,
                    "name": report.cycle.name,
                    "year": report.cycle.year,
                },
                "kind": report.kind,
                "published_at": report.published_at.isoformat() if report.published_at else None,
                "framework": {
                    "slug": report.framework.slug,
                    "name": report.framework.name,
                    "version": report.framework.version,
                },
                "engine_version": report.engine_version,
                "input_hash": report.input_hash,
                "index_rounded": round_published(report.index),
                "predicate": report.predicate,
                "distributions": [
                    {
                        "format": name.upper(),
                        "media_type": CONTENT_TYPES.get(name, "text/html").split(";")[0],
                        "url": request.build_absolute_uri(url),
                    }
                    for name, url in links.items()
                ],
            }
        )
    document = {
        "format": "smartprov-open-data-catalog",
        "format_version": exports.FORMAT_VERSION,
        "language": get_language(),
        "publisher": "Diskominfo Provinsi Jawa Tengah",
        "methodology": "\n\n".join(exports.methodology()),
        "datasets": datasets,
    }
    response = HttpResponse(
        json.dumps(document, ensure_ascii=False, indent=2),
        content_type=CONTENT_TYPES["json"],
    )
    patch_cache_control(response, public=True, max_age=300)
    return response
