"""The maturity framework: version → dimension → element → indicator → five level descriptors.

A framework version is editable while it is a draft. Once a cycle uses it, it is frozen: every
save, delete and queryset update of it or its content raises `FrameworkFrozenError`. Changes then
go into a clone (`dimensions.services.framework_clone`), so that every past cycle keeps the exact
framework it was assessed with.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import FrameworkStatus, MaturityLevel
from .exceptions import FrameworkFrozenError

POSITIVE = [MinValueValidator(Decimal("0.0001"))]


def weight_field() -> models.DecimalField:
    return models.DecimalField(
        _("weight"),
        max_digits=9,
        decimal_places=4,
        default=Decimal(1),
        validators=POSITIVE,
        help_text=_("Positive. Weights are normalised among siblings, so only ratios matter."),
    )


class FrameworkVersionQuerySet(models.QuerySet):
    def frozen(self):
        return self.filter(status=FrameworkStatus.FROZEN)

    def update(self, **kwargs):
        if self.frozen().exists():
            raise FrameworkFrozenError()
        return super().update(**kwargs)

    def delete(self):
        if self.frozen().exists():
            raise FrameworkFrozenError()
        return super().delete()


class FrameworkVersion(models.Model):
    """One version of a maturity framework, e.g. "Provinsi Cerdas Jawa Tengah" v1.

    Versions of the same framework share a `slug` (the lineage); trends across cycles compare
    results within one lineage.
    """

    slug = models.SlugField(_("lineage"), max_length=80)
    version = models.PositiveIntegerField(_("version"))
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=FrameworkStatus.choices, default=FrameworkStatus.DRAFT
    )
    cloned_from = models.ForeignKey(
        "self",
        verbose_name=_("cloned from"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="clones",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    frozen_at = models.DateTimeField(_("frozen"), null=True, blank=True)

    objects = FrameworkVersionQuerySet.as_manager()

    class Meta:
        verbose_name = _("framework version")
        verbose_name_plural = _("framework versions")
        ordering = ["slug", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["slug", "version"], name="framework_unique_version"),
            models.CheckConstraint(
                condition=models.Q(status=FrameworkStatus.DRAFT)
                | models.Q(frozen_at__isnull=False),
                name="framework_frozen_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def save(self, *args, **kwargs):
        if self._stored_is_frozen():
            raise FrameworkFrozenError()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._stored_is_frozen():
            raise FrameworkFrozenError()
        return super().delete(*args, **kwargs)

    @property
    def is_frozen(self) -> bool:
        return self.status == FrameworkStatus.FROZEN

    def _stored_is_frozen(self) -> bool:
        if self.pk is None:
            return False
        return type(self).objects.filter(pk=self.pk, status=FrameworkStatus.FROZEN).exists()


class FrameworkContentQuerySet(models.QuerySet):
    """Refuses bulk updates and deletes that would touch a frozen framework version."""

    def touching_frozen(self) -> bool:
        return self.filter(
            **{f"{self.model.framework_path}__status": FrameworkStatus.FROZEN}
        ).exists()

    def update(self, **kwargs):
        if self.touching_frozen():
            raise FrameworkFrozenError()
        return super().update(**kwargs)

    def delete(self):
        if self.touching_frozen():
            raise FrameworkFrozenError()
        return super().delete()


class FrameworkContent(models.Model):
    """Shared guard: content of a frozen framework version cannot be saved or deleted."""

    framework_path = "framework"

    objects = FrameworkContentQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self._framework_is_frozen() or self._previous_framework_is_frozen():
            raise FrameworkFrozenError()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._framework_is_frozen():
            raise FrameworkFrozenError()
        return super().delete(*args, **kwargs)

    def get_framework_id(self) -> int:
        raise NotImplementedError

    def _framework_is_frozen(self) -> bool:
        return FrameworkVersion.objects.filter(
            pk=self.get_framework_id(), status=FrameworkStatus.FROZEN
        ).exists()

    def _previous_framework_is_frozen(self) -> bool:
        # Moving a row out of a frozen version is a change to that version too.
        if self.pk is None:
            return False
        return (
            type(self)
            .objects.filter(
                pk=self.pk, **{f"{self.framework_path}__status": FrameworkStatus.FROZEN}
            )
            .exists()
        )


class Dimension(FrameworkContent):
    """One of the six smart-province dimensions (governance, branding, economy, ...)."""

    framework = models.ForeignKey(
        FrameworkVersion,
        verbose_name=_("framework version"),
        on_delete=models.CASCADE,
        related_name="dimensions",
    )
    code = models.CharField(_("code"), max_length=12)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    weight = weight_field()
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    framework_path = "framework"

    class Meta:
        verbose_name = _("dimension")
        verbose_name_plural = _("dimensions")
        ordering = ["framework", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["framework", "code"], name="dimension_unique_code"),
            models.CheckConstraint(
                condition=models.Q(weight__gt=0), name="dimension_weight_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} – {self.name}"

    def get_framework_id(self) -> int:
        return self.framework_id


class Element(FrameworkContent):
    """An element of a dimension (e.g. GOV-SVC, public services), served by agencies."""

    dimension = models.ForeignKey(
        Dimension, verbose_name=_("dimension"), on_delete=models.CASCADE, related_name="elements"
    )
    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    weight = weight_field()
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    framework_path = "dimension__framework"

    class Meta:
        verbose_name = _("element")
        verbose_name_plural = _("elements")
        ordering = ["dimension__order", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["dimension", "code"], name="element_unique_code"),
            models.CheckConstraint(
                condition=models.Q(weight__gt=0), name="element_weight_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} – {self.name}"

    def get_framework_id(self) -> int:
        return Dimension.objects.values_list("framework_id", flat=True).get(pk=self.dimension_id)


class Indicator(FrameworkContent):
    """A question an agency answers with a maturity level from 1 to 5."""

    element = models.ForeignKey(
        Element, verbose_name=_("element"), on_delete=models.CASCADE, related_name="indicators"
    )
    code = models.CharField(_("code"), max_length=24)
    name = models.CharField(_("name"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    weight = weight_field()
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    framework_path = "element__dimension__framework"

    class Meta:
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        ordering = ["element__dimension__order", "element__order", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["element", "code"], name="indicator_unique_code"),
            models.CheckConstraint(
                condition=models.Q(weight__gt=0), name="indicator_weight_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} – {self.name}"

    def get_framework_id(self) -> int:
        return Element.objects.values_list("dimension__framework_id", flat=True).get(
            pk=self.element_id
        )


class LevelDescriptor(FrameworkContent):
    """What must be true to claim one maturity level of an indicator, and the evidence expected."""

    indicator = models.ForeignKey(
        Indicator, verbose_name=_("indicator"), on_delete=models.CASCADE, related_name="levels"
    )
    level = models.PositiveSmallIntegerField(_("level"), choices=MaturityLevel.choices)
    descriptor = models.TextField(_("descriptor"))
    evidence = models.TextField(_("evidence expected"), blank=True)
    evidence_required = models.BooleanField(
        _("evidence required"),
        default=False,
        help_text=_("An answer at this level cannot be submitted without evidence."),
    )

    framework_path = "indicator__element__dimension__framework"

    class Meta:
        verbose_name = _("level descriptor")
        verbose_name_plural = _("level descriptors")
        ordering = ["indicator", "level"]
        constraints = [
            models.UniqueConstraint(fields=["indicator", "level"], name="descriptor_unique_level"),
            models.CheckConstraint(
                condition=models.Q(level__gte=1, level__lte=5), name="descriptor_level_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.indicator.code} · {self.get_level_display()}"

    def get_framework_id(self) -> int:
        return Indicator.objects.values_list("element__dimension__framework_id", flat=True).get(
            pk=self.indicator_id
        )
