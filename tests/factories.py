"""factory_boy factories for the reference data and people. Tests build what they need."""

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from dimensions.models import Dimension, Element, FrameworkVersion, Indicator, LevelDescriptor
from regions.choices import AgencyRole, MemberRole, RegionKind
from regions.models import Agency, AgencyElementRole, Cluster, ClusterMembership, Membership, Region


class FrameworkVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FrameworkVersion

    slug = "test-framework"
    version = factory.Sequence(lambda n: n + 1)
    name_ind = factory.Sequence(lambda n: f"Kerangka Uji {n}")
    name_en = factory.Sequence(lambda n: f"Test framework {n}")


class DimensionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dimension

    framework = factory.SubFactory(FrameworkVersionFactory)
    code = factory.Sequence(lambda n: f"D{n}")
    name_ind = factory.Sequence(lambda n: f"Dimensi {n}")
    name_en = factory.Sequence(lambda n: f"Dimension {n}")
    weight = Decimal(1)


class ElementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Element

    dimension = factory.SubFactory(DimensionFactory)
    code = factory.Sequence(lambda n: f"E{n}")
    name_ind = factory.Sequence(lambda n: f"Elemen {n}")
    name_en = factory.Sequence(lambda n: f"Element {n}")
    weight = Decimal(1)


class IndicatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Indicator
        skip_postgeneration_save = True

    element = factory.SubFactory(ElementFactory)
    code = factory.Sequence(lambda n: f"I{n:03d}")
    name_ind = factory.Sequence(lambda n: f"Indikator {n}")
    name_en = factory.Sequence(lambda n: f"Indicator {n}")
    weight = Decimal(1)

    @factory.post_generation
    def levels(self, create, extracted, **kwargs):
        """Five descriptors by default; pass levels=[1, 2] for fewer (or [] for none)."""
        if not create:
            return
        wanted = range(1, 6) if extracted is None else extracted
        for level in wanted:
            LevelDescriptorFactory(indicator=self, level=level)


class LevelDescriptorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LevelDescriptor

    indicator = factory.SubFactory(IndicatorFactory, levels=[])
    level = 1
    descriptor_ind = factory.LazyAttribute(lambda o: f"Deskriptor tingkat {o.level}")
    descriptor_en = factory.LazyAttribute(lambda o: f"Level {o.level} descriptor")
    evidence_required = factory.LazyAttribute(lambda o: o.level >= 2)


def build_framework(*, dimensions: int = 2, elements: int = 2, indicators: int = 2, **kwargs):
    """A complete framework version: every indicator with five descriptors."""
    framework = FrameworkVersionFactory(**kwargs)
    for d in range(1, dimensions + 1):
        dimension = DimensionFactory(framework=framework, code=f"D{d}", order=d)
        for e in range(1, elements + 1):
            element = ElementFactory(dimension=dimension, code=f"D{d}-E{e}", order=e)
            for i in range(1, indicators + 1):
                IndicatorFactory(element=element, code=f"D{d}-E{e}-{i:02d}", order=i)
    return framework


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"33{(n % 60) + 1:02d}")
    name = factory.LazyAttribute(lambda o: f"Kabupaten Uji {o.code}")
    kind = RegionKind.REGENCY


class ClusterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cluster
        django_get_or_create = ("slug",)

    slug = "semarang-raya"
    name_ind = "Semarang Raya"
    name_en = "Greater Semarang"


class ClusterMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClusterMembership

    cluster = factory.SubFactory(ClusterFactory)
    region = factory.SubFactory(RegionFactory)
    valid_from = factory.Faker("date_between", start_date="-3y", end_date="-1y")


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency

    region = factory.SubFactory(RegionFactory)
    short_name = factory.Sequence(lambda n: f"Dinas{n}")
    slug = factory.LazyAttribute(lambda o: o.short_name.lower())
    name = factory.LazyAttribute(lambda o: f"Dinas Uji {o.short_name}")


class AgencyElementRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgencyElementRole

    agency = factory.SubFactory(AgencyFactory)
    region = factory.LazyAttribute(lambda o: o.agency.region)
    element_code = "GOV-SVC"
    role = AgencyRole.LEAD


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Faker("name", locale="id_ID")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.test")
    password = factory.django.Password("correct horse battery staple")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    role = MemberRole.OPERATOR
    agency = factory.SubFactory(AgencyFactory)
    region = factory.LazyAttribute(lambda o: o.agency.region if o.agency else None)
