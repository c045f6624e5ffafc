"""Reads of the framework."""

from __future__ import annotations

from django.db.models import Prefetch

from .choices import FrameworkStatus
from .models import Dimension, Element, FrameworkVersion, Indicator


def current_framework(*, slug: str | None = None) -> FrameworkVersion | None:
    """The framework version the portal shows by default: the newest frozen one (in use by a
    cycle), else the newest draft."""
    versions = FrameworkVersion.objects.all()
    if slug:
        versions = versions.filter(slug=slug)
    return (
        versions.filter(status=FrameworkStatus.FROZEN).order_by("-frozen_at", "-version").first()
        or versions.order_by("-version").first()
    )


def framework_tree(*, framework: FrameworkVersion):
    """Dimensions with elements, indicators and level descriptors, in four queries."""
    return framework.dimensions.order_by("order").prefetch_related(
        Prefetch("elements", queryset=Element.objects.order_by("order")),
        Prefetch("elements__indicators", queryset=Indicator.objects.order_by("order")),
        "elements__indicators__levels",
    )


__all__ = ["Dimension", "current_framework", "framework_tree"]
