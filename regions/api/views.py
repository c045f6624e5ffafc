"""Regions and agencies: reference data, readable by anyone (also anonymously)."""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.permissions import AllowAny

from smartprov.api import converters
from smartprov.api.filters import CodeFilter
from smartprov.api.views import ApiViewMixin

from ..choices import AgencyRole, RegionKind
from ..models import Agency, AgencyElementRole, ClusterMembership, Region
from .serializers import AgencySerializer, RegionSerializer


class RegionFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=RegionKind.choices)
    parent = CodeFilter(field_name="parent__code", help_text=_("Parent region code, e.g. 33."))
    cluster = CodeFilter(
        field_name="cluster_memberships__cluster__slug",
        distinct=True,
        help_text=_("Regions that ever belonged to a cluster, e.g. semarang-raya."),
    )

    class Meta:
        model = Region
        fields = ["kind", "parent", "cluster"]


@extend_schema_view(
    list=extend_schema(summary=_("List regions")),
    retrieve=extend_schema(summary=_("One region by its plain code")),
)
class RegionViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """The province and its regencies and cities, identified by their plain code (3374)."""

    queryset = Region.objects.none()  # for the schema; see get_queryset
    permission_classes = [AllowAny]
    serializer_class = RegionSerializer
    filterset_class = RegionFilter
    lookup_field = "code"
    lookup_value_converter = converters.REGION_CODE
    ordering_fields = ["code", "name", "kind"]
    ordering = ["code"]

    def get_queryset(self):
        return Region.objects.select_related("parent").prefetch_related(
            Prefetch(
                "cluster_memberships",
                queryset=ClusterMembership.objects.select_related("cluster").order_by(
                    "valid_from", "cluster__slug"
                ),
            )
        )


class AgencyFilter(django_filters.FilterSet):
    region = CodeFilter(field_name="region__code", help_text=_("Region code, e.g. 3374."))
    slug = CodeFilter(help_text=_("e.g. diskominfo (unique within a region)."))
    element = CodeFilter(
        field_name="element_roles__element_code",
        method="filter_element_role",
        help_text=_("Agencies with a role for this element code, e.g. GOV-SVC."),
    )
    role = django_filters.ChoiceFilter(
        field_name="element_roles__role",
        choices=AgencyRole.choices,
        method="filter_element_role",
        help_text=_("Agencies with an element role of this kind (for `element` if given)."),
    )
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = Agency
        fields = ["region", "slug", "element", "role", "is_active"]

    def filter_element_role(self, queryset, name, value):
        # Applied once for both in filter_queryset, so that element and role match one row.
        return queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        wanted = {
            field: self.form.cleaned_data.get(name)
            for name, field in (("element", "element_code"), ("role", "role"))
            if self.form.cleaned_data.get(name)
        }
        if wanted:
            roles = AgencyElementRole.objects.filter(**wanted).values("agency_id")
            queryset = queryset.filter(pk__in=roles)
        return queryset


@extend_schema_view(
    list=extend_schema(summary=_("List agencies with their element roles")),
    retrieve=extend_schema(summary=_("One agency with its element roles")),
)
class AgencyViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """Regional agencies (OPD), each with the framework elements it leads or supports."""

    queryset = Agency.objects.none()  # for the schema; see get_queryset
    permission_classes = [AllowAny]
    serializer_class = AgencySerializer
    filterset_class = AgencyFilter
    lookup_value_converter = converters.ID
    ordering_fields = ["id", "slug", "short_name", "region"]
    ordering = ["region__code", "short_name"]

    def get_queryset(self):
        return Agency.objects.select_related("region").prefetch_related(
            Prefetch(
                "element_roles",
                queryset=AgencyElementRole.objects.order_by("element_code", "role"),
            )
        )
