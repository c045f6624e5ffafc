"""Public pages: published results for Semarang Raya, each region and each dimension.

For citizens, journalists and council members, without login. Everything shown comes from
published snapshots (`reports.selectors_public`); a cycle or snapshot that is not published
answers 404, exactly like one that does not exist.

Each page's data (headline figures, charts with their tables, lists) is computed once per
language and per set of published snapshots and kept in Django's cache: the key holds a digest
of the published snapshot ids, so publishing a new snapshot (or withdrawing one) makes new keys
and never serves a stale page. Only the data is cached, not the HTML, because the page carries
the visitor's CSRF token (language switcher, logout).

Every chart has an id within its page (`radar`, `regions`, ...). The same chart is drawn on its
page, served alone for embedding (`public:embed`, framable from anywhere) and as CSV of
exactly its numbers (`public:chart_csv`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import statistics
from collections.abc import Callable
from typing import Any

from csp.decorators import csp_replace
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language, gettext, pgettext
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from dimensions.choices import MaturityLevel
from regions.choices import AgencyRole
from regions.models import Region
from smartprov import public_cache
from smartprov.public_cache import public_page

from . import charts, scoring
from . import selectors_public as public
from .choices import Predicate
from .selectors_public import PublishedCycle, PublishedRow

logger = logging.getLogger(__name__)

#: Bump when the shape of the cached page data changes, so old entries are never read.
CACHE_VERSION = 1
#: Published data and reference data (through the public cache's generation) change the key;
#: the timeout bounds how long an edit that no signal saw stays unseen.
CACHE_SECONDS = 6 * 3600

#: SPBE predicates: one set of labels for the whole portal (reports.choices.Predicate).
PREDICATE_LABELS = dict(Predicate.choices)

#: Plotly's `separators` (decimal mark, then thousands mark) per language.
SEPARATORS = {"id": ",.", "en": ".,"}

#: A schematic tile grid of Semarang Raya, (row, column) by plain Kemendagri code: Kendal to
#: the west of Kota Semarang, Demak to the east, Kabupaten Semarang to the south and Kota
#: Salatiga, enclosed by it, further south. Regions not listed go on a row below.
TILE_POSITIONS: dict[str, tuple[int, int]] = {
    "3324": (0, 0),
    "3374": (0, 1),
    "3321": (0, 2),
    "3322": (1, 1),
    "3373": (2, 1),
}

STRENGTHS = WEAKNESSES = 3


# --------------------------------------------------------------------------- small helpers


def predicate_label(code: str | None) -> str:
    return str(PREDICATE_LABELS.get(code or "", code or ""))


def level_label(level: int) -> str:
    if level < 1:
        return gettext("0 – Not yet at level 1")
    return str(MaturityLevel(min(level, 5)).label)


def _separators() -> str:
    return SEPARATORS.get((get_language() or "id")[:2], ".,")


def _published(value: float | None) -> float | None:
    """The published figure of a score: two decimals, rounded half up (scoring.md)."""
    return None if value is None else float(scoring.round_published(value))


def _cycle_param(request: HttpRequest) -> int | None:
    raw = request.GET.get("cycle")
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise Http404 from None


def _pick_cycle(cycles: list[PublishedCycle], cycle_id: int | None) -> PublishedCycle:
    """The cycle asked for, which must be among the published ones; else the latest."""
    if cycle_id is None:
        return cycles[0]
    for cycle in cycles:
        if cycle.pk == cycle_id:
            return cycle
    raise Http404


def _previous_cycle(cycles: list[PublishedCycle], cycle: PublishedCycle) -> PublishedCycle | None:
    """The published cycle before `cycle` in the same framework lineage (trends across
    lineages would compare different questions)."""
    older = [
        c
        for c in cycles
        if c.lineage == cycle.lineage
        and (c.year, c.starts_on, c.pk) < (cycle.year, cycle.starts_on, cycle.pk)
    ]
    return max(older, key=lambda c: (c.year, c.starts_on, c.pk), default=None)


def _chart_urls(chart: charts.Chart, page: str, code: str | None, cycle_id: int | None) -> dict:
    """The chart with the links to its embeddable page and its CSV, keeping the cycle that
    was asked for (an embed of "the latest" follows new publications; one with ?cycle=
    stays on that cycle)."""
    args = [page, chart["id"]] if code is None else [page, code, chart["id"]]
    query = f"?{urlencode({'cycle': cycle_id})}" if cycle_id is not None else ""
    return {
        **chart,
        "dom_id": f"chart-{chart['id']}",
        "data_id": f"chart-{chart['id']}-data",
        "csv_url": reverse("public:chart_csv", args=args) + query,
        "embed_url": reverse("public:embed", args=args) + query,
    }


def _cached(page: str, parts: list[Any], build: Callable[[list[PublishedRow]], dict]) -> dict:
    """The page's data from the cache, or built and stored. One query (the published rows)
    on a hit; the builder's few more on a miss. An unreachable cache costs speed only."""
    rows = public.published_rows()
    try:
        # Reference data (names, roles, outlines) changes the generation, not the digest.
        token = public_cache.generation()
        if token is None:  # a cache that keeps nothing
            return build(rows)
        raw = ":".join(
            [
                str(CACHE_VERSION),
                page,
                *(str(p) for p in parts),
                get_language() or "",
                public.published_digest(rows),
                token,
            ]
        )
        key = "public-page:" + hashlib.sha256(raw.encode()).hexdigest()
        data = cache.get(key)
    except Exception:
        logger.warning("page data cache unavailable", exc_info=True)
        return build(rows)
    if data is None:
        data = build(rows)
        with contextlib.suppress(Exception):  # not stored: built again next time
            cache.set(key, data, CACHE_SECONDS)
    return data


def _dimension_labels(elements) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """(dimension code, name) in framework order, and element code → name."""
    dimensions: dict[str, str] = {}
    names: dict[str, str] = {}
    for element in elements:
        dimensions.setdefault(element.dimension.code, element.dimension.name)
        names[element.code] = element.name
    return list(dimensions.items()), names


def _element_scores(summary: dict) -> dict[str, float]:
    return {
        element["code"]: element["score"]
        for dimension in summary.get("dimensions", [])
        for element in dimension.get("elements", [])
    }


def _dimension_scores(summary: dict) -> dict[str, float]:
    return {d["code"]: d.get("score_rounded", d["score"]) for d in summary.get("dimensions", [])}


def _region_link(row: PublishedRow, cycle_id: int | None = None) -> dict:
    url = reverse("public:region", args=[row.region_code])
    if cycle_id is not None:
        url += f"?{urlencode({'cycle': cycle_id})}"
    return {
        "code": row.region_code,
        "name": row.region_name,
        "index": row.index_rounded,
        "predicate": predicate_label(row.predicate),
        "url": url,
    }


def _with_aggregate(categories: list[str], values: list, aggregate: PublishedRow | None):
    if aggregate is None:
        return categories, values
    return [*categories, gettext("Semarang Raya")], [*values, aggregate.index_rounded]


# --------------------------------------------------------------------------- page data


def home_data(rows: list[PublishedRow], cycle_id: int | None) -> dict:
    """Semarang Raya at a glance: its index and predicate, its six dimensions, the regions
    side by side and what changed since the previous published cycle."""
    cycles = public.published_cycles(rows)
    if not cycles:
        if cycle_id is not None:
            raise Http404
        return {"published": False, "charts": {}}
    cycle = _pick_cycle(cycles, cycle_id)
    in_cycle = [row for row in rows if row.cycle_id == cycle.pk]
    aggregate = next((row for row in in_cycle if row.is_aggregate), None)
    regions = [row for row in in_cycle if not row.is_aggregate]
    previous = _previous_cycle(cycles, cycle)
    sep = _separators()
    found: dict[str, charts.Chart] = {}

    if aggregate is not None:
        summary = public.published_summaries([aggregate.pk]).get(aggregate.pk, {})
        dimensions, _ = _dimension_labels(public.framework_elements(cycle.framework_id))
        scores = _dimension_scores(summary)
        found["radar"] = charts.radar_chart(
            chart_id="radar",
            title=gettext("Semarang Raya on the six dimensions, %(cycle)s") % {"cycle": cycle.name},
            axis_label=gettext("Dimension"),
            axes=[name for _, name in dimensions],
            series=[(gettext("Semarang Raya"), [scores.get(code) for code, _ in dimensions])],
            separators=sep,
        )
    if regions:
        ranked = sorted(regions, key=lambda row: (-row.index_rounded, row.region_name))
        categories, values = _with_aggregate(
            [row.region_name for row in ranked], [row.index_rounded for row in ranked], aggregate
        )
        found["regions"] = charts.bar_chart(
            chart_id="regions",
            title=gettext("Index by region, %(cycle)s") % {"cycle": cycle.name},
            category_label=gettext("Region"),
            value_label=gettext("Index (0–5)"),
            categories=categories,
            series=[(gettext("Index"), values)],
            separators=sep,
            highlight=gettext("Semarang Raya") if aggregate else None,
        )
    changes = []
    if previous is not None:
        before = {row.region_code: row for row in rows if row.cycle_id == previous.pk}
        for row in [*regions, *([aggregate] if aggregate else [])]:
            old = before.get(row.region_code)
            if old is not None:
                name = row.region_name if not row.is_aggregate else gettext("Semarang Raya")
                changes.append((name, old.index_rounded, row.index_rounded))
    if changes:
        found["changes"] = charts.change_chart(
            chart_id="changes",
            title=gettext("Change since %(previous)s") % {"previous": previous.name},
            category_label=gettext("Region"),
            previous_label=previous.name,
            current_label=cycle.name,
            change_label=pgettext("difference", "Change"),
            rows=changes,
            separators=sep,
        )
    return {
        "published": True,
        "cycle": cycle,
        "cycles": cycles,
        "previous": previous,
        "aggregate": (
            {
                "index": aggregate.index_rounded,
                "predicate": predicate_label(aggregate.predicate),
                "predicate_code": aggregate.predicate,
            }
            if aggregate
            else None
        ),
        "regions": [_region_link(row, cycle_id) for row in regions],
        "charts": {key: _chart_urls(chart, "home", None, cycle_id) for key, chart in found.items()},
    }


def region_data(region: Region, rows: list[PublishedRow], cycle_id: int | None) -> dict:
    """One region in one published cycle: index, predicate, six dimensions against
    Semarang Raya, eighteen elements against the Semarang Raya mean, agencies × dimensions,
    strengths, weaknesses with the next step, and the trend over published cycles."""
    own = [row for row in rows if row.region_code == region.code]
    cycles = public.published_cycles(own)
    if not cycles:
        if cycle_id is not None:
            raise Http404
        return {"published": False, "charts": {}}
    cycle = _pick_cycle(cycles, cycle_id)
    row = next(r for r in own if r.cycle_id == cycle.pk)
    in_cycle = [r for r in rows if r.cycle_id == cycle.pk]
    aggregate = next((r for r in in_cycle if r.is_aggregate), None)
    summaries = public.published_summaries([r.pk for r in in_cycle])
    summary = summaries.get(row.pk, {})
    members = set(summaries.get(aggregate.pk, {}).get("members", [])) if aggregate else set()
    peers = [
        r for r in in_cycle if not r.is_aggregate and (not members or r.region_code in members)
    ]
    elements = public.framework_elements(cycle.framework_id)
    dimensions, element_names = _dimension_labels(elements)
    sep = _separators()
    place = gettext("Semarang Raya")
    found: dict[str, charts.Chart] = {}

    # Six dimensions, against Semarang Raya when its aggregate is published.
    own_dims = _dimension_scores(summary)
    series = [(region.name, [own_dims.get(code) for code, _ in dimensions])]
    if aggregate is not None:
        sr_dims = _dimension_scores(summaries.get(aggregate.pk, {}))
        series.append((place, [sr_dims.get(code) for code, _ in dimensions]))
    found["radar"] = charts.radar_chart(
        chart_id="radar",
        title=gettext("%(region)s on the six dimensions, %(cycle)s")
        % {"region": region.name, "cycle": cycle.name},
        axis_label=gettext("Dimension"),
        axes=[name for _, name in dimensions],
        series=series,
        separators=sep,
    )

    # Elements against the mean of the published Semarang Raya members.
    own_elements = _element_scores(summary)
    peer_scores = [_element_scores(summaries.get(peer.pk, {})) for peer in peers]
    codes = [element.code for element in elements if element.code in own_elements]
    mean = {
        code: _published(statistics.fmean(s[code] for s in peer_scores if code in s))
        for code in codes
        if any(code in s for s in peer_scores)
    }
    found["elements"] = charts.bar_chart(
        chart_id="elements",
        title=gettext("Elements of %(region)s against the Semarang Raya mean, %(cycle)s")
        % {"region": region.name, "cycle": cycle.name},
        category_label=gettext("Element"),
        value_label=gettext("Score (0–5)"),
        categories=[element_names[code] for code in codes],
        series=[
            (region.name, [_published(own_elements[code]) for code in codes]),
            (gettext("Semarang Raya mean"), [mean.get(code) for code in codes]),
        ],
        separators=sep,
    )

    # Agencies × dimensions, on the snapshot's own basis.
    tables = public.published_tables(row.pk)
    basis = summary.get("basis", "final")
    cells: dict[tuple[str, str], float] = {}
    for record in tables.get("agencies", []):
        if record.get("basis") == basis:
            cells[(record["agency"] or "", record["dimension"])] = record["score"]
    names = public.agency_names(region)
    agencies = sorted({agency for agency, _ in cells}, key=lambda s: (s == "", names.get(s, s)))
    if agencies:
        found["agencies"] = charts.heatmap_chart(
            chart_id="agencies",
            title=gettext("Agency scores by dimension, %(region)s, %(cycle)s")
            % {"region": region.name, "cycle": cycle.name},
            row_label=gettext("Agency"),
            rows=[
                names.get(slug, slug) if slug else gettext("No agency assigned")
                for slug in agencies
            ],
            columns=[name for _, name in dimensions],
            values=[
                [_published(cells.get((slug, code))) for code, _ in dimensions] for slug in agencies
            ],
            colorbar_label=gettext("Score"),
            separators=sep,
        )

    # Trend over the published cycles of the same framework lineage.
    lineage = [r for r in own if r.lineage == cycle.lineage]
    lineage.sort(key=lambda r: (r.cycle_year, r.cycle_starts_on, r.cycle_id))
    aggregates = {r.cycle_id: r.index_rounded for r in rows if r.is_aggregate}
    trend_series = [(region.name, [r.index_rounded for r in lineage])]
    if any(r.cycle_id in aggregates for r in lineage):
        trend_series.append((place, [aggregates.get(r.cycle_id) for r in lineage]))
    found["trend"] = charts.trend_chart(
        chart_id="trend",
        title=gettext("Index of %(region)s over the published cycles") % {"region": region.name},
        period_label=gettext("Cycle"),
        value_label=gettext("Index (0–5)"),
        periods=[r.cycle_name for r in lineage],
        series=trend_series,
        separators=sep,
    )

    # Strengths, weaknesses, and what the next level asks for each weakness.
    levels = {
        element["code"]: element["level"]
        for dimension in summary.get("dimensions", [])
        for element in dimension.get("elements", [])
    }
    ranked = sorted(codes, key=lambda code: (own_elements[code], code))
    strengths = list(reversed(ranked[-STRENGTHS:]))
    weaknesses = [code for code in ranked[:WEAKNESSES] if code not in strengths]
    wanted = {code: levels[code] + 1 for code in weaknesses if levels[code] < 5}
    descriptors = public.next_level_descriptors(framework_id=cycle.framework_id, wanted=wanted)

    def described(code: str) -> dict:
        level = levels[code]
        return {
            "code": code,
            "name": element_names[code],
            "score": _published(own_elements[code]),
            "level": level_label(level),
            "next_level": level_label(wanted[code]) if code in wanted else "",
            "steps": [
                {
                    "indicator": descriptor.indicator.name,
                    "indicator_code": descriptor.indicator.code,
                    "descriptor": descriptor.descriptor,
                    "evidence": descriptor.evidence,
                }
                for descriptor in descriptors.get(code, [])
            ],
        }

    return {
        "published": True,
        "cycle": cycle,
        "cycles": cycles,
        "headline": {
            "index": row.index_rounded,
            "predicate": predicate_label(row.predicate),
            "predicate_code": row.predicate,
            "level": level_label(int(summary.get("level", 0))),
            "completeness": round(100 * float(summary.get("completeness", 0))),
            "aggregate": aggregate.index_rounded if aggregate else None,
        },
        "dimension_links": [
            {"code": code, "name": name, "url": reverse("public:dimension", args=[code])}
            for code, name in dimensions
        ],
        "strengths": [described(code) for code in strengths],
        "weaknesses": [described(code) for code in weaknesses],
        "charts": {
            key: _chart_urls(chart, "region", region.code, cycle_id) for key, chart in found.items()
        },
    }


def dimension_data(code: str, rows: list[PublishedRow], cycle_id: int | None) -> dict:
    """One dimension in one published cycle: the regions compared on it and on its
    elements."""
    regional = [row for row in rows if not row.is_aggregate]
    cycles = public.published_cycles(regional)
    if not cycles:
        raise Http404
    cycle = _pick_cycle(cycles, cycle_id)
    elements = [
        e for e in public.framework_elements(cycle.framework_id) if e.dimension.code == code
    ]
    if not elements:
        raise Http404
    in_cycle = [row for row in rows if row.cycle_id == cycle.pk]
    aggregate = next((row for row in in_cycle if row.is_aggregate), None)
    regions = [row for row in in_cycle if not row.is_aggregate]
    summaries = public.published_summaries([row.pk for row in in_cycle])
    dimension = elements[0].dimension
    sep = _separators()

    dimension_scores = {
        row.pk: _dimension_scores(summaries.get(row.pk, {})).get(code) for row in regions
    }
    ranked = sorted(regions, key=lambda row: (-(dimension_scores[row.pk] or 0), row.region_name))
    scores = [dimension_scores[row.pk] for row in ranked]
    categories = [row.region_name for row in ranked]
    highlight = None
    if aggregate is not None:
        categories.append(gettext("Semarang Raya"))
        scores.append(_dimension_scores(summaries.get(aggregate.pk, {})).get(code))
        highlight = gettext("Semarang Raya")
    by_region = charts.bar_chart(
        chart_id="regions",
        title=gettext("%(dimension)s by region, %(cycle)s")
        % {"dimension": dimension.name, "cycle": cycle.name},
        category_label=gettext("Region"),
        value_label=gettext("Score (0–5)"),
        categories=categories,
        series=[(dimension.name, scores)],
        separators=sep,
        highlight=highlight,
    )
    element_scores = [_element_scores(summaries.get(row.pk, {})) for row in regions]
    by_element = charts.bar_chart(
        chart_id="elements",
        title=gettext("Elements of %(dimension)s by region, %(cycle)s")
        % {"dimension": dimension.name, "cycle": cycle.name},
        category_label=gettext("Region"),
        value_label=gettext("Score (0–5)"),
        categories=[row.region_name for row in regions],
        series=[
            (element.name, [_published(scores.get(element.code)) for scores in element_scores])
            for element in elements
        ],
        separators=sep,
    )
    found = {"regions": by_region, "elements": by_element}
    return {
        "published": True,
        "cycle": cycle,
        "cycles": cycles,
        "dimension": {"code": code, "name": dimension.name, "description": dimension.description},
        "elements": [{"code": e.code, "name": e.name} for e in elements],
        "regions": [_region_link(row, cycle_id) for row in regions],
        "charts": {
            key: _chart_urls(chart, "dimension", code, cycle_id) for key, chart in found.items()
        },
    }


def _outlined(
    regions: list[PublishedRow],
) -> tuple[list[PublishedRow], dict[str, tuple[dict, str]]]:
    """The regions that have an outline (regions.boundaries), and the outlines with their
    source by region code (one query)."""
    outlines = public.region_boundaries([row.region_code for row in regions if row.region_code])
    return [row for row in regions if row.region_code in outlines], outlines


def _map_title(cycle: PublishedCycle) -> str:
    return gettext("Semarang Raya on the map: index by region, %(cycle)s") % {"cycle": cycle.name}


def map_data(rows: list[PublishedRow], cycle_id: int | None) -> dict:
    """Semarang Raya as a tile grid of its regions, coloured by index."""
    cycles = public.published_cycles([row for row in rows if not row.is_aggregate])
    if not cycles:
        if cycle_id is not None:
            raise Http404
        return {"published": False, "charts": {}}
    cycle = _pick_cycle(cycles, cycle_id)
    in_cycle = [row for row in rows if row.cycle_id == cycle.pk]
    regions = [row for row in in_cycle if not row.is_aggregate]
    aggregate = next((row for row in in_cycle if row.is_aggregate), None)
    spare_row = max((r for r, _ in TILE_POSITIONS.values()), default=-1) + 1
    tiles, spare_col = [], 0
    for row in regions:
        position = TILE_POSITIONS.get(row.region_code or "")
        if position is None:
            position, spare_col = (spare_row, spare_col), spare_col + 1
        tiles.append(
            {
                "label": row.region_name,
                "row": position[0],
                "col": position[1],
                "value": row.index_rounded,
            }
        )
    chart = charts.tile_chart(
        chart_id="tiles",
        title=gettext("Semarang Raya: index by region, %(cycle)s") % {"cycle": cycle.name},
        region_label=gettext("Region"),
        value_label=gettext("Index (0–5)"),
        tiles=tiles,
        separators=_separators(),
    )
    found = {"tiles": _chart_urls(chart, "map", None, cycle_id)}
    # Outlines, where an administrator loaded them (regions.boundaries): a real map as well.
    drawn, outlines = _outlined(regions)
    if drawn:
        boundary = charts.boundary_chart(
            chart_id="boundaries",
            title=_map_title(cycle),
            region_label=gettext("Region"),
            value_label=gettext("Index (0–5)"),
            regions=[
                {
                    "label": row.region_name,
                    "value": row.index_rounded,
                    "geometry": outlines[row.region_code][0],
                }
                for row in drawn
            ],
            separators=_separators(),
        )
        found = {"boundaries": _chart_urls(boundary, "map", None, cycle_id), **found}
    geojson_url = reverse("public:map_geojson") + (
        f"?{urlencode({'cycle': cycle_id})}" if cycle_id is not None else ""
    )
    return {
        "published": True,
        "cycle": cycle,
        "cycles": cycles,
        "aggregate": (
            {"index": aggregate.index_rounded, "predicate": predicate_label(aggregate.predicate)}
            if aggregate
            else None
        ),
        "regions": [_region_link(row, cycle_id) for row in regions],
        "charts": found,
        "boundary_sources": sorted({outlines[row.region_code][1] for row in drawn}),
        "geojson_url": geojson_url if drawn else "",
    }


def predicate_bands() -> list[dict]:
    """The predicate bands, read off the engine itself (every published figure from 0.00 to
    5.00 through `scoring.predicate`), so the page cannot drift from the code."""
    bands: list[dict] = []
    for cents in range(0, 501):
        value = cents / 100
        code = scoring.predicate(value)
        if bands and bands[-1]["code"] == code:
            bands[-1]["upper"] = value
        else:
            bands.append({"code": code, "lower": value, "upper": value})
    return [{**band, "label": predicate_label(band["code"])} for band in reversed(bands)]


def methodology_data(rows: list[PublishedRow]) -> dict:
    """How the published figures are made, generated from the framework and the engine."""
    framework_id = rows[0].framework_id if rows else None
    framework, dimensions = public.methodology_framework(framework_id)
    tree = []
    total_dimension = sum(float(d.weight) for d in dimensions) or 1.0
    for dimension in dimensions:
        elements = list(dimension.elements.all())
        total_element = sum(float(e.weight) for e in elements) or 1.0
        share_d = float(dimension.weight) / total_dimension
        element_rows = []
        for element in elements:
            indicators = list(element.indicators.all())
            total_indicator = sum(float(i.weight) for i in indicators) or 1.0
            share_e = float(element.weight) / total_element
            element_rows.append(
                {
                    "code": element.code,
                    "name": element.name,
                    "weight": element.weight,
                    "share": 100 * share_d * share_e,
                    "indicators": [
                        {
                            "code": indicator.code,
                            "name": indicator.name,
                            "weight": indicator.weight,
                            "share": 100
                            * share_d
                            * share_e
                            * float(indicator.weight)
                            / total_indicator,
                        }
                        for indicator in indicators
                    ],
                }
            )
        tree.append(
            {
                "code": dimension.code,
                "name": dimension.name,
                "description": dimension.description,
                "weight": dimension.weight,
                "share": 100 * share_d,
                "elements": element_rows,
            }
        )
    indicator_count = sum(len(e["indicators"]) for d in tree for e in d["elements"])
    return {
        "framework": (
            {"name": framework.name, "version": framework.version, "slug": framework.slug}
            if framework
            else None
        ),
        "tree": tree,
        "counts": {
            "dimensions": len(tree),
            "elements": sum(len(d["elements"]) for d in tree),
            "indicators": indicator_count,
        },
        "levels": [{"value": value, "label": str(label)} for value, label in MaturityLevel.choices],
        "bands": predicate_bands(),
        "engine_version": scoring.ENGINE_VERSION,
        "published_engines": sorted({row.engine_version for row in rows}),
        "cycles": public.published_cycles(rows),
    }


# --------------------------------------------------------------------------- views


def home_context(request: HttpRequest) -> dict:
    """The published part of the home page (the home view itself is smartprov.views.home)."""
    cycle_id = _cycle_param(request)
    return _cached("home", [cycle_id], lambda rows: home_data(rows, cycle_id))


@require_GET
@public_page
def region(request: HttpRequest, code: str) -> HttpResponse:
    place = public.get_region(code)
    cycle_id = _cycle_param(request)
    data = _cached("region", [code, cycle_id], lambda rows: region_data(place, rows, cycle_id))
    return render(request, "reports/public/region.html", {**data, "region": place})


@require_GET
@public_page
def dimension(request: HttpRequest, code: str) -> HttpResponse:
    cycle_id = _cycle_param(request)
    data = _cached("dimension", [code, cycle_id], lambda rows: dimension_data(code, rows, cycle_id))
    return render(request, "reports/public/dimension.html", data)


@require_GET
@public_page
def semarang_raya_map(request: HttpRequest) -> HttpResponse:
    cycle_id = _cycle_param(request)
    data = _cached("map", [cycle_id], lambda rows: map_data(rows, cycle_id))
    return render(request, "reports/public/map.html", data)


@require_GET
@public_page
def methodology(request: HttpRequest) -> HttpResponse:
    data = _cached("methodology", [], methodology_data)
    return render(request, "reports/public/methodology.html", data)


@require_GET
@public_page
def role_map(request: HttpRequest, code: str) -> HttpResponse:
    """Which agency leads or supports each element in a region: reference data, read live
    (four queries), shown as a table whose cells say the role in words."""
    place = public.get_region(code)
    roles = public.role_map(place)
    rows = [
        {
            "agency": agency,
            "cells": [roles.roles.get((agency.pk, element.code), "") for element in roles.elements],
        }
        for agency in roles.agencies
    ]
    return render(
        request,
        "reports/public/role_map.html",
        {
            "region": place,
            "elements": roles.elements,
            "rows": rows,
            "lead": AgencyRole.LEAD,
            "supporting": AgencyRole.SUPPORTING,
        },
    )


@require_GET
def report(request: HttpRequest, pk: int) -> HttpResponse:
    """A published snapshot's public address: its region's page (or Semarang Raya's, the
    home page) at its cycle. An unpublished snapshot does not exist here."""
    snapshot = public.get_published_report(pk)
    query = f"?{urlencode({'cycle': snapshot.cycle_id})}"
    if snapshot.region_id is None:
        return redirect(reverse("home") + query)
    return redirect(reverse("public:region", args=[snapshot.region.code]) + query)


PAGES = {"home", "map", "region", "dimension"}


def _page_chart(request: HttpRequest, page: str, chart_id: str, code: str | None) -> dict:
    """A chart of a public page by its ids, from the same cached data as the page."""
    if page not in PAGES or (code is None) != (page in {"home", "map"}):
        raise Http404
    cycle_id = _cycle_param(request)
    if page == "home":
        data = _cached("home", [cycle_id], lambda rows: home_data(rows, cycle_id))
    elif page == "map":
        data = _cached("map", [cycle_id], lambda rows: map_data(rows, cycle_id))
    elif page == "region":
        place = public.get_region(code or "")
        data = _cached("region", [code, cycle_id], lambda rows: region_data(place, rows, cycle_id))
    else:
        data = _cached(
            "dimension", [code, cycle_id], lambda rows: dimension_data(code or "", rows, cycle_id)
        )
    chart = data["charts"].get(chart_id)
    if chart is None:
        raise Http404
    return chart


@xframe_options_exempt
@csp_replace({"frame-ancestors": ["*"]})
@require_GET
@public_page
def embed(request: HttpRequest, page: str, chart: str, code: str | None = None) -> HttpResponse:
    """One chart alone, for an <iframe> on any site (news articles, council pages)."""
    found = _page_chart(request, page, chart, code)
    source = (
        reverse("home")
        if page == "home"
        else (reverse("public:map") if page == "map" else reverse(f"public:{page}", args=[code]))
    )
    return render(request, "reports/public/embed.html", {"chart": found, "source": source})


@require_GET
@public_page
def chart_csv(request: HttpRequest, page: str, chart: str, code: str | None = None) -> HttpResponse:
    """Exactly the numbers a chart plots, as CSV (text cells neutralised against formula
    injection)."""
    found = _page_chart(request, page, chart, code)
    response = HttpResponse(
        charts.table_csv(found["table"]), content_type="text/csv; charset=utf-8"
    )
    name = "-".join(part for part in ("smartprov", page, code, chart) if part)
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


@require_GET
@public_page
def map_geojson(request: HttpRequest) -> HttpResponse:
    """The map as open data: each outlined region of a published cycle with its published
    index and predicate, as GeoJSON for GIS tools (QGIS, a newsroom's map). 404 when no
    outline is loaded or nothing is published."""
    rows = public.published_rows()
    cycles = public.published_cycles([row for row in rows if not row.is_aggregate])
    if not cycles:
        raise Http404
    cycle = _pick_cycle(cycles, _cycle_param(request))
    regions = [row for row in rows if row.cycle_id == cycle.pk and not row.is_aggregate]
    drawn, outlines = _outlined(regions)
    if not drawn:
        raise Http404
    features = [
        {
            "type": "Feature",
            "properties": {
                "code": row.region_code,
                "name": row.region_name,
                "index": row.index_rounded,
                "predicate": row.predicate,
                "predicate_label": predicate_label(row.predicate),
                "report": request.build_absolute_uri(reverse("exports:report_json", args=[row.pk])),
            },
            "geometry": outlines[row.region_code][0],
        }
        for row in sorted(drawn, key=lambda r: r.region_code or "")
    ]
    document = {
        "type": "FeatureCollection",
        "metadata": {
            "title": _map_title(cycle),
            "cycle": cycle.name,
            "cycle_year": cycle.year,
            "engine_versions": sorted({row.engine_version for row in drawn}),
            "boundaries_source": sorted({outlines[row.region_code][1] for row in drawn}),
            "methodology": request.build_absolute_uri(reverse("public:methodology")),
            "index_scale": "0-5",
        },
        "features": features,
    }
    # RFC 7946's media type takes no charset: GeoJSON is UTF-8.
    response = HttpResponse(
        json.dumps(document, ensure_ascii=False, separators=(",", ":")),
        content_type="application/geo+json",
    )
    name = f"smartprov-semarang-raya-{cycle.year}.geojson"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    # Open data: a newsroom's or a data portal's map may fetch it from its own site.
    response["Access-Control-Allow-Origin"] = "*"
    return response
