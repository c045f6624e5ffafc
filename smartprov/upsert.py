"""The seed loaders' write: create or update a row, touching it only when a value differs."""

from __future__ import annotations

from django.db import models


def upsert(
    model: type[models.Model], lookup: dict, values: dict, *, validate: bool = False
) -> tuple[models.Model, bool]:
    """update_or_create that writes only the fields whose value differs, so that loading the
    same reference data twice writes nothing. Returns (row, whether it was written).
    With `validate`, the row passes `full_clean()` before each write."""
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        obj = model(**lookup, **values)
        if validate:
            obj.full_clean()
        obj.save(force_insert=True)
        return obj, True
    changed = [field for field, value in values.items() if getattr(obj, field) != value]
    if changed:
        for field in changed:
            setattr(obj, field, values[field])
        if validate:
            obj.full_clean()
        obj.save(update_fields=changed)
    return obj, bool(changed)
