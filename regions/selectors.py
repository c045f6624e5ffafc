"""Reads of regions, clusters, agencies and the agency–element map."""

from __future__ import annotations

import datetime

from django.db.models import QuerySet

from .choices import AgencyRole
from .models import Agency, AgencyElementRole, Cluster, Region

SEMARANG_RAYA = "semarang-raya"


def cluster_members_on(*, day: datetime.date, slug: str = SEMARANG_RAYA) -> QuerySet[Region]:
    cluster = Cluster.objects.filter(slug=slug).first()
    if cluster is None:
        return Region.objects.none()
    return cluster.members_on(day).order_by("code")


def lead_agencies(*, region: Region) -> dict[str, Agency]:
    """Element code → lead agency of a region."""
    return {
        r.element_code: r.agency
        for r in AgencyElementRole.objects.filter(
            region=region, role=AgencyRole.LEAD
        ).select_related("agency")
    }


def home_regions() -> tuple[Region | None, list[Region]]:
    """The province and the regions taking part in Semarang Raya today."""
    from django.utils import timezone

    from .choices import RegionKind

    province = Region.objects.filter(kind=RegionKind.PROVINCE).order_by("code").first()
    members = list(cluster_members_on(day=timezone.localdate()))
    return province, members
