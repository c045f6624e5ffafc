"""The framework tree as integrators read it (shared/contracts.md): codes, names, weights and the
five level descriptors of each indicator. Names and descriptors are in the request's language.
Weights are JSON numbers; they are normalised among siblings, so only ratios matter."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from smartprov.api.fields import NamedChoiceField

from ..choices import FrameworkStatus, MaturityLevel
from ..models import Dimension, Element, FrameworkVersion, Indicator, LevelDescriptor


def weight() -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=9, decimal_places=4, coerce_to_string=False)


class LevelDescriptorSerializer(serializers.ModelSerializer):
    level = NamedChoiceField(MaturityLevel, read_only=True)
    label = serializers.CharField(source="get_level_display", help_text=_("e.g. 3 – Standardised"))

    class Meta:
        model = LevelDescriptor
        fields = ["level", "label", "descriptor", "evidence", "evidence_required"]


class IndicatorSerializer(serializers.ModelSerializer):
    weight = weight()
    levels = LevelDescriptorSerializer(many=True)

    class Meta:
        model = Indicator
        fields = ["id", "code", "name", "description", "weight", "order", "levels"]


class ElementSerializer(serializers.ModelSerializer):
    weight = weight()
    indicators = IndicatorSerializer(many=True)

    class Meta:
        model = Element
        fields = ["id", "code", "name", "description", "weight", "order", "indicators"]


class DimensionSerializer(serializers.ModelSerializer):
    weight = weight()
    elements = ElementSerializer(many=True)

    class Meta:
        model = Dimension
        fields = [
            "id",
            "framework",
            "code",
            "name",
            "description",
            "weight",
            "order",
            "elements",
        ]


class FrameworkListSerializer(serializers.HyperlinkedModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:framework-detail")
    status = NamedChoiceField(FrameworkStatus, read_only=True)

    class Meta:
        model = FrameworkVersion
        fields = ["id", "url", "slug", "name", "version", "status", "frozen_at"]


class FrameworkSerializer(FrameworkListSerializer):
    dimensions = DimensionSerializer(many=True)

    class Meta(FrameworkListSerializer.Meta):
        fields = [*FrameworkListSerializer.Meta.fields, "description", "dimensions"]
