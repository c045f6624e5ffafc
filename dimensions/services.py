"""Every write to the framework: validation, freezing, cloning, loading from fixture files."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from smartprov.i18n import from_fixture, translated_values
from smartprov.upsert import upsert

from .choices import FrameworkStatus
from .exceptions import FrameworkIncompleteError
from .models import Dimension, Element, FrameworkVersion, Indicator, LevelDescriptor
from .translation import (
    DimensionTranslation,
    ElementTranslation,
    FrameworkVersionTranslation,
    IndicatorTranslation,
    LevelDescriptorTranslation,
)

LEVELS = (1, 2, 3, 4, 5)


def framework_problems(*, framework: FrameworkVersion) -> list[str]:
    """What keeps a framework version from being used by a cycle (empty when it is complete)."""
    problems: list[str] = []
    dimensions = list(
        framework.dimensions.prefetch_related("elements__indicators__levels").order_by("order")
    )
    if not dimensions:
        problems.append(_("The framework has no dimensions."))
    for dimension in dimensions:
        elements = list(dimension.elements.all())
        if not elements:
            problems.append(_("Dimension %(code)s has no elements.") % {"code": dimension.code})
        for element in elements:
            indicators = list(element.indicators.all())
            if not indicators:
                problems.append(_("Element %(code)s has no indicators.") % {"code": element.code})
            for indicator in indicators:
                levels = sorted(d.level for d in indicator.levels.all())
                if tuple(levels) != LEVELS:
                    problems.append(
                        _("Indicator %(code)s must have exactly five level descriptors (1 to 5).")
                        % {"code": indicator.code}
                    )
    return problems


@transaction.atomic
def framework_freeze(*, framework: FrameworkVersion) -> FrameworkVersion:
    """Freeze a complete draft version; called when a cycle starts to use it. Idempotent."""
    if framework.is_frozen:
        return framework
    problems = framework_problems(framework=framework)
    if problems:
        raise FrameworkIncompleteError(problems)
    now = timezone.now()
    # Compare-and-set: only a draft row moves; a concurrent freeze updates zero rows.
    FrameworkVersion.objects.filter(pk=framework.pk, status=FrameworkStatus.DRAFT).update(
        status=FrameworkStatus.FROZEN, frozen_at=now
    )
    framework.refresh_from_db(fields=["status", "frozen_at"])
    return framework


@transaction.atomic
def framework_clone(*, framework: FrameworkVersion) -> FrameworkVersion:
    """Copy a framework version (frozen or not) into the next draft version of its lineage."""
    next_version = (
        FrameworkVersion.objects.filter(slug=framework.slug).aggregate(v=Max("version"))["v"] or 0
    ) + 1
    clone = FrameworkVersion.objects.create(
        slug=framework.slug,
        version=next_version,
        status=FrameworkStatus.DRAFT,
        cloned_from=framework,
        **translated_values(framework, FrameworkVersionTranslation.fields),
    )
    dimensions = framework.dimensions.prefetch_related("elements__indicators__levels")
    for dimension in dimensions:
        new_dimension = Dimension.objects.create(
            framework=clone,
            code=dimension.code,
            weight=dimension.weight,
            order=dimension.order,
            **translated_values(dimension, DimensionTranslation.fields),
        )
        for element in dimension.elements.all():
            new_element = Element.objects.create(
                dimension=new_dimension,
                code=element.code,
                weight=element.weight,
                order=element.order,
                **translated_values(element, ElementTranslation.fields),
            )
            for indicator in element.indicators.all():
                new_indicator = Indicator.objects.create(
                    element=new_element,
                    code=indicator.code,
                    weight=indicator.weight,
                    order=indicator.order,
                    **translated_values(indicator, IndicatorTranslation.fields),
                )
                LevelDescriptor.objects.bulk_create(
                    LevelDescriptor(
                        indicator=new_indicator,
                        level=level.level,
                        evidence_required=level.evidence_required,
                        **translated_values(level, LevelDescriptorTranslation.fields),
                    )
                    for level in indicator.levels.all()
                )
    return clone


@transaction.atomic
def framework_load(*, data: dict) -> tuple[FrameworkVersion, int]:
    """Create or update a framework version from its parsed fixture (see docs/reference-data.md).

    Returns the version and the number of rows created or changed. A frozen version is left
    untouched when its fixture matches it, and refused when the fixture would change it.
    """
    from decimal import Decimal

    framework = FrameworkVersion.objects.filter(slug=data["slug"], version=data["version"]).first()
    if framework is not None and framework.is_frozen:
        return framework, 0
    framework, created = upsert(
        FrameworkVersion,
        {"slug": data["slug"], "version": data["version"]},
        from_fixture(data, "name", "description"),
    )
    changes = int(created)
    for d_order, dim in enumerate(data["dimensions"], start=1):
        dimension, changed = upsert(
            Dimension,
            {"framework": framework, "code": dim["code"]},
            {
                **from_fixture(dim, "name", "description"),
                "weight": Decimal(str(dim.get("weight", 1))),
                "order": d_order,
            },
        )
        changes += changed
        for e_order, el in enumerate(dim["elements"], start=1):
            element, changed = upsert(
                Element,
                {"dimension": dimension, "code": el["code"]},
                {
                    **from_fixture(el, "name", "description"),
                    "weight": Decimal(str(el.get("weight", 1))),
                    "order": e_order,
                },
            )
            changes += changed
            for i_order, ind in enumerate(el["indicators"], start=1):
                indicator, changed = upsert(
                    Indicator,
                    {"element": element, "code": ind["code"]},
                    {
                        **from_fixture(ind, "name", "description"),
                        "weight": Decimal(str(ind.get("weight", 1))),
                        "order": i_order,
                    },
                )
                changes += changed
                for lvl in ind["levels"]:
                    _obj, changed = upsert(
                        LevelDescriptor,
                        {"indicator": indicator, "level": int(lvl["level"])},
                        {
                            **from_fixture(lvl, "descriptor", "evidence"),
                            "evidence_required": bool(lvl.get("evidence_required", False)),
                        },
                    )
                    changes += changed
    return framework, changes
