"""Demo accounts (and, as the workflow lands, demo cycles) for `make run` and manual testing."""

import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from regions.choices import MemberRole, RegionKind
from regions.models import Agency, Membership, Region

DEFAULT_PASSWORD = "smartprov-demo"  # noqa: S105 - documented demo password, never in production


class Command(BaseCommand):
    help = (
        "Create the demo accounts: admin, reviewer, coord-<code> per region and "
        "op-<code>-<agency> per agency. Idempotent. Refused under production settings."
    )

    def add_arguments(self, parser):
        parser.add_argument("--password", default=None, help="password of every demo account")

    @transaction.atomic
    def handle(self, *args, password=None, **options):
        if settings.SETTINGS_MODULE.endswith(".production"):
            raise CommandError("seed_demo never runs with production settings.")
        if not Region.objects.exists():
            raise CommandError("Run seed_reference first.")
        password = password or os.environ.get("DEMO_PASSWORD") or DEFAULT_PASSWORD
        created = 0
        created += self._user(
            "admin", "Administrator SmartProv", password, MemberRole.ADMINISTRATOR, superuser=True
        )
        created += self._user(
            "reviewer", "Verifikator Diskominfo Provinsi", password, MemberRole.REVIEWER
        )
        for region in Region.objects.exclude(kind=RegionKind.PROVINCE).order_by("code"):
            created += self._user(
                f"coord-{region.code}",
                f"Koordinator {region.name}",
                password,
                MemberRole.COORDINATOR,
                region=region,
            )
        for agency in Agency.objects.select_related("region").order_by("region__code", "slug"):
            created += self._user(
                f"op-{agency.region.code}-{agency.slug}",
                f"Operator {agency.short_name} {agency.region.name}",
                password,
                MemberRole.OPERATOR,
                region=agency.region,
                agency=agency,
            )
        self.stdout.write(self.style.SUCCESS(f"seed_demo: {created} demo accounts created"))

    def _user(
        self, username, full_name, password, role, *, region=None, agency=None, superuser=False
    ) -> int:
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"full_name": full_name, "email": f"{username}@demo.smartprov.local"},
        )
        if created:
            user.set_password(password)
            user.is_staff = superuser
            user.is_superuser = superuser
            user.save()
        Membership.objects.get_or_create(user=user, role=role, region=region, agency=agency)
        return int(created)
