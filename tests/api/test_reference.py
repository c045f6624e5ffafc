"""Reference data through the API: frameworks, dimensions, regions, agencies (readable by all)."""

from __future__ import annotations

import datetime

import pytest

from regions.choices import AgencyRole
from regions.models import Agency
from tests.factories import (
    AgencyElementRoleFactory,
    ClusterMembershipFactory,
    build_framework,
)

pytestmark = pytest.mark.django_db

CONTRACT_DIMENSION = {"code", "name", "weight", "elements"}
CONTRACT_ELEMENT = {"code", "name", "weight", "indicators"}
CONTRACT_INDICATOR = {"code", "name", "weight", "levels"}


def test_anonymous_reads_the_whole_framework_tree_with_weights_and_five_levels(
    client_for, framework
):
    response = client_for(None).get(f"/api/v1/frameworks/{framework.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert {"id", "name", "version", "status", "dimensions"} <= body.keys()
    assert [d["code"] for d in body["dimensions"]] == ["D1", "D2"]
    for dimension in body["dimensions"]:
        assert dimension.keys() >= CONTRACT_DIMENSION
        assert dimension["weight"] == 1.0
        assert [e["code"] for e in dimension["elements"]] == [
            f"{dimension['code']}-E1",
            f"{dimension['code']}-E2",
        ]
        for element in dimension["elements"]:
            assert element.keys() >= CONTRACT_ELEMENT
            for indicator in element["indicators"]:
                assert indicator.keys() >= CONTRACT_INDICATOR
                assert [level["level"] for level in indicator["levels"]] == [1, 2, 3, 4, 5]
                assert indicator["levels"][1]["evidence_required"] is True


def test_framework_texts_follow_the_requested_language(client_for, framework):
    english = client_for(None, language="en").get(f"/api/v1/frameworks/{framework.pk}/").json()
    indonesian = client_for(None, language="id").get(f"/api/v1/frameworks/{framework.pk}/").json()

    assert english["name"].startswith("Test framework")
    assert indonesian["name"].startswith("Kerangka Uji")
    assert english["dimensions"][0]["name"].startswith("Dimension")
    assert indonesian["dimensions"][0]["name"].startswith("Dimensi")
    assert english["dimensions"][0]["elements"][0]["indicators"][0]["levels"][0]["descriptor"] == (
        "Level 1 descriptor"
    )


def test_framework_list_is_light_and_filters_by_status(client_for, framework):
    draft = build_framework(slug="lain", dimensions=1, elements=1, indicators=1)
    client = client_for(None)

    listed = client.get("/api/v1/frameworks/").json()
    drafts = client.get("/api/v1/frameworks/?status=draft&slug=lain").json()

    assert listed["count"] == 2
    assert "dimensions" not in listed["results"][0]
    assert [f["id"] for f in drafts["results"]] == [draft.pk]


def test_dimensions_filter_by_framework_and_code(client_for, framework):
    other = build_framework(slug="lain", dimensions=3, elements=1, indicators=1)
    client = client_for(None)

    ours = client.get(f"/api/v1/dimensions/?framework={framework.pk}").json()
    theirs = client.get(f"/api/v1/dimensions/?framework={other.pk}&code=D3").json()

    assert ours["count"] == 2
    assert {d["framework"] for d in ours["results"]} == {framework.pk}
    assert [(d["framework"], d["code"]) for d in theirs["results"]] == [(other.pk, "D3")]
    assert theirs["results"][0]["elements"][0]["indicators"][0]["levels"][0]["level"] == 1


def test_regions_are_identified_by_their_plain_code_with_dated_cluster_membership(client_for, cast):
    ClusterMembershipFactory(region=cast.region_a, valid_from=datetime.date(2024, 1, 1))

    response = client_for(None).get("/api/v1/regions/3374/")

    assert response.status_code == 200
    body = response.json()
    assert body["code"] == "3374"
    assert body["dotted_code"] == "33.74"
    assert body["parent"] == "33"
    assert body["kind"] == "city"
    assert body["clusters"] == [
        {
            "cluster": "semarang-raya",
            "name": body["clusters"][0]["name"],
            "valid_from": "2024-01-01",
            "valid_until": None,
        }
    ]


def test_regions_filter_by_kind_parent_and_cluster(client_for, cast):
    ClusterMembershipFactory(region=cast.region_b, valid_from=datetime.date(2024, 1, 1))
    client = client_for(None)

    regencies = client.get("/api/v1/regions/?kind=regency").json()
    children = client.get("/api/v1/regions/?parent=33").json()
    cluster = client.get("/api/v1/regions/?cluster=semarang-raya").json()

    assert [r["code"] for r in regencies["results"]] == ["3321"]
    assert [r["code"] for r in children["results"]] == ["3321", "3374"]
    assert [r["code"] for r in cluster["results"]] == ["3321"]


def test_unknown_region_is_a_404_in_the_error_shape(client_for, cast):
    client = client_for(None)

    unknown = client.get("/api/v1/regions/3399/")
    malformed = client.get("/api/v1/regions/semarang/")

    for response in (unknown, malformed):
        assert response.status_code == 404
        assert response.json() == {
            "error": {"code": "not_found", "message": "Not found.", "fields": {}}
        }


def test_agencies_carry_their_element_roles_and_filter_by_region_element_and_role(client_for, cast):
    AgencyElementRoleFactory(agency=cast.agency_a, element_code="GOV-SVC", role=AgencyRole.LEAD)
    AgencyElementRoleFactory(
        agency=cast.agency_a2, element_code="GOV-SVC", role=AgencyRole.SUPPORTING
    )
    AgencyElementRoleFactory(agency=cast.agency_a2, element_code="LIV-HEA", role=AgencyRole.LEAD)
    AgencyElementRoleFactory(agency=cast.agency_b, element_code="GOV-SVC", role=AgencyRole.LEAD)
    client = client_for(None)

    detail = client.get(f"/api/v1/agencies/{cast.agency_a2.pk}/").json()
    supporting = client.get("/api/v1/agencies/?region=3374&element=GOV-SVC&role=supporting")
    leads = client.get("/api/v1/agencies/?element=GOV-SVC&role=lead").json()

    assert detail["region"] == "3374"
    assert detail["slug"] == "dinkes"
    assert detail["element_roles"] == [
        {"element_code": "GOV-SVC", "role": "supporting"},
        {"element_code": "LIV-HEA", "role": "lead"},
    ]
    # element and role must match the same row: agency A2 leads LIV-HEA, not GOV-SVC
    assert [a["slug"] for a in supporting.json()["results"]] == ["dinkes"]
    assert {a["slug"] for a in leads["results"]} == {"diskominfo", "dinkominfo"}


def test_lists_are_paginated_with_a_bounded_page_size(client_for, cast):
    Agency.objects.bulk_create(
        Agency(region=cast.region_a, slug=f"dinas-{n}", short_name=f"Dinas {n}", name="Dinas")
        for n in range(205)
    )
    client = client_for(None)

    small = client.get("/api/v1/agencies/?page_size=2").json()
    capped = client.get("/api/v1/agencies/?page_size=1000").json()
    default = client.get("/api/v1/agencies/").json()
    beyond = client.get("/api/v1/agencies/?page=999")

    assert small["count"] == 208
    assert len(small["results"]) == 2
    assert small["previous"] is None
    assert "page=2" in small["next"]
    assert len(capped["results"]) == 200
    assert len(default["results"]) == 50
    assert beyond.status_code == 404
    assert beyond.json()["error"]["code"] == "not_found"


def test_ordering_parameter_orders_the_list(client_for, cast):
    client = client_for(None)

    by_name = client.get("/api/v1/regions/?ordering=-code").json()

    assert [r["code"] for r in by_name["results"]] == ["3374", "3321", "33"]


def test_reference_lists_issue_a_bounded_number_of_queries(
    client_for, cast, framework, django_assert_max_num_queries
):
    for code in ("GOV-SVC", "GOV-BUR", "GOV-POL"):
        AgencyElementRoleFactory(agency=cast.agency_a, element_code=code, role=AgencyRole.LEAD)
        ClusterMembershipFactory(region=cast.region_a)
    client = client_for(None)

    with django_assert_max_num_queries(6):  # version + dimensions, elements, indicators, levels
        assert client.get(f"/api/v1/frameworks/{framework.pk}/").status_code == 200
    with django_assert_max_num_queries(6):
        assert client.get("/api/v1/dimensions/").status_code == 200
    with django_assert_max_num_queries(3):  # count, page, cluster memberships
        assert client.get("/api/v1/regions/").status_code == 200
    with django_assert_max_num_queries(3):  # count, page, element roles
        assert client.get("/api/v1/agencies/").status_code == 200


def test_reference_data_cannot_be_written_through_the_api(client_for, cast):
    response = client_for(cast.admin).post(
        "/api/v1/regions/", {"code": "3399", "name": "X"}, format="json"
    )

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_invalid_filter_value_is_a_400_with_the_field_named(client_for, framework):
    response = client_for(None).get("/api/v1/dimensions/?framework=abc")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"] == {"framework": ["Enter a whole number."]}


def test_an_invalid_token_is_refused_even_for_reference_data(client_for, framework):
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = client.get("/api/v1/frameworks/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["error"]["code"] == "authentication_failed"


def test_api_root_links_every_resource(client_for, db):
    body = client_for(None).get("/api/v1/").json()

    assert list(body) == [
        "frameworks",
        "dimensions",
        "regions",
        "agencies",
        "cycles",
        "assessments",
        "answers",
        "report-runs",
        "reports",
        "open-data/scores",
    ]
    assert body["answers"] == "http://testserver/api/v1/answers/"
    assert body["open-data/scores"] == "http://testserver/api/v1/open-data/scores/"
