import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.utils.text import slugify

from dimensions.models import Dimension, Element, FrameworkVersion, Indicator, LevelDescriptor
from regions.choices import AgencyRole, RegionKind
from regions.models import Agency, AgencyElementRole, Cluster, ClusterMembership, Region

pytestmark = pytest.mark.django_db

SEMARANG_RAYA = {"3374", "3322", "3321", "3324", "3373"}
ELEMENTS = {
    "GOV": ["GOV-SVC", "GOV-BUR", "GOV-POL"],
    "BRA": ["BRA-TOU", "BRA-BIZ", "BRA-CIT"],
    "ECO": ["ECO-IND", "ECO-WEL", "ECO-TRX"],
    "LIV": ["LIV-HAR", "LIV-HEA", "LIV-MOB"],
    "SOC": ["SOC-COM", "SOC-EDU", "SOC-SEC"],
    "ENV": ["ENV-PRO", "ENV-WST", "ENV-ENR"],
}


def snapshot():
    """Every reference row, as values, to compare two seeds."""
    models = [
        FrameworkVersion,
        Dimension,
        Element,
        Indicator,
        LevelDescriptor,
        Region,
        Cluster,
        ClusterMembership,
        Agency,
        AgencyElementRole,
    ]
    return {m.__name__: sorted(map(str, m.objects.values_list())) for m in models}


def test_the_framework_has_six_dimensions_eighteen_elements_and_bilingual_descriptors(
    reference_data,
):
    framework = FrameworkVersion.objects.get(slug="provinsi-cerdas-jateng", version=1)
    assert framework.name_ind == "Provinsi Cerdas Jawa Tengah"
    dimensions = list(framework.dimensions.order_by("order"))
    assert [d.code for d in dimensions] == list(ELEMENTS)
    for dimension in dimensions:
        assert [e.code for e in dimension.elements.order_by("order")] == ELEMENTS[dimension.code]
    indicators = Indicator.objects.filter(element__dimension__framework=framework)
    assert indicators.count() >= 54
    for element in Element.objects.filter(dimension__framework=framework):
        assert element.indicators.count() >= 3, element.code
    descriptors = LevelDescriptor.objects.filter(indicator__in=indicators)
    assert descriptors.count() == indicators.count() * 5
    assert not descriptors.filter(descriptor_ind="").exists()
    assert not descriptors.filter(descriptor_en="").exists()
    # Written for each indicator, not copy-pasted filler.
    texts = Counter(descriptors.values_list("descriptor_ind", flat=True))
    assert texts.most_common(1)[0][1] == 1
    assert not descriptors.filter(evidence_required=True, evidence_ind="").exists()


def test_regions_and_semarang_raya_membership(reference_data):
    province = Region.objects.get(code="33")
    assert province.kind == RegionKind.PROVINCE
    assert (
        set(Region.objects.filter(parent=province).values_list("code", flat=True)) == SEMARANG_RAYA
    )
    assert Region.objects.get(code="3374").name == "Kota Semarang"
    assert Region.objects.get(code="3373").kind == RegionKind.CITY
    salatiga = ClusterMembership.objects.get(cluster__slug="semarang-raya", region__code="3373")
    others = ClusterMembership.objects.filter(cluster__slug="semarang-raya").exclude(
        region__code="3373"
    )
    assert all(m.valid_from < salatiga.valid_from for m in others)  # Salatiga joins later


def test_every_region_has_ten_agencies_and_a_lead_for_all_eighteen_elements(reference_data):
    all_elements = {code for codes in ELEMENTS.values() for code in codes}
    for region in Region.objects.all():
        agencies = Agency.objects.filter(region=region)
        assert agencies.count() >= 10, region.code
        for agency in agencies:
            assert agency.slug == slugify(agency.short_name)
        leads = AgencyElementRole.objects.filter(region=region, role=AgencyRole.LEAD)
        assert sorted(leads.values_list("element_code", flat=True)) == sorted(all_elements), (
            region.code
        )
    assert Agency.objects.get(region__code="3374", slug="diskominfo").name == (
        "Dinas Komunikasi, Informatika, Statistik dan Persandian"
    )


def test_seeding_twice_changes_nothing(reference_data):
    before = snapshot()
    out = io.StringIO()
    call_command("seed_reference", stdout=out)
    assert snapshot() == before
    assert "seed_reference: 0 rows written" in out.getvalue()


def test_seeding_leaves_a_frozen_framework_version_untouched(reference_data):
    from dimensions.services import framework_freeze

    framework = FrameworkVersion.objects.get(slug="provinsi-cerdas-jateng", version=1)
    framework_freeze(framework=framework)
    before = snapshot()
    call_command("seed_reference", stdout=io.StringIO())
    assert snapshot() == before
