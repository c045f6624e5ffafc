"""Fixtures of the hardening tests: the assessment tests' cycle, evidence in a private temporary
folder, and a world of ids (a draft answer, a submitted one, another region's) to aim at."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.cache import cache

from assessments import services
from assessments.models import Answer, Assessment, Evidence, private_storage

# The cycle of the assessment tests (regions A and B, agencies A, A2 and B), reused as is.
from tests.assessments.conftest import answers_a, cycle, element_codes, framework  # noqa: F401


@pytest.fixture
def private_root(settings, tmp_path, monkeypatch):
    """Evidence files in a folder of this test only (the field's storage is built at import
    time), so that the list of stored files is part of the state a test compares."""
    root = tmp_path / "private"
    root.mkdir()
    settings.PRIVATE_STORAGE_ROOT = root
    monkeypatch.setattr(Evidence._meta.get_field("file"), "storage", private_storage())
    return root


@pytest.fixture(autouse=True)
def clean_cache():
    """API throttling counters live in the cache: each test starts from zero."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(cast, cycle, answers_a, private_root):  # noqa: F811 (fixtures imported above)
    """What the bad inputs aim at: operator A's draft answer (version 1), a submitted answer
    of agency A waiting for review, an answer of region B (foreign to operator A), both
    assessments and the cycle's framework version."""
    draft, submitted = answers_a[0], answers_a[1]
    services.answer_save(
        actor=cast.operator_a,
        answer_id=submitted.pk,
        expected_version=1,
        self_level=1,
        justification="Sudah ada SOP layanan daring.",
    )
    services.answer_submit(actor=cast.operator_a, answer_id=submitted.pk)
    foreign = Answer.objects.filter(assessment__cycle=cycle, agency=cast.agency_b).first()
    return SimpleNamespace(
        cast=cast,
        cycle=cycle,
        framework_id=cycle.framework_id,
        draft=Answer.objects.get(pk=draft.pk),
        submitted=Answer.objects.get(pk=submitted.pk),
        foreign=foreign,
        assessment_a=Assessment.objects.get(cycle=cycle, region=cast.region_a),
        assessment_b=Assessment.objects.get(cycle=cycle, region=cast.region_b),
        private_root=private_root,
    )
