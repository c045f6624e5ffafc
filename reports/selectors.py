"""Every read of the reports app: the engine's inputs from the ORM, and what pages show.

The engine's inputs are loaded with `values_list` in a constant number of queries (framework,
cluster membership, answers, and the codes of the answers' region, indicator and agency ids:
four), whatever the number of regions and indicators, and turned into the DataFrames that
`reports.scoring.compute` documents.

Which levels count (domain.md §4): a final level counts only once its region's assessment is
approved. A `final` build therefore reads the answers of approved assessments only; a
`provisional` build reads every answer of the cycle (its headline basis is the self-assessed
level), with final levels blanked where the assessment is not approved yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from assessments.choices import AssessmentState
from assessments.models import Answer, Cycle
from assessments.permissions import Scope, scope_for
from dimensions.models import Dimension, Element, Indicator
from regions.models import Agency, ClusterMembership, Region

from .choices import ReportKind
from .models import MaturityReport, ReportRun
from .scoring import ANSWER_COLUMNS, CLUSTER_COLUMNS, FRAMEWORK_COLUMNS

#: The cluster whose aggregate is stored as the snapshot without a region (domain.md §1).
CLUSTER_SLUG = "semarang-raya"


@dataclass(frozen=True)
class ReportInputs:
    """What one build scores: the engine's DataFrames and the weights recorded with them."""

    framework: pd.DataFrame
    answers: pd.DataFrame
    cluster: pd.DataFrame
    weights: dict


def framework_frame(*, framework_id: int) -> tuple[pd.DataFrame, dict]:
    """One row per indicator with its three weights (one query), and the weights as a dict
    of code → weight per level, the form a snapshot records them in."""
    rows = list(
        Indicator.objects.filter(element__dimension__framework_id=framework_id)
        .order_by("element__dimension__order", "element__order", "order", "code")
        .values_list(
            "element__dimension__code",
            "element__code",
            "code",
            "element__dimension__weight",
            "element__weight",
            "weight",
        )
    )
    frame = pd.DataFrame(rows, columns=list(FRAMEWORK_COLUMNS))
    for column in ("w_dimension", "w_element", "w_indicator"):
        frame[column] = frame[column].astype(np.float64)
    weights = {
        "dimensions": {d: float(w) for d, _, _, w, _, _ in rows},
        "elements": {e: float(w) for _, e, _, _, w, _ in rows},
        "indicators": {i: float(w) for _, _, i, _, _, w in rows},
    }
    return frame, weights


def cluster_frame(*, cycle: Cycle) -> pd.DataFrame:
    """Semarang Raya's members in a cycle (membership is dated: on the cycle's start day)."""
    day = cycle.starts_on
    codes = (
        ClusterMembership.objects.filter(cluster__slug=CLUSTER_SLUG, valid_from__lte=day)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=day))
        .order_by("region__code")
        .values_list("region__code", flat=True)
        .distinct()
    )
    codes = list(codes)
    return pd.DataFrame({"cycle": [cycle.pk] * len(codes), "region": codes})[list(CLUSTER_COLUMNS)]


def answers_frame(
    *, cycle: Cycle, kind: str, region_codes: Iterable[str] | None = None
) -> pd.DataFrame:
    """One row per answer slot of the cycle (two queries); see the module docstring for which
    levels count. `region_codes` narrows the regions read (None: all).

    The answers are read as foreign-key ids (no join to the region, indicator and agency
    tables) and the codes of those ids in a second query; the code columns are categoricals
    built from the ids (`pd.Categorical.from_codes`), so neither this function nor the engine
    hashes a string per row (docs/scoring.md, "Speed"). Rows come in no particular order: the
    engine's results do not depend on it.
    """
    answers = Answer.objects.filter(assessment__cycle=cycle)
    if kind == ReportKind.FINAL:
        answers = answers.filter(assessment__state=AssessmentState.APPROVED)
    if region_codes is not None:
        answers = answers.filter(assessment__region__code__in=list(region_codes))
    rows = list(
        answers.order_by().values_list(
            "assessment__region_id",
            "indicator_id",
            "agency_id",
            "self_level",
            "final_level",
            "assessment__state",
        )
    )
    ids = np.array([row[:3] for row in rows], dtype=np.int64).reshape(len(rows), 3)
    codes = _codes_of(
        regions=np.unique(ids[:, 0]), indicators=np.unique(ids[:, 1]), agencies=np.unique(ids[:, 2])
    )
    approved = np.array([row[5] == AssessmentState.APPROVED for row in rows], dtype=bool)
    final_level = np.array([row[4] for row in rows], dtype=np.float64)
    final_level[~approved] = np.nan
    frame = pd.DataFrame(
        {
            "cycle": np.full(len(rows), cycle.pk, dtype=np.int64),
            "region": _categorical(ids[:, 0], codes["region"]),
            "indicator": _categorical(ids[:, 1], codes["indicator"]),
            "agency": _categorical(ids[:, 2], codes["agency"]),
            "self_level": np.array([row[3] for row in rows], dtype=np.float64),
            "final_level": final_level,
        }
    )
    return frame[list(ANSWER_COLUMNS)]


def _codes_of(
    *, regions: np.ndarray, indicators: np.ndarray, agencies: np.ndarray
) -> dict[str, dict[int, str]]:
    """id → code of the given regions, indicators and agencies, in one query.

    A UNION ALL of three parameterised SELECTs, written out because the ORM's union of these
    querysets puts the translated Indicator model's columns in another order (a
    django-modeltranslation quirk) and the parts would no longer line up.
    """
    lookups = (
        ("region", Region, "code", regions),
        ("indicator", Indicator, "code", indicators),
        ("agency", Agency, "slug", agencies),
    )
    codes: dict[str, dict[int, str]] = {table: {} for table, *_ in lookups}
    parts, params = [], []
    quote = connection.ops.quote_name
    for n, (_table, model, field, ids) in enumerate(lookups):
        meta = model._meta
        pk, code, db_table = meta.pk.column, meta.get_field(field).column, meta.db_table
        # Always one query, rows or none (an empty IN list is not SQL; IN (NULL) matches none).
        placeholders = ", ".join(["%s"] * len(ids)) or "NULL"
        parts.append(
            f"SELECT {n}, {quote(pk)}, {quote(code)} FROM {quote(db_table)} "  # noqa: S608  # nosec B608
            f"WHERE {quote(pk)} IN ({placeholders})"
        )
        params.extend(int(i) for i in ids)
    with connection.cursor() as cursor:
        # Identifiers come from the models' metadata; every value is a bound parameter.
        cursor.execute(" UNION ALL ".join(parts), params)
        for n, pk, code in cursor.fetchall():
            codes[lookups[n][0]][pk] = code
    return codes


def _categorical(ids: np.ndarray, code_of: dict[int, str]) -> pd.Categorical:
    """The codes of `ids` as a categorical whose categories are the sorted codes. Every id
    must have a code (foreign keys guarantee it; anything else is an error, not a guess)."""
    categories = sorted(set(code_of.values()))
    if not len(ids):
        return pd.Categorical.from_codes(np.empty(0, dtype=np.int64), categories=categories)
    position = {code: n for n, code in enumerate(categories)}
    known = np.fromiter(code_of.keys(), dtype=np.int64, count=len(code_of))
    where = np.fromiter((position[code_of[k]] for k in known), dtype=np.int64, count=len(known))
    order = np.argsort(known)
    known, where = known[order], where[order]
    slot = np.searchsorted(known, ids).clip(max=max(len(known) - 1, 0))
    if not len(known) or not np.array_equal(known[slot], ids):
        missing = sorted(set(ids.tolist()) - set(known.tolist()))[:5]
        raise LookupError(f"ids without a code: {missing}")
    return pd.Categorical.from_codes(where[slot], categories=categories)


def report_inputs(
    *, cycle: Cycle, kind: str, region_codes: Iterable[str] | None = None
) -> ReportInputs:
    """Everything one build scores, in four queries. With `region_codes`, the answers of
    those regions plus those of the cluster's members (the aggregate needs them)."""
    framework, weights = framework_frame(framework_id=cycle.framework_id)
    cluster = cluster_frame(cycle=cycle)
    if region_codes is not None:
        region_codes = sorted(set(region_codes) | set(cluster["region"]))
    answers = answers_frame(cycle=cycle, kind=kind, region_codes=region_codes)
    return ReportInputs(framework=framework, answers=answers, cluster=cluster, weights=weights)


# --------------------------------------------------------------------------- pages


def can_view_reports(scope: Scope) -> bool:
    """Internal snapshots (provisional ones too) and builds: the province's staff only."""
    return scope.is_admin or scope.is_reviewer


def can_rebuild(scope: Scope) -> bool:
    return scope.is_admin


def can_publish(scope: Scope) -> bool:
    """Administrators only, as shared/contracts.md has it (the portal has no "reviewer lead"
    role; when one is added, it joins here)."""
    return scope.is_admin


def _require_view(user) -> None:
    scope = scope_for(user)
    if not can_view_reports(scope):
        # Builds and unpublished snapshots do not exist for anyone else.
        raise Http404


def runs_for_list(*, user, limit: int = 50) -> list[ReportRun]:
    """The latest builds, for the builds page (a constant number of queries)."""
    if not can_view_reports(scope_for(user)):
        raise PermissionDenied
    return list(
        ReportRun.objects.select_related("cycle", "region", "started_by").order_by(
            "-queued_at", "-id"
        )[:limit]
    )


def get_run_for_user(*, user, pk: int) -> ReportRun:
    _require_view(user)
    try:
        return (
            ReportRun.objects.select_related("cycle", "region", "started_by")
            .prefetch_related(reports_with_places())
            .get(pk=pk)
        )
    except ReportRun.DoesNotExist:
        raise Http404 from None


def reports_with_places() -> Prefetch:
    return Prefetch(
        "reports", queryset=MaturityReport.objects.select_related("region").order_by("region")
    )


def get_report_for_user(*, user, pk: int) -> MaturityReport:
    _require_view(user)
    try:
        return (
            MaturityReport.objects.select_related("cycle", "region", "framework", "published_by")
            .prefetch_related("events__actor")
            .get(pk=pk)
        )
    except MaturityReport.DoesNotExist:
        raise Http404 from None


def other_reports_of(*, report: MaturityReport, limit: int = 20) -> QuerySet[MaturityReport]:
    """The other snapshots of the same cycle and region (or aggregate), newest first."""
    qs = MaturityReport.objects.filter(cycle_id=report.cycle_id).exclude(pk=report.pk)
    if report.region_id is None:
        qs = qs.filter(region__isnull=True)
    else:
        qs = qs.filter(region_id=report.region_id)
    return qs.order_by("-created_at", "-id")[:limit]


def snapshot_labels(*, report: MaturityReport) -> dict[str, str]:
    """Names of the codes a snapshot shows (dimensions, elements, member regions), in the
    active language: three queries."""
    labels = dict(
        Dimension.objects.filter(framework_id=report.framework_id).values_list("code", "name")
    )
    labels.update(
        Element.objects.filter(dimension__framework_id=report.framework_id).values_list(
            "code", "name"
        )
    )
    members = [row["region"] for row in report.summary.get("regions", [])]
    labels.update(Region.objects.filter(code__in=members).values_list("code", "name"))
    return labels
