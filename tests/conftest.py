"""Shared fixtures: the cast of users that makes permission tests read like the permission table."""

import contextlib
import io
from types import SimpleNamespace

import pytest
from django.core.management import call_command

from regions.choices import MemberRole, RegionKind
from tests.factories import AgencyFactory, MembershipFactory, RegionFactory, UserFactory


@pytest.fixture(autouse=True)
def default_language():
    """A request to an /en/ page leaves English active in the thread; every test starts and
    ends in the default language, so no test depends on the one before it."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def fresh_public_page_cache():
    """A page cached by one test (in this process's memory or the shared cache) is never
    served to the next, whose database was rolled back without any save signal."""
    from django.core.cache import cache

    from smartprov import public_cache

    public_cache.local_pages.clear()
    public_cache.forget_generation()
    # A test that takes the cache down cleans up after itself; nothing to forget then.
    with contextlib.suppress(Exception):
        cache.delete(public_cache.GENERATION_KEY)
    yield


@pytest.fixture
def province(db):
    return RegionFactory(code="33", name="Provinsi Jawa Tengah", kind=RegionKind.PROVINCE)


@pytest.fixture
def cast(db, province):
    """Operator of agency A (Kota Semarang), operator of agency B in another region (Demak),
    a coordinator of region A, a reviewer, an administrator and the anonymous public."""
    region_a = RegionFactory(
        code="3374", name="Kota Semarang", kind=RegionKind.CITY, parent=province
    )
    region_b = RegionFactory(
        code="3321", name="Kabupaten Demak", kind=RegionKind.REGENCY, parent=province
    )
    agency_a = AgencyFactory(region=region_a, short_name="Diskominfo", slug="diskominfo")
    agency_a2 = AgencyFactory(region=region_a, short_name="Dinkes", slug="dinkes")
    agency_b = AgencyFactory(region=region_b, short_name="Dinkominfo", slug="dinkominfo")
    operator_a = MembershipFactory(
        user=UserFactory(username="op-a"), role=MemberRole.OPERATOR, agency=agency_a
    ).user
    operator_a2 = MembershipFactory(
        user=UserFactory(username="op-a2"), role=MemberRole.OPERATOR, agency=agency_a2
    ).user
    operator_b = MembershipFactory(
        user=UserFactory(username="op-b"), role=MemberRole.OPERATOR, agency=agency_b
    ).user
    coordinator_a = MembershipFactory(
        user=UserFactory(username="coord-a"),
        role=MemberRole.COORDINATOR,
        agency=None,
        region=region_a,
    ).user
    reviewer = MembershipFactory(
        user=UserFactory(username="reviewer"), role=MemberRole.REVIEWER, agency=None, region=None
    ).user
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    MembershipFactory(user=admin, role=MemberRole.ADMINISTRATOR, agency=None, region=None)
    return SimpleNamespace(
        region_a=region_a,
        region_b=region_b,
        agency_a=agency_a,
        agency_a2=agency_a2,
        agency_b=agency_b,
        operator_a=operator_a,
        operator_a2=operator_a2,
        operator_b=operator_b,
        coordinator_a=coordinator_a,
        reviewer=reviewer,
        admin=admin,
    )


@pytest.fixture
def reference_data(db):
    """The real reference data from the fixture files."""
    call_command("seed_reference", stdout=io.StringIO())
