"""Every write to regions, clusters, agencies and the agency–element map."""

from __future__ import annotations

import datetime
import functools

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from smartprov.i18n import from_fixture
from smartprov.public_cache import bump_generation
from smartprov.upsert import upsert

from .choices import AgencyRole
from .models import Agency, AgencyElementRole, Cluster, ClusterMembership, Region

#: Reference rows pass full_clean() (the code rule, slugs) before each write.
upsert_validated = functools.partial(upsert, validate=True)


def _date(value) -> datetime.date | None:
    if value is None or isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value))


@transaction.atomic
def regions_load(*, data: dict) -> int:
    """Create or update regions and clusters from `regions.yaml`. Returns rows changed."""
    changes = 0
    # Parents first, so that a child's parent exists when it is saved.
    for item in sorted(data["regions"], key=lambda r: len(str(r["code"]))):
        parent = Region.objects.get(code=str(item["parent"])) if item.get("parent") else None
        _obj, changed = upsert_validated(
            Region,
            {"code": str(item["code"])},
            {"name": item["name"], "kind": item["kind"], "parent": parent},
        )
        changes += changed
    for item in data.get("clusters", []):
        cluster, changed = upsert_validated(
            Cluster,
            {"slug": item["slug"]},
            from_fixture(item, "name", "description"),
        )
        changes += changed
        for member in item.get("members", []):
            _obj, changed = upsert_validated(
                ClusterMembership,
                {
                    "cluster": cluster,
                    "region": Region.objects.get(code=str(member["region"])),
                    "valid_from": _date(member["valid_from"]),
                },
                {"valid_until": _date(member.get("valid_until"))},
            )
            changes += changed
    return changes


@transaction.atomic
def agencies_load(*, data: dict, element_codes: set[str] | None = None) -> int:
    """Create or update one region's agencies and its agency–element map.

    The map in the file is the whole truth for that region: roles the file no longer lists are
    removed, so that an edited file cannot leave two leads behind.
    """
    region = Region.objects.get(code=str(data["region"]))
    changes = 0
    desired: dict[tuple[int, str], str] = {}
    leads: dict[str, str] = {}
    for item in data["agencies"]:
        slug = item.get("slug") or slugify(item["short_name"])
        if slug != slugify(item["short_name"]):
            raise ValidationError(
                _("Agency slug %(slug)s is not the slug of its short name %(short)s.")
                % {"slug": slug, "short": item["short_name"]}
            )
        agency, changed = upsert_validated(
            Agency,
            {"region": region, "slug": slug},
            {"short_name": item["short_name"], "name": item["name"], "is_active": True},
        )
        changes += changed
        roles = [(AgencyRole.LEAD, c) for c in item.get("lead", [])] + [
            (AgencyRole.SUPPORTING, c) for c in item.get("supporting", [])
        ]
        for role, code in roles:
            if element_codes is not None and code not in element_codes:
                raise ValidationError(
                    _("Unknown element code %(code)s for agency %(agency)s.")
                    % {"code": code, "agency": slug}
                )
            if role == AgencyRole.LEAD:
                if code in leads:
                    raise ValidationError(
                        _("Element %(code)s has two lead agencies in %(region)s: %(a)s and %(b)s.")
                        % {"code": code, "region": region.name, "a": leads[code], "b": slug}
                    )
                leads[code] = slug
            if (agency.pk, code) in desired:
                raise ValidationError(
                    _("Agency %(agency)s has two roles for element %(code)s.")
                    % {"agency": slug, "code": code}
                )
            desired[(agency.pk, code)] = role

    existing = {
        (r.agency_id, r.element_code): r for r in AgencyElementRole.objects.filter(region=region)
    }
    # Order matters for the one-lead constraint: remove and demote before promoting or adding.
    stale = [r.pk for key, r in existing.items() if key not in desired]
    if stale:
        changes += AgencyElementRole.objects.filter(pk__in=stale).delete()[0]
    changed_rows = [
        (r, desired[key])
        for key, r in existing.items()
        if key in desired and r.role != desired[key]
    ]
    for row, role in sorted(changed_rows, key=lambda pair: pair[1] == AgencyRole.LEAD):
        row.role = role
        row.save(update_fields=["role"])
        changes += 1
    new_rows = [
        AgencyElementRole(region=region, agency_id=agency_id, element_code=code, role=role)
        for (agency_id, code), role in desired.items()
        if (agency_id, code) not in existing
    ]
    AgencyElementRole.objects.bulk_create(new_rows)
    if new_rows:
        bump_generation()  # bulk_create sends no save signal; the role map is public
    return changes + len(new_rows)
