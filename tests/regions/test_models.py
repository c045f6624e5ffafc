import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from regions.choices import AgencyRole, MemberRole, RegionKind
from regions.models import Membership, Region
from tests.factories import (
    AgencyElementRoleFactory,
    AgencyFactory,
    ClusterFactory,
    ClusterMembershipFactory,
    RegionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("code", "kind"),
    [("33", RegionKind.PROVINCE), ("3321", RegionKind.REGENCY), ("3374", RegionKind.CITY)],
)
def test_region_codes_that_follow_the_kemendagri_rule_are_accepted(code, kind):
    assert Region.objects.create(code=code, name="x", kind=kind).pk


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("3374", RegionKind.REGENCY),  # 71–99 is a city
        ("3321", RegionKind.CITY),  # 01–69 is a regency
        ("3370", RegionKind.CITY),
        ("3300", RegionKind.REGENCY),
        ("337", RegionKind.CITY),
        ("3374", RegionKind.PROVINCE),
    ],
)
def test_region_codes_that_break_the_kemendagri_rule_are_refused(code, kind):
    with pytest.raises(IntegrityError), transaction.atomic():
        Region.objects.create(code=code, name="x", kind=kind)


def test_dotted_code_is_written_the_kemendagri_way():
    assert RegionFactory.build(code="3374").dotted_code == "33.74"
    assert RegionFactory.build(code="33", kind=RegionKind.PROVINCE).dotted_code == "33"


def test_an_element_has_exactly_one_lead_agency_per_region():
    first = AgencyElementRoleFactory(
        agency=AgencyFactory(region=RegionFactory(code="3321")),
        element_code="LIV-HEA",
        role=AgencyRole.LEAD,
    )
    other = AgencyFactory(region=first.region)
    with pytest.raises(IntegrityError), transaction.atomic():
        AgencyElementRoleFactory(agency=other, element_code="LIV-HEA", role=AgencyRole.LEAD)
    # Supporting roles are not limited, and another region has its own lead.
    AgencyElementRoleFactory(agency=other, element_code="LIV-HEA", role=AgencyRole.SUPPORTING)
    AgencyElementRoleFactory(
        agency=AgencyFactory(region=RegionFactory(code="3322")),
        element_code="LIV-HEA",
        role=AgencyRole.LEAD,
    )


def test_an_agency_has_one_role_per_element():
    role = AgencyElementRoleFactory(element_code="ENV-WST", role=AgencyRole.LEAD)
    with pytest.raises(IntegrityError), transaction.atomic():
        AgencyElementRoleFactory(
            agency=role.agency, element_code="ENV-WST", role=AgencyRole.SUPPORTING
        )


def test_a_role_cannot_put_an_agency_in_another_regions_map():
    # Both regions named: the factory's code sequence could otherwise give the agency's
    # region the very code of the other one (get_or_create would then return the same row).
    role = AgencyElementRoleFactory.build(
        agency=AgencyFactory(region=RegionFactory(code="3321")),
        region=RegionFactory(code="3324"),
        element_code="ECO-IND",
    )
    with pytest.raises(ValidationError) as error:
        role.full_clean()
    assert "agency" in error.value.message_dict


def test_cluster_membership_is_dated():
    cluster = ClusterFactory()
    semarang = RegionFactory(code="3374", kind=RegionKind.CITY)
    salatiga = RegionFactory(code="3373", kind=RegionKind.CITY)
    former = RegionFactory(code="3324")
    ClusterMembershipFactory(cluster=cluster, region=semarang, valid_from=datetime.date(2024, 1, 1))
    ClusterMembershipFactory(cluster=cluster, region=salatiga, valid_from=datetime.date(2026, 1, 1))
    ClusterMembershipFactory(
        cluster=cluster,
        region=former,
        valid_from=datetime.date(2024, 1, 1),
        valid_until=datetime.date(2025, 6, 30),
    )
    assert set(cluster.members_on(datetime.date(2025, 3, 1))) == {semarang, former}
    assert set(cluster.members_on(datetime.date(2026, 3, 1))) == {semarang, salatiga}


def test_membership_end_cannot_precede_its_start():
    with pytest.raises(IntegrityError), transaction.atomic():
        ClusterMembershipFactory(
            valid_from=datetime.date(2025, 1, 1), valid_until=datetime.date(2024, 1, 1)
        )


@pytest.mark.parametrize(
    ("role", "with_agency", "with_region", "valid"),
    [
        (MemberRole.OPERATOR, True, True, True),
        (MemberRole.OPERATOR, False, True, False),
        (MemberRole.COORDINATOR, False, True, True),
        (MemberRole.COORDINATOR, False, False, False),
        (MemberRole.COORDINATOR, True, True, False),
        (MemberRole.REVIEWER, False, False, True),
        (MemberRole.REVIEWER, True, True, False),
        (MemberRole.ADMINISTRATOR, False, False, True),
    ],
)
def test_a_membership_scope_matches_its_role(role, with_agency, with_region, valid):
    agency = AgencyFactory()
    kwargs = {
        "user": UserFactory(),
        "role": role,
        "agency": agency if with_agency else None,
        "region": agency.region if with_region else None,
    }
    if valid:
        assert Membership.objects.create(**kwargs).pk
    else:
        with pytest.raises(IntegrityError), transaction.atomic():
            Membership.objects.create(**kwargs)
