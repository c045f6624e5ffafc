"""Fill a freshly migrated database with what a backup must carry: the reference data, an
open cycle, an answer with a justification and two evidence files (in PRIVATE_STORAGE_ROOT).

Run by tests/hardening/test_backup.py in a subprocess against a database of its own:

    DATABASE_URL=... PRIVATE_STORAGE_ROOT=... python -m tests.hardening.backup_sample_data
"""

from __future__ import annotations

import datetime
import io
import os

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
CSV = b"indikator,nilai\nlayanan daring,12\nkepuasan,3.8\n"


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartprov.settings.local")
    django.setup()

    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command

    from assessments import services
    from assessments.models import Answer
    from dimensions.models import FrameworkVersion
    from regions.choices import MemberRole
    from regions.models import Membership, Region

    call_command("seed_reference", stdout=io.StringIO())
    users = get_user_model().objects
    admin = users.create_superuser("backup-admin", "backup-admin@example.test", "x")
    Membership.objects.create(user=admin, role=MemberRole.ADMINISTRATOR)
    framework = FrameworkVersion.objects.order_by("-version").first()
    today = datetime.date.today()
    cycle = services.cycle_open(
        actor=admin,
        framework=framework,
        year=today.year,
        name=f"Siklus cadangan {today.year}",
        regions=list(Region.objects.filter(code__in=["3374", "3321"])),
        starts_on=today,
        entry_deadline=today + datetime.timedelta(days=30),
        review_deadline=today + datetime.timedelta(days=60),
    )
    answer = Answer.objects.filter(assessment__cycle=cycle).select_related("agency").first()
    operator = users.create_user("backup-op", "backup-op@example.test", "x")
    Membership.objects.create(
        user=operator, role=MemberRole.OPERATOR, agency=answer.agency, region=answer.agency.region
    )
    services.answer_save(
        actor=operator,
        answer_id=answer.pk,
        expected_version=answer.version,
        self_level=2,
        justification="Layanan daring tersedia di 12 OPD 👍",
    )
    for name, content in (("laporan.pdf", PDF), ("data.csv", CSV)):
        services.evidence_add(
            actor=operator, answer_id=answer.pk, file=SimpleUploadedFile(name, content)
        )
    print(f"sample data: cycle {cycle.pk}, answer {answer.pk}")


if __name__ == "__main__":
    main()
