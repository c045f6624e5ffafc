"""Regions by their plain Kemendagri code, agencies by region and slug, with the elements each
agency leads or supports."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from smartprov.api.fields import NamedChoiceField

from ..choices import AgencyRole, RegionKind
from ..models import Agency, AgencyElementRole, ClusterMembership, Region


class ClusterMembershipSerializer(serializers.ModelSerializer):
    cluster = serializers.CharField(source="cluster.slug", help_text=_("e.g. semarang-raya"))
    name = serializers.CharField(source="cluster.name")

    class Meta:
        model = ClusterMembership
        fields = ["cluster", "name", "valid_from", "valid_until"]


class RegionSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:region-detail", lookup_field="code")
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    kind = NamedChoiceField(RegionKind, read_only=True)
    dotted_code = serializers.CharField(read_only=True, help_text=_("e.g. 33.74"))
    clusters = ClusterMembershipSerializer(
        source="cluster_memberships", many=True, read_only=True, help_text=_("Dated memberships.")
    )

    class Meta:
        model = Region
        fields = ["code", "url", "dotted_code", "name", "kind", "parent", "clusters"]


class AgencyElementRoleSerializer(serializers.ModelSerializer):
    role = NamedChoiceField(AgencyRole, read_only=True)

    class Meta:
        model = AgencyElementRole
        fields = ["element_code", "role"]


class AgencySerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:agency-detail")
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)
    element_roles = AgencyElementRoleSerializer(many=True, read_only=True)

    class Meta:
        model = Agency
        fields = [
            "id",
            "url",
            "region",
            "slug",
            "short_name",
            "name",
            "is_active",
            "element_roles",
        ]
