"""Reads of the public pages: published snapshots only, in a constant number of queries.

Nothing here can return an unpublished or provisional snapshot: every snapshot read starts
from `MaturityReport.objects.published()` (and the model refuses to publish anything but a
final snapshot). The pages first read `published_rows()`, one light query over every
published snapshot (no results JSON); its ids also make the cache key, so publishing or
unpublishing anything changes the key of every public page. Only then, on a cache miss, are
the results of the few snapshots a page shows loaded, again in one query.

Each function issues one query (noted where it is more), whatever the number of regions,
agencies and cycles.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.http import Http404

from dimensions.models import Element, FrameworkVersion, LevelDescriptor
from dimensions.selectors import current_framework, framework_tree
from regions.choices import RegionKind
from regions.models import Agency, AgencyElementRole, Region, RegionBoundary

from .models import MaturityReport


@dataclass(frozen=True)
class PublishedRow:
    """The headline of one published snapshot (no results): enough to list cycles, pick the
    snapshots a page needs, draw trends and compare regions."""

    pk: int
    cycle_id: int
    cycle_name: str
    cycle_year: int
    cycle_starts_on: datetime.date
    lineage: str
    framework_id: int
    region_code: str | None  # None: the Semarang Raya aggregate
    region_name: str
    index_rounded: float
    predicate: str
    engine_version: str

    @property
    def is_aggregate(self) -> bool:
        return self.region_code is None


@dataclass(frozen=True)
class PublishedCycle:
    pk: int
    name: str
    year: int
    starts_on: datetime.date
    lineage: str
    framework_id: int


def published_rows() -> list[PublishedRow]:
    """Every published snapshot's headline, newest cycle first (one query)."""
    rows = (
        MaturityReport.objects.published()
        .order_by("-cycle__year", "-cycle__starts_on", "-cycle_id", "region__code")
        .values_list(
            "pk",
            "cycle_id",
            "cycle__name",
            "cycle__year",
            "cycle__starts_on",
            "cycle__framework__slug",
            "framework_id",
            "region__code",
            "region__name",
            "results__summary__index_rounded",
            "predicate",
            "engine_version",
        )
    )
    return [
        PublishedRow(
            pk=pk,
            cycle_id=cycle_id,
            cycle_name=cycle_name,
            cycle_year=year,
            cycle_starts_on=starts_on,
            lineage=lineage,
            framework_id=framework_id,
            region_code=code,
            region_name=name or "",
            index_rounded=float(rounded),
            predicate=predicate,
            engine_version=engine_version,
        )
        for (
            pk,
            cycle_id,
            cycle_name,
            year,
            starts_on,
            lineage,
            framework_id,
            code,
            name,
            rounded,
            predicate,
            engine_version,
        ) in rows
    ]


def published_digest(rows: Sequence[PublishedRow]) -> str:
    """A short digest of which snapshots are published: part of every public cache key, so
    a publication (or its withdrawal) makes new keys and the old entries are never read."""
    ids = ",".join(str(pk) for pk in sorted(row.pk for row in rows))
    return hashlib.sha256(ids.encode()).hexdigest()[:16]


def published_cycles(rows: Iterable[PublishedRow]) -> list[PublishedCycle]:
    """The cycles with at least one of `rows`, newest first (no query)."""
    seen: dict[int, PublishedCycle] = {}
    for row in rows:
        seen.setdefault(
            row.cycle_id,
            PublishedCycle(
                pk=row.cycle_id,
                name=row.cycle_name,
                year=row.cycle_year,
                starts_on=row.cycle_starts_on,
                lineage=row.lineage,
                framework_id=row.framework_id,
            ),
        )
    return sorted(seen.values(), key=lambda c: (c.year, c.starts_on, c.pk), reverse=True)


def published_summaries(pks: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The stored `summary` of each of these snapshots, if published (one query)."""
    rows = (
        MaturityReport.objects.published()
        .filter(pk__in=list(pks))
        .values_list("pk", "results__summary")
    )
    return {pk: summary or {} for pk, summary in rows}


def published_tables(pk: int) -> dict[str, list[dict[str, Any]]]:
    """The stored tidy tables of one published snapshot (one query); 404 if unpublished."""
    tables = (
        MaturityReport.objects.published()
        .filter(pk=pk)
        .values_list("results__tables", flat=True)
        .first()
    )
    if tables is None:
        raise Http404
    return tables


def get_published_report(pk: int) -> MaturityReport:
    """One published snapshot with its cycle and region; anything else does not exist."""
    try:
        return MaturityReport.objects.published().select_related("cycle", "region").get(pk=pk)
    except MaturityReport.DoesNotExist:
        raise Http404 from None


def get_region(code: str) -> Region:
    """A regency or city by its plain Kemendagri code (the province is not assessed)."""
    try:
        return Region.objects.exclude(kind=RegionKind.PROVINCE).get(code=code)
    except Region.DoesNotExist:
        raise Http404 from None


def region_boundaries(codes: list[str]) -> dict[str, tuple[dict, str]]:
    """Region code → (outline, source) of the given regions that have one (one query)."""
    rows = RegionBoundary.objects.filter(region__code__in=codes).values_list(
        "region__code", "geometry", "source"
    )
    return {code: (geometry, source) for code, geometry, source in rows}


def framework_elements(framework_id: int) -> list[Element]:
    """The framework's elements with their dimensions, in framework order, names in the
    active language (one query)."""
    return list(
        Element.objects.filter(dimension__framework_id=framework_id)
        .select_related("dimension")
        .order_by("dimension__order", "dimension__code", "order", "code")
    )


def next_level_descriptors(
    *, framework_id: int, wanted: dict[str, int]
) -> dict[str, list[LevelDescriptor]]:
    """For each element code, the descriptors of the level `wanted[code]` of its indicators:
    what must become true to reach the next level (one query)."""
    condition = Q()
    for code, level in wanted.items():
        condition |= Q(indicator__element__code=code, level=level)
    if not wanted:
        return {}
    descriptors = (
        LevelDescriptor.objects.filter(indicator__element__dimension__framework_id=framework_id)
        .filter(condition)
        .select_related("indicator__element")
        .order_by("indicator__element__code", "indicator__order", "indicator__code")
    )
    found: dict[str, list[LevelDescriptor]] = {code: [] for code in wanted}
    for descriptor in descriptors:
        found[descriptor.indicator.element.code].append(descriptor)
    return found


def agency_names(region: Region) -> dict[str, str]:
    """Agency slug → short name, for the agencies of a region (one query)."""
    return dict(Agency.objects.filter(region=region).values_list("slug", "short_name"))


@dataclass(frozen=True)
class RoleMap:
    framework: FrameworkVersion | None
    elements: list[Element]
    agencies: list[Agency]
    roles: dict[tuple[int, str], str]  # (agency id, element code) → role


def role_map(region: Region) -> RoleMap:
    """The agency × element map of a region for the framework in use (four queries)."""
    framework = current_framework()
    elements = framework_elements(framework.pk) if framework else []
    agencies = list(Agency.objects.filter(region=region, is_active=True).order_by("short_name"))
    roles = {
        (agency_id, code): role
        for agency_id, code, role in AgencyElementRole.objects.filter(region=region).values_list(
            "agency_id", "element_code", "role"
        )
    }
    return RoleMap(framework=framework, elements=elements, agencies=agencies, roles=roles)


def methodology_framework(framework_id: int | None):
    """The framework a methodology page explains (that of the latest published snapshot, or
    the one in use) with its whole tree: five queries."""
    framework = (
        FrameworkVersion.objects.filter(pk=framework_id).first()
        if framework_id is not None
        else current_framework()
    )
    if framework is None:
        return None, []
    return framework, list(framework_tree(framework=framework))
