from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from dimensions.choices import FrameworkStatus
from dimensions.exceptions import FrameworkFrozenError, FrameworkIncompleteError
from dimensions.models import Dimension, Element, FrameworkVersion, Indicator, LevelDescriptor
from dimensions.services import framework_clone, framework_freeze, framework_problems
from tests.factories import (
    DimensionFactory,
    ElementFactory,
    IndicatorFactory,
    LevelDescriptorFactory,
    build_framework,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("weight", [Decimal(0), Decimal(-1)])
@pytest.mark.parametrize("factory", [DimensionFactory, ElementFactory, IndicatorFactory])
def test_weights_must_be_positive_in_the_database(factory, weight):
    with pytest.raises(IntegrityError), transaction.atomic():
        factory(weight=weight)


def test_weight_validation_gives_a_field_error_before_saving():
    dimension = DimensionFactory.build(framework=build_framework(dimensions=0), weight=Decimal(0))
    with pytest.raises(ValidationError) as error:
        dimension.full_clean()
    assert "weight" in error.value.message_dict


@pytest.mark.parametrize("level", [0, 6])
def test_level_descriptor_level_is_between_one_and_five(level):
    indicator = IndicatorFactory(levels=[])
    with pytest.raises(IntegrityError), transaction.atomic():
        LevelDescriptorFactory(indicator=indicator, level=level)


def test_an_indicator_cannot_have_two_descriptors_for_one_level():
    indicator = IndicatorFactory(levels=[1])
    with pytest.raises(IntegrityError), transaction.atomic():
        LevelDescriptorFactory(indicator=indicator, level=1)


def test_a_complete_framework_has_no_problems():
    assert framework_problems(framework=build_framework()) == []


def test_an_indicator_without_five_descriptors_is_reported_and_blocks_freezing():
    framework = build_framework(dimensions=1, elements=1, indicators=1)
    IndicatorFactory(
        element=Element.objects.get(dimension__framework=framework), code="X-01", levels=[1, 2, 3]
    )
    problems = framework_problems(framework=framework)
    assert len(problems) == 1 and "X-01" in problems[0]
    with pytest.raises(FrameworkIncompleteError):
        framework_freeze(framework=framework)
    framework.refresh_from_db()
    assert framework.status == FrameworkStatus.DRAFT


def test_freezing_marks_the_version_frozen_with_a_date_and_is_idempotent():
    framework = build_framework()
    framework_freeze(framework=framework)
    assert framework.status == FrameworkStatus.FROZEN and framework.frozen_at is not None
    first_date = framework.frozen_at
    framework_freeze(framework=framework)
    framework.refresh_from_db()
    assert framework.frozen_at == first_date


@pytest.fixture
def frozen():
    framework = build_framework()
    framework_freeze(framework=framework)
    return framework


def test_a_frozen_version_rejects_saving_itself(frozen):
    frozen.name_en = "Changed"
    with pytest.raises(FrameworkFrozenError):
        frozen.save()


def test_a_frozen_version_cannot_be_deleted(frozen):
    with pytest.raises(FrameworkFrozenError):
        frozen.delete()
    with pytest.raises(FrameworkFrozenError):
        FrameworkVersion.objects.filter(pk=frozen.pk).delete()
    assert FrameworkVersion.objects.filter(pk=frozen.pk).exists()


@pytest.mark.parametrize("model", [Dimension, Element, Indicator, LevelDescriptor])
def test_content_of_a_frozen_version_rejects_save_delete_and_bulk_update(frozen, model):
    path = {
        Dimension: "framework",
        Element: "dimension__framework",
        Indicator: "element__dimension__framework",
        LevelDescriptor: "indicator__element__dimension__framework",
    }[model]
    row = model.objects.filter(**{path: frozen}).first()
    with pytest.raises(FrameworkFrozenError):
        row.save()
    with pytest.raises(FrameworkFrozenError):
        row.delete()
    field = "evidence_required" if model is LevelDescriptor else "weight"
    value = True if model is LevelDescriptor else Decimal(7)
    with pytest.raises(FrameworkFrozenError):
        model.objects.filter(pk=row.pk).update(**{field: value})
    row.refresh_from_db()
    assert getattr(row, field) != value


def test_new_content_cannot_be_added_to_a_frozen_version(frozen):
    with pytest.raises(FrameworkFrozenError):
        DimensionFactory(framework=frozen, code="NEW")
    dimension = frozen.dimensions.first()
    with pytest.raises(FrameworkFrozenError):
        ElementFactory(dimension=dimension, code="NEW-E")


def test_content_cannot_be_moved_out_of_a_frozen_version(frozen):
    draft = build_framework(dimensions=1, elements=0)
    element = Element.objects.filter(dimension__framework=frozen).first()
    element.dimension = draft.dimensions.first()
    with pytest.raises(FrameworkFrozenError):
        element.save()


def test_a_draft_version_stays_editable():
    framework = build_framework()
    dimension = framework.dimensions.first()
    dimension.weight = Decimal(3)
    dimension.save()
    assert Dimension.objects.get(pk=dimension.pk).weight == Decimal(3)


def test_cloning_copies_the_whole_tree_into_the_next_draft_version(frozen):
    clone = framework_clone(framework=frozen)
    assert clone.status == FrameworkStatus.DRAFT
    assert clone.version == frozen.version + 1 and clone.slug == frozen.slug
    assert clone.cloned_from == frozen
    assert clone.name_ind == frozen.name_ind and clone.name_en == frozen.name_en

    def tree(framework):
        return sorted(
            (
                d.code,
                d.weight,
                e.code,
                e.weight,
                i.code,
                i.weight,
                lv.level,
                lv.descriptor_ind,
                lv.descriptor_en,
                lv.evidence_required,
            )
            for d in framework.dimensions.all()
            for e in d.elements.all()
            for i in e.indicators.all()
            for lv in i.levels.all()
        )

    assert tree(clone) == tree(frozen)
    assert len(tree(clone)) == 2 * 2 * 2 * 5


def test_a_clone_is_independent_of_the_frozen_original(frozen):
    clone = framework_clone(framework=frozen)
    dimension = clone.dimensions.first()
    dimension.weight = Decimal(5)
    dimension.save()
    original = frozen.dimensions.get(code=dimension.code)
    assert original.weight == Decimal(1)


def test_versions_of_a_lineage_are_unique():
    framework = build_framework()
    with pytest.raises(IntegrityError), transaction.atomic():
        FrameworkVersion.objects.create(slug=framework.slug, version=framework.version, name="dup")
