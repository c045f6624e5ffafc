import datetime

import pytest

from assessments.models import Answer
from assessments.services import cycle_open
from regions.choices import AgencyRole
from tests.factories import AgencyElementRoleFactory, build_framework


@pytest.fixture
def framework(db):
    """2 dimensions × 2 elements × 2 indicators; levels ≥ 2 require evidence."""
    return build_framework(slug="uji", dimensions=2, elements=2, indicators=2)


@pytest.fixture
def element_codes(framework):
    return [f"D{d}-E{e}" for d in (1, 2) for e in (1, 2)]


@pytest.fixture
def cycle(cast, framework, element_codes):
    """An open cycle for regions A and B. In region A, agency A leads D1-E1 and D1-E2 and
    agency A2 leads D2-*, supporting D1-E1; in region B, agency B leads everything."""
    for code in element_codes:
        lead_a = cast.agency_a if code.startswith("D1") else cast.agency_a2
        AgencyElementRoleFactory(agency=lead_a, element_code=code, role=AgencyRole.LEAD)
        AgencyElementRoleFactory(agency=cast.agency_b, element_code=code, role=AgencyRole.LEAD)
    AgencyElementRoleFactory(
        agency=cast.agency_a2, element_code="D1-E1", role=AgencyRole.SUPPORTING
    )
    today = datetime.date.today()
    return cycle_open(
        actor=cast.admin,
        framework=framework,
        year=today.year,
        name=f"Siklus {today.year}",
        regions=[cast.region_a, cast.region_b],
        starts_on=today - datetime.timedelta(days=10),
        entry_deadline=today + datetime.timedelta(days=20),
        review_deadline=today + datetime.timedelta(days=40),
    )


@pytest.fixture
def answers_a(cycle, cast):
    """Region A's answers owned by agency A (4 answers)."""
    return list(
        Answer.objects.filter(assessment__cycle=cycle, agency=cast.agency_a).order_by(
            "indicator__code"
        )
    )
