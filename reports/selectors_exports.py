"""Reads of the report exports: which snapshots a visitor may download, and everything one
export shows, in a bounded number of queries whatever the size of the framework.

Published snapshots are public. An unpublished one (provisional, or final but not published)
exists only for the province's staff (administrators, reviewers) and for the coordinators of
its region; for anyone else it is a 404, as if it did not exist.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from django.db.models import F, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from assessments.permissions import Scope, scope_for
from dimensions.models import Element, LevelDescriptor
from regions.models import Agency, Region, RegionBoundary

from . import exports, scoring
from .choices import KIND_BASIS
from .models import MaturityReport
from .selectors import answers_frame, framework_frame

#: Indicators recommended per weak element (the lowest ones, by code).
RECOMMENDATIONS_PER_ELEMENT = 2


def may_see_unpublished(scope: Scope, report: MaturityReport) -> bool:
    """Staff of the province, and the coordinators of the report's own region."""
    if scope.is_admin or scope.is_reviewer:
        return True
    return report.region_id is not None and report.region_id in scope.coordinator_regions


def get_report_for_export(*, user, pk: int) -> MaturityReport:
    """A snapshot that `user` may read (one query; one more for a signed-in user's roles when
    the snapshot is not published), or 404."""
    report = (
        MaturityReport.objects.select_related("cycle", "region", "framework").filter(pk=pk).first()
    )
    if report is None:
        raise Http404
    if not report.published and not may_see_unpublished(scope_for(user), report):
        raise Http404
    return report


def published_reports() -> list[MaturityReport]:
    """Every published snapshot, newest cycle first, Semarang Raya before its regions (one
    query)."""
    return list(
        MaturityReport.objects.published()
        .select_related("cycle", "region", "framework")
        .order_by(
            "-cycle__year",
            "-cycle__starts_on",
            F("region__code").asc(nulls_first=True),
        )
    )


def place_of(report: MaturityReport) -> str:
    return report.region.name if report.region_id else _("Semarang Raya")


def export_data(
    *, report: MaturityReport, generated_at: datetime | None = None
) -> exports.ReportData:
    """Everything the exports of `report` show (`report` with its cycle, region and framework
    loaded, as `get_report_for_export` returns it). Queries: names of the framework's elements
    and dimensions (1); for a region its agencies (1) and, for the recommendations, the
    framework's indicators (1), the region's answers (1) and the next-level descriptors (1);
    for Semarang Raya the member regions' names (1)."""
    labels: dict[str, str] = {}
    order: dict[str, int] = {}
    elements = (
        Element.objects.filter(dimension__framework_id=report.framework_id)
        .select_related("dimension")
        .order_by("dimension__order", "dimension__code", "order", "code")
    )
    for element in elements:
        dimension = element.dimension
        if dimension.code not in order:
            order[dimension.code] = len(order)
            labels[dimension.code] = dimension.name
        order[element.code] = len(order)
        labels[element.code] = element.name

    agencies: dict[str, tuple[str, str]] = {}
    if report.region_id is None:
        members = [row["region"] for row in report.summary.get("regions", [])]
        labels.update(Region.objects.filter(code__in=members).values_list("code", "name"))
    else:
        agencies = {
            slug: (short_name, name)
            for slug, short_name, name in Agency.objects.filter(
                region_id=report.region_id
            ).values_list("slug", "short_name", "name")
        }
    data = exports.ReportData(
        report_id=report.pk,
        kind=report.kind,
        published=report.published,
        published_at=report.published_at,
        created_at=report.created_at,
        generated_at=generated_at or timezone.now(),
        region_code=report.region.code if report.region_id else None,
        place=place_of(report),
        cycle_id=report.cycle_id,
        cycle_name=report.cycle.name,
        cycle_year=report.cycle.year,
        framework_slug=report.framework.slug,
        framework_name=report.framework.name,
        framework_version=report.framework.version,
        engine_version=report.engine_version,
        input_hash=report.input_hash,
        weights=report.weights,
        results=report.results,
        index=report.index,
        predicate=report.predicate,
        completeness=report.completeness,
        labels=labels,
        order=order,
        agencies=agencies,
    )
    if report.region_id is None:
        return data
    return _with_recommendations(report, data)


def _with_recommendations(report: MaturityReport, data: exports.ReportData) -> exports.ReportData:
    """Add the next-level descriptors of the weakest indicators of the weakest elements.

    A snapshot keeps element scores, not indicator levels, so the levels are read from the
    answers, and trusted only if they are exactly what the snapshot scored: the hash of the
    region's answers must equal the snapshot's input hash (a reopened assessment changes it).
    """
    _strengths, weaknesses = exports.ranked(data)
    if not weaknesses:
        return data
    framework, _weights = framework_frame(framework_id=report.framework_id)
    answers = answers_frame(cycle=report.cycle, kind=report.kind, region_codes=[data.region_code])
    if scoring.input_hash(answers, framework) != report.input_hash:
        return dataclasses.replace(data, recommendations_available=False)
    column = "final_level" if KIND_BASIS[report.kind] == "final" else "self_level"
    picked = exports.pick_weak_indicators(
        levels=dict(zip(answers["indicator"], answers[column], strict=True)),
        element_of=dict(zip(framework["indicator"], framework["element"], strict=True)),
        elements=[item["code"] for item in weaknesses],
        per_element=RECOMMENDATIONS_PER_ELEMENT,
    )
    if not picked:
        return data
    wanted = Q()
    for _element, indicator, _level, next_level in picked:
        wanted |= Q(indicator__code=indicator, level=next_level)
    descriptors = {
        (descriptor.indicator.code, descriptor.level): descriptor
        for descriptor in LevelDescriptor.objects.filter(
            wanted, indicator__element__dimension__framework_id=report.framework_id
        ).select_related("indicator")
    }
    recommendations = []
    for element, indicator, level, next_level in picked:
        descriptor = descriptors.get((indicator, next_level))
        if descriptor is None:
            continue
        recommendations.append(
            exports.Recommendation(
                element_code=element,
                indicator_code=indicator,
                indicator_name=descriptor.indicator.name,
                level=level,
                next_level=next_level,
                descriptor=descriptor.descriptor,
            )
        )
    return dataclasses.replace(data, recommendations=tuple(recommendations))


def outlines_loaded() -> bool:
    """Whether a region with a published snapshot has an outline (the map's GeoJSON exists
    for some published cycle)."""
    return RegionBoundary.objects.filter(region__reports__published=True).exists()
