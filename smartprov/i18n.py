"""Bilingual content helpers.

Content in two languages is stored by django-modeltranslation, which names the Indonesian
column `<field>_ind` (not `<field>_id`, which Django would read as a foreign key). Fixture files
keep the natural `<field>_id` / `<field>_en` keys; these helpers translate between the two.
"""

from __future__ import annotations

from django.conf import settings
from modeltranslation.utils import build_localized_fieldname


def language_codes() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def localized(field: str, language: str) -> str:
    """The model attribute holding `field` in `language` (name, id → name_ind)."""
    return build_localized_fieldname(field, language)


def from_fixture(data: dict, *fields: str) -> dict:
    """Model keyword arguments for translated fields from fixture keys (name_id → name_ind)."""
    return {
        localized(field, code): data.get(f"{field}_{code}") or ""
        for field in fields
        for code in language_codes()
    }


def translated_values(instance, fields) -> dict:
    """Every stored language value of the given translated fields of an instance."""
    return {
        localized(field, code): getattr(instance, localized(field, code))
        for field in fields
        for code in language_codes()
    }
