"""Serializer fields of the API."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent, build_choice_description_list
from rest_framework import serializers


class NamedChoiceField(serializers.ChoiceField):
    """A choice field whose choice set is one named enum in the schema (`AnswerStateEnum`).

    drf-spectacular names enums after the field (`state`), which collides when an answer's and
    an assessment's `state` differ; naming the set after its TextChoices class avoids that
    without per-project settings.
    """

    def __init__(self, choices_class: type[models.Choices], **kwargs):
        self.choices_class = choices_class
        super().__init__(choices=choices_class.choices, **kwargs)

    @property
    def component_name(self) -> str:
        return f"{self.choices_class.__name__}Enum"


class NamedChoiceFieldExtension(OpenApiSerializerFieldExtension):
    target_class = NamedChoiceField

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        values = list(field.choices)
        kind = "integer" if all(isinstance(value, int) for value in values) else "string"
        component = ResolvedComponent(
            name=field.component_name,
            type=ResolvedComponent.SCHEMA,
            object=field.component_name,
            schema={
                "type": kind,
                "enum": values,
                "description": build_choice_description_list(field.choices.items()),
            },
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref


class StrictCharField(serializers.CharField):
    """Text that refuses numbers, booleans and lists instead of turning them into text
    (DRF's CharField accepts {"reason": 42} as "42")."""

    default_error_messages = {"not_a_string": _("Not a valid string.")}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)
