"""Fixtures of the report pipeline: a small framework, an open cycle for two Semarang Raya
regions, and a helper that takes a region's assessment through the real workflow services
(operators fill and submit, the reviewer verifies and approves)."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest

from assessments.models import Answer, Assessment
from assessments.services import (
    answer_save,
    answer_verify,
    assessment_approve,
    assessment_submit,
    cycle_open,
    evidence_add,
)
from regions.choices import AgencyRole
from tests.factories import AgencyElementRoleFactory, ClusterMembershipFactory, build_framework


@pytest.fixture
def framework(db):
    """2 dimensions × 2 elements × 2 indicators; levels ≥ 2 require evidence."""
    return build_framework(slug="uji-laporan", dimensions=2, elements=2, indicators=2)


@pytest.fixture
def cycle(cast, framework):
    """An open cycle for regions A (Kota Semarang) and B (Demak), both Semarang Raya members.
    In region A agency A leads D1-* and agency A2 leads D2-*; in region B agency B leads all."""
    for code in [f"D{d}-E{e}" for d in (1, 2) for e in (1, 2)]:
        lead_a = cast.agency_a if code.startswith("D1") else cast.agency_a2
        AgencyElementRoleFactory(agency=lead_a, element_code=code, role=AgencyRole.LEAD)
        AgencyElementRoleFactory(agency=cast.agency_b, element_code=code, role=AgencyRole.LEAD)
    today = datetime.date.today()
    for region in (cast.region_a, cast.region_b):
        ClusterMembershipFactory(region=region, valid_from=today - datetime.timedelta(days=400))
    return cycle_open(
        actor=cast.admin,
        framework=framework,
        year=today.year,
        name=f"Siklus Laporan {today.year}",
        regions=[cast.region_a, cast.region_b],
        starts_on=today - datetime.timedelta(days=10),
        entry_deadline=today + datetime.timedelta(days=20),
        review_deadline=today + datetime.timedelta(days=40),
    )


def _operators(cast) -> dict[int, object]:
    return {
        cast.agency_a.pk: cast.operator_a,
        cast.agency_a2.pk: cast.operator_a2,
        cast.agency_b.pk: cast.operator_b,
    }


@pytest.fixture
def fill_region(cast) -> Callable[..., Assessment]:
    """fill_region(cycle, region, levels=None, submit=True): each agency's operator enters a
    level (the indicator's position in a repeating 1..5 pattern unless `levels` maps indicator
    codes to levels), a justification and, where required, evidence; then submits."""

    def fill(cycle, region, *, levels: dict[str, int] | None = None, submit: bool = True):
        operators = _operators(cast)
        assessment = Assessment.objects.get(cycle=cycle, region=region)
        answers = list(
            Answer.objects.filter(assessment=assessment)
            .select_related("indicator")
            .order_by("indicator__code")
        )
        for position, answer in enumerate(answers):
            level = (levels or {}).get(answer.indicator.code, position % 5 + 1)
            operator = operators[answer.agency_id]
            saved = answer_save(
                actor=operator,
                answer_id=answer.pk,
                expected_version=answer.version,
                self_level=level,
                justification=f"Bukti capaian tingkat {level}.",
            )
            if level >= 2:
                evidence_add(
                    actor=operator, answer_id=saved.pk, url=f"https://example.org/bukti/{answer.pk}"
                )
        if submit:
            for agency_id in sorted({answer.agency_id for answer in answers}):
                assessment_submit(
                    actor=operators[agency_id], assessment_id=assessment.pk, agency_id=agency_id
                )
        return assessment

    return fill


@pytest.fixture
def approve_region(cast, fill_region) -> Callable[..., Assessment]:
    """approve_region(cycle, region, levels=None, verified=None): fill and submit, then the
    reviewer verifies each answer (at `verified[code]` when given, with a reason) and approves.
    Returns the approved assessment; the approval's side effects run after commit."""

    def approve(cycle, region, *, levels=None, verified: dict[str, int] | None = None):
        assessment = fill_region(cycle, region, levels=levels)
        for answer in Answer.objects.filter(assessment=assessment).select_related("indicator"):
            level = (verified or {}).get(answer.indicator.code, answer.self_level)
            answer_verify(
                actor=cast.reviewer,
                answer_id=answer.pk,
                verified_level=level,
                reason="" if level == answer.self_level else "Bukti belum lengkap.",
            )
        return assessment_approve(actor=cast.reviewer, assessment_id=assessment.pk)

    return approve
