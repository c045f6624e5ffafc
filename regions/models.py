"""Regions (province, regencies, cities), the Semarang Raya cluster, agencies and memberships."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import AgencyRole, MemberRole, RegionKind

# Kemendagri code rule: a province has two digits; a regency or city adds two more,
# 01–69 for a kabupaten (regency) and 71–99 for a kota (city).
PROVINCE_CODE = r"^[0-9]{2}$"
REGENCY_CODE = r"^[0-9]{2}(0[1-9]|[1-6][0-9])$"
CITY_CODE = r"^[0-9]{2}(7[1-9]|[89][0-9])$"


class RegionQuerySet(models.QuerySet):
    def local_governments(self):
        return self.exclude(kind=RegionKind.PROVINCE)


class Region(models.Model):
    """A region with its Kemendagri code: the province, or one of its regencies and cities."""

    code = models.CharField(
        _("Kemendagri code"), max_length=10, unique=True, help_text=_("Plain code, e.g. 3374.")
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=12, choices=RegionKind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )

    objects = RegionQuerySet.as_manager()

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind=RegionKind.PROVINCE, code__regex=PROVINCE_CODE)
                    | models.Q(kind=RegionKind.REGENCY, code__regex=REGENCY_CODE)
                    | models.Q(kind=RegionKind.CITY, code__regex=CITY_CODE)
                ),
                name="region_code_matches_kind",
                violation_error_message=_(
                    "The code does not match the kind: a province has two digits; regencies "
                    "use 01–69 and cities 71–99 after the province code."
                ),
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def dotted_code(self) -> str:
        """The code as Kemendagri writes it (33.74)."""
        return self.code if len(self.code) <= 2 else f"{self.code[:2]}.{self.code[2:]}"

    def clean(self) -> None:
        if self.parent_id and not self.code.startswith(self.parent.code):
            raise ValidationError({"code": _("The code must start with the parent's code.")})


class Cluster(models.Model):
    """A group of regions that share problems, solutions and resources: Semarang Raya."""

    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    regions = models.ManyToManyField(
        Region, through="ClusterMembership", related_name="clusters", verbose_name=_("regions")
    )

    class Meta:
        verbose_name = _("cluster")
        verbose_name_plural = _("clusters")
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name

    def members_on(self, day: datetime.date) -> models.QuerySet[Region]:
        """The regions that take part on a given day (membership is dated, not a boolean)."""
        return (
            Region.objects.filter(
                cluster_memberships__cluster=self,
                cluster_memberships__valid_from__lte=day,
            )
            .exclude(cluster_memberships__valid_until__lt=day)
            .distinct()
        )


class ClusterMembership(models.Model):
    """A region's dated participation in a cluster (Kota Salatiga joins Semarang Raya later)."""

    cluster = models.ForeignKey(
        Cluster, verbose_name=_("cluster"), on_delete=models.CASCADE, related_name="memberships"
    )
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        on_delete=models.CASCADE,
        related_name="cluster_memberships",
    )
    valid_from = models.DateField(_("member from"))
    valid_until = models.DateField(_("member until"), null=True, blank=True)

    class Meta:
        verbose_name = _("cluster membership")
        verbose_name_plural = _("cluster memberships")
        ordering = ["cluster", "valid_from", "region__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "region", "valid_from"], name="membership_unique_start"
            ),
            models.CheckConstraint(
                condition=models.Q(valid_until__isnull=True)
                | models.Q(valid_until__gte=models.F("valid_from")),
                name="membership_dates_ordered",
                violation_error_message=_("The end date cannot be before the start date."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.region} ∈ {self.cluster}"


class Agency(models.Model):
    """A regional agency (perangkat daerah, OPD), named as its region names it."""

    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="agencies"
    )
    slug = models.SlugField(
        _("slug"), max_length=60, help_text=_("Lower-case slug of the short name, e.g. diskominfo.")
    )
    short_name = models.CharField(_("short name"), max_length=60)
    name = models.CharField(_("name"), max_length=300)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["region__code", "short_name"]
        constraints = [
            models.UniqueConstraint(fields=["region", "slug"], name="agency_unique_slug"),
        ]

    def __str__(self) -> str:
        return f"{self.short_name} ({self.region.name})"


class AgencyElementRole(models.Model):
    """Which agency answers for which framework element in a region, as lead or supporting.

    Kept by element code rather than by one framework version's element row, because an agency's
    field outlives framework revisions; a cycle resolves the code in its own framework version.
    `region` repeats the agency's region so that the database can enforce exactly one lead per
    element per region, and so the whole map of a region can be edited on one admin page.
    """

    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.CASCADE, related_name="element_roles"
    )
    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), on_delete=models.CASCADE, related_name="element_roles"
    )
    element_code = models.CharField(_("element code"), max_length=20)
    role = models.CharField(_("role"), max_length=12, choices=AgencyRole.choices)

    class Meta:
        verbose_name = _("agency–element role")
        verbose_name_plural = _("agency–element map")
        ordering = ["region__code", "element_code", "role", "agency__short_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "element_code"],
                condition=models.Q(role=AgencyRole.LEAD),
                name="one_lead_per_element_per_region",
                violation_error_message=_("This element already has a lead agency in this region."),
            ),
            models.UniqueConstraint(
                fields=["agency", "element_code"],
                name="agency_one_role_per_element",
                violation_error_message=_("This agency already has a role for this element."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.element_code}: {self.agency.short_name} ({self.get_role_display()})"

    def save(self, *args, **kwargs):
        if self.agency_id and not self.region_id:
            self.region_id = self.agency.region_id
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.agency_id and self.region_id and self.agency.region_id != self.region_id:
            raise ValidationError({"agency": _("The agency belongs to another region.")})


class Membership(models.Model):
    """A user's place in the portal: an agency (operator), a region (coordinator), or the
    province-wide reviewer and administrator roles."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    role = models.CharField(_("role"), max_length=16, choices=MemberRole.choices)
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    agency = models.ForeignKey(
        Agency,
        verbose_name=_("agency"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="memberships",
    )

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["user__username", "role"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(role=MemberRole.OPERATOR, agency__isnull=False, region__isnull=False)
                    | models.Q(
                        role=MemberRole.COORDINATOR, agency__isnull=True, region__isnull=False
                    )
                    | models.Q(
                        role__in=[MemberRole.REVIEWER, MemberRole.ADMINISTRATOR],
                        agency__isnull=True,
                    )
                ),
                name="membership_scope_matches_role",
                violation_error_message=_(
                    "An operator needs an agency and its region; a coordinator needs a region; "
                    "reviewers and administrators work province-wide."
                ),
            ),
        ]

    def __str__(self) -> str:
        scope = self.agency or self.region or _("province-wide")
        return f"{self.user} · {self.get_role_display()} · {scope}"

    def save(self, *args, **kwargs):
        if self.agency_id and not self.region_id:
            self.region_id = self.agency.region_id
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.agency_id and self.region_id and self.agency.region_id != self.region_id:
            raise ValidationError({"agency": _("The agency belongs to another region.")})


class RegionBoundary(models.Model):
    """A region's outline, loaded by an administrator from a GeoJSON file where boundaries are
    available (regions.boundaries): the public map draws it, coloured by index."""

    region = models.OneToOneField(
        Region,
        verbose_name=_("region"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="boundary",
    )
    geometry = models.JSONField(
        _("geometry"),
        help_text=_("A GeoJSON Polygon or MultiPolygon in longitude/latitude (WGS 84)."),
    )
    points = models.PositiveIntegerField(_("points"), default=0)
    source = models.CharField(
        _("source"),
        max_length=300,
        help_text=_("Where the boundaries come from, shown under the map (e.g. BIG, 2023)."),
    )
    loaded_at = models.DateTimeField(_("loaded at"), auto_now=True)
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("loaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("region boundary")
        verbose_name_plural = _("region boundaries")
        ordering = ["region__code"]

    def __str__(self) -> str:
        return str(self.region)
