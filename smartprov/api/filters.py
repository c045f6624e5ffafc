"""Filter types shared by the API's resources."""

from __future__ import annotations

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field

# Ids are PostgreSQL bigints; a larger number would make the database, not the API, refuse it.
MAX_ID = 2**63 - 1


@extend_schema_field({"type": "integer"})
class IntegerFilter(django_filters.NumberFilter):
    """A whole number in the query string (django-filter's NumberFilter takes decimals)."""

    field_class = forms.IntegerField

    def get_max_validator(self):
        return None


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(IntegerFilter):
    """An id in the query string: a whole number in the id range (else 400, not a crash)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


@extend_schema_field({"type": "string", "maxLength": 60})
class CodeFilter(django_filters.CharFilter):
    """A code or slug in the query string (region 3374, element GOV-SVC, agency diskominfo)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 60)
        super().__init__(*args, **kwargs)
