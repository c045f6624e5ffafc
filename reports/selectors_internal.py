"""Reads of the internal monitoring dashboard: how far the open cycles have come.

Who sees what (scoping, not `if`s in views): reviewers and administrators see every region of a
cycle, a coordinator only their own region(s), and anyone else (operators, users without a
role) is refused. Answers are read through `assessments.permissions.answers_visible_to` and then
narrowed to the regions the dashboard may show, so a coordinator who is also an operator never
sees another region's figures through their agency.

Every figure comes from an aggregate query (`values` + `annotate`), so the page issues the same
number of queries whatever the number of regions, agencies, answers or audit events:

- the cycles to choose from (1), the framework's dimensions (1), the visible regions (1);
- provisional results: the framework and answer frames of `reports.selectors` (2), scored by
  the pure engine `reports.scoring.compute` on the self-assessed levels;
- completion per agency (1) and the agencies' deadline extensions (1, instead of one
  `effective_deadline` query per agency);
- review backlog (1), throughput from the audit trail (1), self-assessed against verified (1).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Avg, Count, F, FloatField, Max, Min, Q, QuerySet
from django.db.models.functions import Cast, TruncDate
from django.http import Http404
from django.utils import timezone

from assessments.choices import AnswerState, AssessmentState, CycleStatus, EventKind
from assessments.models import (
    Answer,
    AnswerEvent,
    Cycle,
    DeadlineExtension,
    effective_entry_deadline,
)
from assessments.permissions import Scope, answers_visible_to, scope_for
from dimensions.models import Dimension
from regions.models import Region

from . import scoring
from .choices import ReportKind
from .selectors import answers_frame, framework_frame

#: Days of review throughput shown, today included.
THROUGHPUT_DAYS = 14


# --------------------------------------------------------------------------- access


def can_view_monitoring(scope: Scope) -> bool:
    """The province's staff and the regions' coordinators; operators follow their worklist."""
    return scope.is_admin or scope.is_reviewer or bool(scope.coordinator_regions)


def _require_monitoring(user) -> Scope:
    scope = scope_for(user)
    if not can_view_monitoring(scope):
        raise PermissionDenied
    return scope


def _region_filter(scope: Scope, prefix: str = "") -> Q:
    """The regions this user's dashboard shows: all of them, or the coordinator's."""
    if scope.sees_everything:
        return Q()
    return Q(**{f"{prefix}region_id__in": scope.coordinator_regions})


def monitoring_cycles(*, user) -> list[Cycle]:
    """Open cycles in which the user has a region to follow, newest first (one query)."""
    scope = _require_monitoring(user)
    cycles = Cycle.objects.filter(status=CycleStatus.OPEN)
    if not scope.sees_everything:
        cycles = cycles.filter(assessments__region_id__in=scope.coordinator_regions).distinct()
    return list(cycles.order_by("-starts_on", "-pk"))


def choose_cycle(cycles: list[Cycle], requested: str | None) -> Cycle | None:
    """The requested cycle among those offered (404 for any other), else the newest."""
    if not requested:
        return cycles[0] if cycles else None
    for cycle in cycles:
        if str(cycle.pk) == requested:
            return cycle
    raise Http404


# --------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Counts:
    """Answers of an agency or a region by state. `answered` means a self level is set."""

    total: int = 0
    answered: int = 0
    draft: int = 0
    submitted: int = 0
    returned: int = 0
    verified: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            total=self.total + other.total,
            answered=self.answered + other.answered,
            draft=self.draft + other.draft,
            submitted=self.submitted + other.submitted,
            returned=self.returned + other.returned,
            verified=self.verified + other.verified,
        )

    @property
    def open(self) -> int:
        """Answers still with the agency (draft or returned for revision)."""
        return self.draft + self.returned

    @property
    def percent_complete(self) -> float:
        """Share handed in: submitted or verified (a returned answer is with the agency)."""
        return 100.0 * (self.submitted + self.verified) / self.total if self.total else 0.0


@dataclass(frozen=True)
class AgencyCompletion:
    region_code: str
    region_name: str
    agency_id: int
    agency_short_name: str
    agency_name: str
    counts: Counts
    deadline: datetime.date
    extended: bool
    late: bool


@dataclass(frozen=True)
class RegionCompletion:
    region_code: str
    region_name: str
    assessment_state: str
    counts: Counts
    agencies: int
    agencies_late: int

    @property
    def late(self) -> bool:
        return self.agencies_late > 0

    @property
    def assessment_state_label(self) -> str:
        try:
            return str(AssessmentState(self.assessment_state).label)
        except ValueError:
            return self.assessment_state


@dataclass(frozen=True)
class ProvisionalDimension:
    code: str
    score: float  # the published figure: 2 decimals, half up


@dataclass(frozen=True)
class ProvisionalRegion:
    """A region's index computed now from self-assessed levels (unanswered slots count 0)."""

    region_code: str
    region_name: str
    index: float  # 2 decimals, half up
    level: int
    predicate: str
    answered: int
    total: int
    completeness: float
    dimensions: list[ProvisionalDimension]


@dataclass(frozen=True)
class BacklogRegion:
    region_code: str
    region_name: str
    waiting: int
    oldest_submitted_at: datetime.datetime | None


@dataclass(frozen=True)
class Backlog:
    """Submitted answers waiting for a reviewer."""

    regions: list[BacklogRegion]
    now: datetime.datetime

    @property
    def waiting(self) -> int:
        return sum(region.waiting for region in self.regions)

    @property
    def oldest_submitted_at(self) -> datetime.datetime | None:
        times = [r.oldest_submitted_at for r in self.regions if r.oldest_submitted_at]
        return min(times) if times else None

    @property
    def oldest_age_days(self) -> float | None:
        oldest = self.oldest_submitted_at
        return None if oldest is None else (self.now - oldest).total_seconds() / 86400


@dataclass(frozen=True)
class ThroughputDay:
    day: datetime.date
    verified: int
    returned: int


@dataclass(frozen=True)
class CalibrationCell:
    """One agency's verified answers in one dimension: how far self levels were off."""

    region_code: str
    region_name: str
    agency_id: int
    agency_short_name: str
    dimension_code: str
    verified: int
    mean_gap: float  # mean of (self level - verified level); positive: the agency over-rates
    over_rated: int

    @property
    def share_over_rated(self) -> float:
        return 100.0 * self.over_rated / self.verified if self.verified else 0.0


@dataclass(frozen=True)
class Dashboard:
    cycle: Cycle
    today: datetime.date
    dimensions: list[tuple[str, str]]  # (code, name) in framework order
    provisional: list[ProvisionalRegion]
    regions: list[RegionCompletion]
    agencies: list[AgencyCompletion]
    backlog: Backlog
    throughput: list[ThroughputDay]
    calibration: list[CalibrationCell] = field(default_factory=list)

    @property
    def engine_version(self) -> str:
        return scoring.ENGINE_VERSION

    @property
    def late_agencies(self) -> list[AgencyCompletion]:
        return [row for row in self.agencies if row.late]


# --------------------------------------------------------------------------- the dashboard


def monitoring_dashboard(
    *, user, cycle: Cycle, today: datetime.date | None = None, now: datetime.datetime | None = None
) -> Dashboard:
    """Everything the monitoring page shows for one cycle, scoped to the user's regions."""
    scope = _require_monitoring(user)
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    answers = answers_visible_to(user, Answer.objects.filter(assessment__cycle=cycle)).filter(
        _region_filter(scope, "assessment__")
    )
    regions = list(
        Region.objects.filter(Q(assessments__cycle=cycle) & _region_filter(scope, "assessments__"))
        .order_by("code")
        .values_list("code", "name")
        .distinct()
    )
    names = dict(regions)
    dimensions = list(
        Dimension.objects.filter(framework_id=cycle.framework_id)
        .order_by("order", "code")
        .values_list("code", "name")
    )
    region_rows, agency_rows = _completion(answers, cycle=cycle, today=today)
    return Dashboard(
        cycle=cycle,
        today=today,
        dimensions=dimensions,
        provisional=_provisional(cycle=cycle, names=names),
        regions=region_rows,
        agencies=agency_rows,
        backlog=_backlog(answers, names=names, now=now),
        throughput=_throughput(answers, today=today),
        calibration=_calibration(answers),
    )


def _provisional(*, cycle: Cycle, names: dict[str, str]) -> list[ProvisionalRegion]:
    """Live provisional results of the visible regions: three queries and the pure engine."""
    if not names:
        return []
    framework, _weights = framework_frame(framework_id=cycle.framework_id)
    answers = answers_frame(cycle=cycle, kind=ReportKind.PROVISIONAL, region_codes=list(names))
    if answers.empty or framework.empty:
        return []
    result = scoring.compute(answers, framework)
    heads = result.regions[result.regions["basis"] == "provisional"]
    per_dimension = result.dimensions[result.dimensions["basis"] == "provisional"]
    dims: dict[str, list[ProvisionalDimension]] = defaultdict(list)
    for row in per_dimension.itertuples(index=False):
        dims[str(row.region)].append(
            ProvisionalDimension(code=str(row.dimension), score=float(row.score_rounded))
        )
    return [
        ProvisionalRegion(
            region_code=str(row.region),
            region_name=names.get(str(row.region), str(row.region)),
            index=float(row.index_rounded),
            level=int(row.level),
            predicate=str(row.predicate),
            answered=int(row.answered),
            total=int(row.total),
            completeness=float(row.completeness),
            dimensions=dims[str(row.region)],
        )
        for row in heads.itertuples(index=False)
    ]


def _completion(
    answers: QuerySet[Answer], *, cycle: Cycle, today: datetime.date
) -> tuple[list[RegionCompletion], list[AgencyCompletion]]:
    """Counts per agency (one query) and the agencies' extensions (one query); an agency is
    late when its effective entry deadline has passed and it still has open answers."""
    rows = list(
        answers.order_by()
        .values(
            "assessment__region__code",
            "assessment__region__name",
            "assessment__state",
            "agency_id",
            "agency__short_name",
            "agency__name",
        )
        .annotate(
            total=Count("id"),
            answered=Count("id", filter=Q(self_level__isnull=False)),
            draft=Count("id", filter=Q(state=AnswerState.DRAFT)),
            submitted=Count("id", filter=Q(state=AnswerState.SUBMITTED)),
            returned=Count("id", filter=Q(state=AnswerState.RETURNED)),
            verified=Count("id", filter=Q(state=AnswerState.VERIFIED)),
        )
    )
    extensions = dict(
        DeadlineExtension.objects.filter(
            cycle=cycle, agency_id__in=[row["agency_id"] for row in rows]
        )
        .order_by()
        .values("agency_id")
        .annotate(until=Max("until"))
        .values_list("agency_id", "until")
    )
    agencies = []
    states: dict[str, str] = {}
    for row in rows:
        counts = Counts(**{name: row[name] for name in Counts.__dataclass_fields__})
        extension = extensions.get(row["agency_id"])
        deadline = effective_entry_deadline(cycle, [extension] if extension else [])
        states[row["assessment__region__code"]] = row["assessment__state"]
        agencies.append(
            AgencyCompletion(
                region_code=row["assessment__region__code"],
                region_name=row["assessment__region__name"],
                agency_id=row["agency_id"],
                agency_short_name=row["agency__short_name"],
                agency_name=row["agency__name"],
                counts=counts,
                deadline=deadline,
                extended=deadline > cycle.entry_deadline,
                late=today > deadline and counts.open > 0,
            )
        )
    agencies.sort(key=lambda a: (a.region_code, a.agency_short_name.lower()))
    by_region: dict[str, list[AgencyCompletion]] = defaultdict(list)
    for agency in agencies:
        by_region[agency.region_code].append(agency)
    regions = [
        RegionCompletion(
            region_code=code,
            region_name=members[0].region_name,
            assessment_state=states[code],
            counts=sum((member.counts for member in members), Counts()),
            agencies=len(members),
            agencies_late=sum(member.late for member in members),
        )
        for code, members in sorted(by_region.items())
    ]
    return regions, agencies


def _backlog(
    answers: QuerySet[Answer], *, names: dict[str, str], now: datetime.datetime
) -> Backlog:
    rows = (
        answers.filter(state=AnswerState.SUBMITTED)
        .order_by()
        .values("assessment__region__code")
        .annotate(waiting=Count("id"), oldest=Min("submitted_at"))
    )
    regions = [
        BacklogRegion(
            region_code=row["assessment__region__code"],
            region_name=names.get(row["assessment__region__code"], ""),
            waiting=row["waiting"],
            oldest_submitted_at=row["oldest"],
        )
        for row in rows
    ]
    regions.sort(key=lambda r: r.region_code)
    return Backlog(regions=regions, now=now)


def _throughput(answers: QuerySet[Answer], *, today: datetime.date) -> list[ThroughputDay]:
    """Answers verified and returned per local day over the last days, from the audit trail
    (state changes), so a verification later undone by a reopening still counts as work."""
    first = today - datetime.timedelta(days=THROUGHPUT_DAYS - 1)
    zone = timezone.get_current_timezone()
    since = datetime.datetime.combine(first, datetime.time.min, tzinfo=zone)
    rows = (
        AnswerEvent.objects.filter(
            answer__in=answers.values("pk"),
            kind=EventKind.STATE,
            new_value__in=[AnswerState.VERIFIED, AnswerState.RETURNED],
            at__gte=since,
        )
        .annotate(day=TruncDate("at", tzinfo=zone))
        .order_by()
        .values("day", "new_value")
        .annotate(n=Count("id"))
    )
    counts = {(row["day"], row["new_value"]): row["n"] for row in rows}
    days = [first + datetime.timedelta(days=offset) for offset in range(THROUGHPUT_DAYS)]
    return [
        ThroughputDay(
            day=day,
            verified=counts.get((day, AnswerState.VERIFIED), 0),
            returned=counts.get((day, AnswerState.RETURNED), 0),
        )
        for day in days
    ]


def _calibration(answers: QuerySet[Answer]) -> list[CalibrationCell]:
    """Per agency and dimension, over verified answers: mean (self - verified) and how many
    were rated above the verified level. Sorted with the largest over-rating first."""
    rows = (
        answers.filter(
            state=AnswerState.VERIFIED, self_level__isnull=False, verified_level__isnull=False
        )
        .order_by()
        .values(
            "assessment__region__code",
            "assessment__region__name",
            "agency_id",
            "agency__short_name",
            "indicator__element__dimension__code",
        )
        .annotate(
            verified=Count("id"),
            mean_gap=Avg(
                Cast(F("self_level"), FloatField()) - Cast(F("verified_level"), FloatField())
            ),
            over_rated=Count("id", filter=Q(self_level__gt=F("verified_level"))),
        )
    )
    cells = [
        CalibrationCell(
            region_code=row["assessment__region__code"],
            region_name=row["assessment__region__name"],
            agency_id=row["agency_id"],
            agency_short_name=row["agency__short_name"],
            dimension_code=row["indicator__element__dimension__code"],
            verified=row["verified"],
            mean_gap=float(row["mean_gap"]),
            over_rated=row["over_rated"],
        )
        for row in rows
    ]
    cells.sort(key=lambda c: (-c.mean_gap, c.region_code, c.agency_short_name, c.dimension_code))
    return cells
