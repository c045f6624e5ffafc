"""Framework versions and dimensions: reference data, readable by anyone (also anonymously)."""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.permissions import AllowAny

from smartprov.api import converters
from smartprov.api.filters import CodeFilter, IdFilter
from smartprov.api.views import ApiViewMixin

from ..choices import FrameworkStatus
from ..models import Dimension, Element, FrameworkVersion, Indicator, LevelDescriptor
from .serializers import DimensionSerializer, FrameworkListSerializer, FrameworkSerializer


def dimension_tree_queryset():
    """Dimensions with elements → indicators → level descriptors: four queries in all."""
    return Dimension.objects.order_by("framework_id", "order", "code").prefetch_related(
        Prefetch("elements", queryset=Element.objects.order_by("order", "code")),
        Prefetch("elements__indicators", queryset=Indicator.objects.order_by("order", "code")),
        Prefetch(
            "elements__indicators__levels", queryset=LevelDescriptor.objects.order_by("level")
        ),
    )


class FrameworkFilter(django_filters.FilterSet):
    slug = CodeFilter(help_text=_("Lineage, e.g. provinsi-cerdas-jateng."))
    status = django_filters.ChoiceFilter(choices=FrameworkStatus.choices)

    class Meta:
        model = FrameworkVersion
        fields = ["slug", "status"]


@extend_schema_view(
    list=extend_schema(summary=_("List framework versions")),
    retrieve=extend_schema(summary=_("One framework version with its whole tree")),
)
class FrameworkViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """Framework versions. The list is light; one version (GET /frameworks/{id}/) carries the
    whole tree: dimensions → elements → indicators → five level descriptors, with weights."""

    queryset = FrameworkVersion.objects.none()  # for the schema; see get_queryset
    permission_classes = [AllowAny]
    filterset_class = FrameworkFilter
    ordering_fields = ["id", "slug", "version", "frozen_at"]
    ordering = ["slug", "-version"]
    lookup_value_converter = converters.ID

    def get_queryset(self):
        versions = FrameworkVersion.objects.all()
        if self.action == "retrieve":
            versions = versions.prefetch_related(
                Prefetch("dimensions", queryset=dimension_tree_queryset())
            )
        return versions

    def get_serializer_class(self):
        return FrameworkSerializer if self.action == "retrieve" else FrameworkListSerializer


class DimensionFilter(django_filters.FilterSet):
    framework = IdFilter(field_name="framework_id", help_text=_("Framework version id."))
    code = CodeFilter(help_text=_("Dimension code, e.g. GOV."))

    class Meta:
        model = Dimension
        fields = ["framework", "code"]


@extend_schema_view(
    list=extend_schema(summary=_("List dimensions (filter by framework)")),
    retrieve=extend_schema(summary=_("One dimension with its elements and indicators")),
)
class DimensionViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """Dimensions of every framework version (filter by `framework`), each with its elements,
    indicators and level descriptors."""

    queryset = Dimension.objects.none()  # for the schema; see get_queryset
    permission_classes = [AllowAny]
    serializer_class = DimensionSerializer
    filterset_class = DimensionFilter
    ordering_fields = ["id", "framework", "order", "code"]
    ordering = ["framework", "order", "code"]
    lookup_value_converter = converters.ID

    def get_queryset(self):
        return dimension_tree_queryset()
