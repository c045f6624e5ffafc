"""Demo accounts and demo cycles for `make run` and manual testing (never in production).

- accounts: admin, reviewer, coord-<code> per region, op-<code>-<agency> per agency;
- a past cycle (2025) fully verified, approved, scored and published for every region taking
  part then (and the Semarang Raya aggregate);
- a current cycle (2026, Kota Salatiga joins) in progress, in which every answer state occurs
  and op-3374-diskominfo still has drafts to fill in.

Everything goes through the services, so the demo has the same audit trail, notifications and
report builds as real use. Levels are pseudo-random with a fixed seed: the same demo every time.
"""

from __future__ import annotations

import datetime
import os
import random

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings

from assessments.choices import AnswerState, CycleStatus
from assessments.models import Answer, Assessment, Cycle
from assessments.services import (
    answer_return,
    answer_save,
    answer_submit,
    answer_verify,
    assessment_approve,
    cycle_open,
    evidence_add,
)
from dimensions.models import LevelDescriptor
from dimensions.selectors import current_framework
from regions.choices import MemberRole, RegionKind
from regions.models import Agency, Membership, Region
from regions.selectors import cluster_members_on
from reports.choices import ReportKind, RunState
from reports.services import report_build, report_publish, report_run_start

DEFAULT_PASSWORD = "smartprov-demo"  # noqa: S105 - documented demo password, never in production
PAST = {"year": 2025, "starts_on": datetime.date(2025, 1, 1)}
CURRENT = {"year": 2026, "starts_on": datetime.date(2026, 1, 1)}
# A region's typical maturity, so that the demo dashboards show differences between regions.
REGION_BIAS = {"3374": 3.6, "3322": 2.9, "3321": 2.3, "3324": 2.7, "3373": 3.1}


class Command(BaseCommand):
    help = (
        "Create the demo accounts and demo cycles (one past cycle approved, one current cycle "
        "in progress). Idempotent. Refused under production settings."
    )

    def add_arguments(self, parser):
        parser.add_argument("--password", default=None, help="password of every demo account")

    def handle(self, *args, password=None, **options):
        if settings.SETTINGS_MODULE.endswith(".production"):
            raise CommandError("seed_demo never runs with production settings.")
        if not Region.objects.exists():
            raise CommandError("Run seed_reference first.")
        password = password or os.environ.get("DEMO_PASSWORD") or DEFAULT_PASSWORD
        # Demo notifications stay in the in-app inbox; no e-mail to invented addresses.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
            self.seed(password)
        self.stdout.write(self.style.SUCCESS("seed_demo: done"))

    def seed(self, password: str) -> None:
        with transaction.atomic():
            created = self.create_accounts(password)
        self.stdout.write(f"seed_demo: {created} demo accounts created")
        framework = current_framework()
        if framework is None:
            raise CommandError("No framework loaded: run seed_reference first.")
        self.past_cycle(framework)
        self.current_cycle(framework)

    # ------------------------------------------------------------------ accounts

    def create_accounts(self, password: str) -> int:
        # One hash for every demo account: hashing is deliberately slow (about half a second),
        # and 130 accounts would otherwise take a minute. Acceptable for demo accounts only.
        password = make_password(password)
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
        return created

    def _user(
        self, username, full_name, password, role, *, region=None, agency=None, superuser=False
    ) -> int:
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"full_name": full_name, "email": f"{username}@demo.smartprov.local"},
        )
        if created:
            user.password = password
            user.is_staff = superuser
            user.is_superuser = superuser
            user.save()
        Membership.objects.get_or_create(user=user, role=role, region=region, agency=agency)
        return int(created)

    # ------------------------------------------------------------------ cycles

    def _open(self, framework, spec: dict) -> tuple[Cycle, bool]:
        existing = Cycle.objects.filter(framework__slug=framework.slug, year=spec["year"]).first()
        if existing:
            return existing, False
        admin = get_user_model().objects.get(username="admin")
        regions = list(cluster_members_on(day=spec["starts_on"]))
        year = spec["year"]
        cycle = cycle_open(
            actor=admin,
            framework=framework,
            year=year,
            name=f"Penilaian Provinsi Cerdas {year}",
            regions=regions,
            starts_on=spec["starts_on"],
            # Open with deadlines ahead so that entry is allowed; historic dates are set after.
            entry_deadline=max(
                datetime.date(year, 12, 15), datetime.date.today() + datetime.timedelta(days=17)
            ),
            review_deadline=max(
                datetime.date(year + 1, 1, 31), datetime.date.today() + datetime.timedelta(days=60)
            ),
        )
        return cycle, True

    def past_cycle(self, framework) -> None:
        cycle, created = self._open(framework, PAST)
        if not created:
            self.stdout.write(f"seed_demo: {cycle} exists, left as it is")
            return
        rng = random.Random(2025)  # noqa: S311 - demo data, not security
        reviewer = get_user_model().objects.get(username="reviewer")
        for assessment in cycle.assessments.select_related("region").order_by("region__code"):
            answers = self._answers(assessment)
            bias = REGION_BIAS.get(assessment.region.code, 2.8) - 0.3
            for answer in answers:
                self._fill(answer, rng, bias)
                answer_submit(actor=self._operator(answer), answer_id=answer.pk)
            for answer in answers:
                self._verify(answer, rng, reviewer)
            assessment_approve(actor=reviewer, assessment_id=assessment.pk)
        self._publish_final(cycle)
        # Historic deadlines, and the cycle is over.
        Cycle.objects.filter(pk=cycle.pk).update(
            entry_deadline=datetime.date(2025, 6, 30),
            review_deadline=datetime.date(2025, 8, 31),
            status=CycleStatus.CLOSED,
        )
        self.stdout.write(f"seed_demo: {cycle} approved for {cycle.assessments.count()} regions")

    def _publish_final(self, cycle: Cycle) -> None:
        """Score the whole cycle in this process (idempotent: the approvals' own builds give the
        same snapshots) and publish its final snapshots, the Semarang Raya aggregate included."""
        admin = get_user_model().objects.get(username="admin")
        run = report_run_start(actor=admin, cycle=cycle, kind=ReportKind.FINAL)
        run = report_build(run_id=run.pk)
        if run.state != RunState.SUCCEEDED:
            raise CommandError(f"Scoring the demo cycle failed: {run.error}")
        for report in run.reports.order_by("pk"):
            report_publish(actor=admin, report=report)
        self.stdout.write(f"seed_demo: {run.reports.count()} final reports published")

    def current_cycle(self, framework) -> None:
        cycle, created = self._open(framework, CURRENT)
        if not created:
            self.stdout.write(f"seed_demo: {cycle} exists, left as it is")
            return
        rng = random.Random(2026)  # noqa: S311 - demo data, not security
        reviewer = get_user_model().objects.get(username="reviewer")
        # How far each region has come: share of answers submitted, and of those verified.
        progress = {
            "3374": (0.75, 0.5),
            "3322": (1.0, 0.6),
            "3321": (0.4, 0.0),
            "3324": (1.0, 1.0),
            "3373": (0.2, 0.0),
        }
        returned_one = False
        for assessment in cycle.assessments.select_related("region").order_by("region__code"):
            code = assessment.region.code
            submitted_share, verified_share = progress.get(code, (0.5, 0.0))
            bias = REGION_BIAS.get(code, 2.8)
            answers = self._answers(assessment)
            for index, answer in enumerate(answers):
                # op-3374-diskominfo keeps drafts to fill in (contracts.md).
                if code == "3374" and answer.agency.slug == "diskominfo":
                    if index % 2 == 0:
                        self._fill(answer, rng, bias)
                    continue
                if index / len(answers) >= submitted_share:
                    if index % 3 == 0:
                        self._fill(answer, rng, bias)  # a draft in progress
                    continue
                self._fill(answer, rng, bias)
                answer_submit(actor=self._operator(answer), answer_id=answer.pk)
            submitted = [a for a in self._answers(assessment) if a.state == AnswerState.SUBMITTED]
            for index, answer in enumerate(submitted):
                if index / max(len(submitted), 1) < verified_share:
                    self._verify(answer, rng, reviewer)
                elif not returned_one and code == "3374":
                    answer_return(
                        actor=reviewer,
                        answer_id=answer.pk,
                        reason=(
                            "Bukti dukung belum menunjukkan penerapan di seluruh unit kerja. "
                            "Lampirkan laporan capaian terbaru."
                        ),
                        comment="Mohon dilengkapi sebelum batas waktu verifikasi.",
                    )
                    returned_one = True
        self.stdout.write(f"seed_demo: {cycle} in progress for {cycle.assessments.count()} regions")

    # ------------------------------------------------------------------ answers

    def _answers(self, assessment: Assessment) -> list[Answer]:
        return list(
            assessment.answers.select_related("indicator", "agency", "assessment__region").order_by(
                "indicator__element__dimension__order",
                "indicator__element__order",
                "indicator__order",
            )
        )

    def _operator(self, answer: Answer):
        return get_user_model().objects.get(
            username=f"op-{answer.assessment.region.code}-{answer.agency.slug}"
        )

    def _fill(self, answer: Answer, rng: random.Random, bias: float) -> None:
        level = max(1, min(5, round(rng.gauss(bias, 0.9))))
        descriptor = LevelDescriptor.objects.get(indicator=answer.indicator, level=level)
        operator = self._operator(answer)
        answer.refresh_from_db(fields=["version"])
        answer_save(
            actor=operator,
            answer_id=answer.pk,
            expected_version=answer.version,
            self_level=level,
            justification=(
                f"{answer.agency.short_name} {answer.assessment.region.name} menilai indikator ini "
                f"pada tingkat {level}: {descriptor.descriptor_ind}"
            ),
            links=[],
        )
        if descriptor.evidence_required:
            evidence_add(
                actor=operator,
                answer_id=answer.pk,
                url=(
                    f"https://contoh.smartprov.local/bukti/{answer.assessment.region.code}/"
                    f"{answer.indicator.code.lower()}"
                ),
            )
        answer.refresh_from_db()

    def _verify(self, answer: Answer, rng: random.Random, reviewer) -> None:
        answer.refresh_from_db()
        # Some agencies rate themselves a level too high; the reviewer says why.
        if answer.self_level > 1 and rng.random() < 0.2:
            answer_verify(
                actor=reviewer,
                answer_id=answer.pk,
                verified_level=answer.self_level - 1,
                reason=(
                    "Bukti dukung baru mencakup sebagian unit; "
                    "belum memenuhi deskriptor tingkat yang diklaim."
                ),
            )
        else:
            answer_verify(actor=reviewer, answer_id=answer.pk, verified_level=answer.self_level)
