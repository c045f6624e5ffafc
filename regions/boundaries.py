"""Region boundaries from a GeoJSON file, for the public map of Semarang Raya.

An administrator loads a GeoJSON FeatureCollection (RFC 7946: longitude/latitude, WGS 84)
whose features carry the Kemendagri code of their region in a property (`code` by default;
BIG's and BPS's files use other names, so the form asks). Only Polygon and MultiPolygon
geometries are taken. Coordinates are rounded to 4 decimals (about 11 m, far finer than the
map is drawn) and repeated points dropped; a ring that shrinks to nothing at that precision
is dropped. So a page does not carry a survey-grade outline. Features of regions the portal
does not have are skipped unread, and more than `MAX_POINTS` points in the rest must be
simplified first (for example with mapshaper), which the error says.

Written here rather than with a GIS library: reading and checking GeoJSON is a few dozen lines
of plain Python, and GDAL or GEOS would be a heavy system dependency for one upload form.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .models import Region, RegionBoundary

MAX_BYTES = 10 * 1024 * 1024
MAX_POINTS = 60_000
DECIMALS = 4
GEOMETRY_TYPES = ("Polygon", "MultiPolygon")


@dataclass(frozen=True)
class LoadResult:
    loaded: list[str]  # region codes written
    unchanged: list[str]  # region codes whose outline was already the same
    unknown: list[str]  # codes in the file that name no region here
    points: int


def _number(value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(_("Coordinates must be numbers."))
    try:
        return float(value)
    except OverflowError:  # an integer of hundreds of digits
        raise ValidationError(_("Coordinates must be numbers.")) from None


def _ring(ring, feature_no: int) -> list[list[float]] | None:
    """The ring rounded, without repeated points; None if it shrank to nothing at the map's
    precision (an islet or a sliver: dropped, not refused)."""
    if not isinstance(ring, list):
        raise ValidationError(
            _("Feature %(n)d: a ring must be a list of positions.") % {"n": feature_no}
        )
    points: list[list[float]] = []
    for position in ring:
        if not isinstance(position, list) or len(position) < 2:
            raise ValidationError(
                _("Feature %(n)d: a position must be [longitude, latitude].") % {"n": feature_no}
            )
        lon, lat = _number(position[0]), _number(position[1])
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValidationError(
                _(
                    "Feature %(n)d: (%(lon)s, %(lat)s) is not a longitude/latitude. The file "
                    "must use WGS 84 degrees (EPSG:4326), as GeoJSON requires."
                )
                % {"n": feature_no, "lon": position[0], "lat": position[1]}
            )
        point = [round(lon, DECIMALS), round(lat, DECIMALS)]
        if not points or points[-1] != point:
            points.append(point)
    if len(ring) < 4:
        raise ValidationError(
            _("Feature %(n)d: a ring needs at least four positions.") % {"n": feature_no}
        )
    return points if len(points) >= 4 else None


def _geometry(geometry, feature_no: int) -> dict:
    if not isinstance(geometry, dict) or geometry.get("type") not in GEOMETRY_TYPES:
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        raise ValidationError(
            _("Feature %(n)d: the geometry is %(kind)s; only Polygon and MultiPolygon are taken.")
            % {"n": feature_no, "kind": kind or _("missing")}
        )
    coordinates = geometry.get("coordinates")
    polygons = [coordinates] if geometry["type"] == "Polygon" else coordinates
    if not isinstance(polygons, list) or not polygons:
        raise ValidationError(
            _("Feature %(n)d: the geometry has no coordinates.") % {"n": feature_no}
        )
    cleaned = []
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise ValidationError(
                _("Feature %(n)d: a polygon must be a list of rings.") % {"n": feature_no}
            )
        outer, *holes = [_ring(ring, feature_no) for ring in polygon]
        if outer is not None:  # a polygon whose outline vanished goes, holes and all
            cleaned.append([outer, *(hole for hole in holes if hole is not None)])
    return {"type": "MultiPolygon", "coordinates": cleaned}


def count_points(geometry: dict) -> int:
    return sum(len(ring) for polygon in geometry["coordinates"] for ring in polygon)


def _code(raw, number: int, code_property: str) -> str:
    """The region code of a feature: a string or an integer ("33.74", "3374", 3374)."""
    if isinstance(raw, bool) or not isinstance(raw, str | int) or raw == "":
        raise ValidationError(
            _("Feature %(n)d has no property “%(property)s” with the region's code.")
            % {"n": number, "property": code_property}
        )
    return str(raw).replace(".", "").strip()


def parse(
    content: bytes, *, code_property: str, known: set[str] | None = None
) -> tuple[dict[str, dict], list[str]]:
    """(region code → cleaned MultiPolygon, codes left out), from the bytes of a GeoJSON
    FeatureCollection. With `known`, features of other codes are left out unread (a whole
    province's file serves a few regions). Raises ValidationError with a message for the
    administrator on anything else."""
    if len(content) > MAX_BYTES:
        raise ValidationError(
            _("The file is larger than %(mb)d MB. Simplify the boundaries first.")
            % {"mb": MAX_BYTES // (1024 * 1024)}
        )
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValidationError(_("The file is not valid JSON (UTF-8).")) from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise ValidationError(_("The file must be a GeoJSON FeatureCollection."))
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise ValidationError(_("The FeatureCollection has no features."))
    found: dict[str, list] = {}
    skipped: set[str] = set()
    total = 0
    for number, feature in enumerate(features, start=1):
        properties = feature.get("properties") if isinstance(feature, dict) else None
        raw_code = properties.get(code_property) if isinstance(properties, dict) else None
        code = _code(raw_code, number, code_property)
        if known is not None and code not in known:
            skipped.add(code)
            continue
        geometry = _geometry(feature.get("geometry"), number)
        total += count_points(geometry)
        if total > MAX_POINTS:
            raise ValidationError(
                _(
                    "The boundaries have more than %(max)d points after rounding. Simplify "
                    "them first (for example with mapshaper)."
                )
                % {"max": MAX_POINTS}
            )
        found.setdefault(code, []).extend(geometry["coordinates"])
    geometries = {
        code: {"type": "MultiPolygon", "coordinates": polygons}
        for code, polygons in found.items()
        if polygons
    }
    return geometries, sorted(skipped)


@transaction.atomic
def boundaries_load(*, actor, content: bytes, code_property: str, source: str) -> LoadResult:
    """Check the whole file, then write the outline of every region it names (all or none).
    A file that names no region of the portal is refused."""
    regions = {r.code: r for r in Region.objects.all()}
    geometries, unknown = parse(
        content, code_property=code_property.strip() or "code", known=set(regions)
    )
    if not geometries:
        raise ValidationError(
            _("No feature names a region of the portal (codes found: %(codes)s).")
            % {"codes": ", ".join(unknown[:10])}
        )
    existing = {
        b.region_id: b for b in RegionBoundary.objects.filter(region__code__in=list(geometries))
    }
    loaded, unchanged = [], []
    for code in sorted(geometries):
        region, geometry = regions[code], geometries[code]
        current = existing.get(region.pk)
        if current is not None and current.geometry == geometry and current.source == source:
            unchanged.append(code)
            continue
        RegionBoundary.objects.update_or_create(
            region=region,
            defaults={
                "geometry": geometry,
                "points": count_points(geometry),
                "source": source,
                "loaded_by": actor,
            },
        )
        loaded.append(code)
    points = sum(count_points(geometry) for geometry in geometries.values())
    return LoadResult(loaded=loaded, unchanged=unchanged, unknown=unknown, points=points)
