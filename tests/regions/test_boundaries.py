"""Region outlines from GeoJSON (regions/boundaries.py): what is taken, what is refused with
which message, the admin's upload form, and the public map that draws them."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from regions import boundaries
from regions.models import RegionBoundary
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def square(lon: float, lat: float, size: float = 0.1) -> list[list[float]]:
    return [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]


def feature(code, geometry: dict, prop: str = "code") -> dict:
    return {"type": "Feature", "properties": {prop: code}, "geometry": geometry}


def collection(*features) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


SEMARANG = feature("3374", {"type": "Polygon", "coordinates": [square(110.35, -7.05)]})
DEMAK = feature(
    "33.21",  # dotted, as Kemendagri writes it
    {
        "type": "MultiPolygon",
        "coordinates": [[square(110.5, -6.95)], [square(110.7, -6.8, 0.05)]],
    },
)


def load(actor, content: bytes, **kwargs):
    return boundaries.boundaries_load(
        actor=actor,
        content=content,
        code_property=kwargs.get("code_property", "code"),
        source=kwargs.get("source", "BIG, 2023"),
    )


def test_polygons_and_multipolygons_are_stored_rounded_and_without_repeats(cast):
    ring = [
        [110.123456, -7.0],
        [110.123457, -7.0],
        [110.2, -7.0],
        [110.2, -6.9],
        [110.123456, -7.0],
    ]
    content = collection(
        feature("3374", {"type": "Polygon", "coordinates": [ring]}),
        DEMAK,
    )
    result = load(cast.admin, content)
    assert result.loaded == ["3321", "3374"] and result.unknown == []
    semarang = RegionBoundary.objects.get(region=cast.region_a)
    # 110.123456 and 110.123457 round to the same point: one of them is dropped.
    assert semarang.geometry == {
        "type": "MultiPolygon",
        "coordinates": [[[[110.1235, -7.0], [110.2, -7.0], [110.2, -6.9], [110.1235, -7.0]]]],
    }
    assert semarang.points == 4 and semarang.source == "BIG, 2023"
    assert semarang.loaded_by == cast.admin
    demak = RegionBoundary.objects.get(region=cast.region_b)
    assert len(demak.geometry["coordinates"]) == 2


def test_loading_the_same_file_again_writes_nothing_and_unknown_codes_are_listed(cast):
    content = collection(SEMARANG, feature("3399", SEMARANG["geometry"]))
    first = load(cast.admin, content)
    assert first.loaded == ["3374"] and first.unknown == ["3399"]
    stamp = RegionBoundary.objects.get(region=cast.region_a).loaded_at
    again = load(cast.admin, content)
    assert again.loaded == [] and again.unchanged == ["3374"]
    assert RegionBoundary.objects.get(region=cast.region_a).loaded_at == stamp


def test_another_code_property_is_read(cast):
    content = collection(feature("3374", SEMARANG["geometry"], prop="KDPKAB"))
    assert load(cast.admin, content, code_property="KDPKAB").loaded == ["3374"]


POINT = {"type": "Point", "coordinates": [110.4, -7.0]}
BAD_FILES = {
    "not json": (b"{not json", "not valid JSON"),
    "not utf-8": ("{}".encode("utf-16"), "not valid JSON"),
    "a feature, not a collection": (json.dumps(SEMARANG).encode(), "FeatureCollection"),
    "no features": (collection(), "has no features"),
    "no code": (collection(feature("", SEMARANG["geometry"])), "no property “code”"),
    "a point": (collection(feature("3374", POINT)), "only Polygon and MultiPolygon"),
    "metres, not degrees": (
        collection(feature("3374", {"type": "Polygon", "coordinates": [square(435000, 9220000)]})),
        "WGS 84",
    ),
    "text coordinates": (
        collection(feature("3374", {"type": "Polygon", "coordinates": [[["110", "-7"]] * 4]})),
        "must be numbers",
    ),
    "a ring of three points": (
        collection(feature("3374", {"type": "Polygon", "coordinates": [square(110.3, -7.0)[:3]]})),
        "at least four positions",
    ),
    "no region of the portal": (collection(feature("9999", SEMARANG["geometry"])), "9999"),
    "nested a million deep": (b"[" * 1_000_000 + b"]" * 1_000_000, "not valid JSON"),
    "a number too large for a float": (
        collection(
            feature("3374", {"type": "Polygon", "coordinates": [[[10**400, 1]] * 4]})
        ).replace(b"Infinity", b"1" + b"0" * 400),
        "must be numbers",
    ),
    "a code written as a decimal number": (
        collection(feature(3374.0, SEMARANG["geometry"])),
        "no property “code”",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_is_refused_with_a_message_and_writes_nothing(cast, case):
    content, message = BAD_FILES[case]
    with translation.override("en"), pytest.raises(ValidationError) as error:
        load(cast.admin, content)
    assert message in " ".join(error.value.messages)
    assert not RegionBoundary.objects.exists()


def test_a_bad_feature_after_good_ones_writes_nothing(cast):
    with pytest.raises(ValidationError):
        load(cast.admin, collection(SEMARANG, DEMAK, feature("3374", POINT)))
    assert not RegionBoundary.objects.exists()


def test_a_ring_that_vanishes_at_the_maps_precision_is_dropped_not_refused(cast):
    islet = [[110.60001, -6.9], [110.60002, -6.9], [110.60002, -6.90001], [110.60001, -6.9]]
    content = collection(
        feature(
            "3374",
            {
                "type": "MultiPolygon",
                "coordinates": [[square(110.35, -7.05)], [islet]],
            },
        )
    )
    load(cast.admin, content)
    assert len(RegionBoundary.objects.get(region=cast.region_a).geometry["coordinates"]) == 1


def test_features_of_other_regions_are_skipped_before_the_point_limit(cast, monkeypatch):
    monkeypatch.setattr(boundaries, "MAX_POINTS", 8)
    province = [feature(str(3300 + n), DEMAK["geometry"]) for n in range(1, 20)]
    result = load(cast.admin, collection(SEMARANG, *province))
    assert result.loaded == ["3374"]
    assert len(result.unknown) == 19 and "3301" in result.unknown


def test_too_many_points_and_too_many_bytes_are_refused(cast, monkeypatch):
    monkeypatch.setattr(boundaries, "MAX_POINTS", 8)
    with translation.override("en"), pytest.raises(ValidationError) as error:
        load(cast.admin, collection(SEMARANG, DEMAK))
    assert "mapshaper" in error.value.messages[0]
    monkeypatch.setattr(boundaries, "MAX_BYTES", 100)
    with translation.override("en"), pytest.raises(ValidationError) as error:
        load(cast.admin, collection(SEMARANG))
    assert "larger than" in error.value.messages[0]


def test_messages_are_in_indonesian_by_default(cast):
    with pytest.raises(ValidationError) as error:
        load(cast.admin, b"{not json")
    assert "bukan JSON" in error.value.messages[0]


# --------------------------------------------------------------------------- the admin form


def upload_url() -> str:
    return reverse("admin:regions_regionboundary_load")


def test_an_administrator_loads_a_file_through_the_admin(client, cast):
    client.force_login(cast.admin)
    response = client.post(
        upload_url(),
        {
            "file": SimpleUploadedFile("semarang-raya.geojson", collection(SEMARANG, DEMAK)),
            "code_property": "code",
            "source": "BIG, 2023",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:regions_regionboundary_changelist")
    assert RegionBoundary.objects.count() == 2
    listing = client.get(response["Location"]).content.decode()
    assert "Kota Semarang" in listing and upload_url() in listing


def test_a_bad_upload_shows_the_form_again_with_the_reason(client, cast):
    client.force_login(cast.admin)
    response = client.post(
        upload_url(),
        {"file": SimpleUploadedFile("x.geojson", b"[]"), "code_property": "code", "source": "X"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "FeatureCollection" in response.content.decode()
    assert not RegionBoundary.objects.exists()


@pytest.mark.parametrize("who", ["anonymous", "operator_a", "reviewer", "staff_without_permission"])
def test_only_administrators_reach_the_upload_form(client, cast, who):
    if who == "staff_without_permission":
        client.force_login(UserFactory(username="staf", is_staff=True))
    elif who != "anonymous":
        client.force_login(getattr(cast, who))
    response = client.post(
        upload_url(),
        {
            "file": SimpleUploadedFile("a.geojson", collection(SEMARANG)),
            "code_property": "code",
            "source": "X",
        },
    )
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert "/admin/login/" in response["Location"]
    assert not RegionBoundary.objects.exists()
