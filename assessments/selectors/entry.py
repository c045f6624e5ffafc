"""Reads for the entry pages: the operator's worklist, the answer page, the inbox and the
coordinator's region overview.

Every function issues a fixed number of queries whatever the number of answers: counts come
from `annotate`/`Count`, related rows from `select_related`/`prefetch_related`, and "what is
still missing" is computed from annotations rather than with one query per answer.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from dimensions.choices import MaturityLevel
from dimensions.models import Dimension, Element, LevelDescriptor
from regions.choices import AgencyRole
from regions.models import Agency, AgencyElementRole

from ..choices import (
    EDITABLE_ANSWER_STATES,
    AnswerState,
    AssessmentState,
    CycleStatus,
    EventKind,
)
from ..models import (
    Answer,
    AnswerEvent,
    Assessment,
    Comment,
    DeadlineExtension,
    Evidence,
    Notification,
    effective_entry_deadline,
)
from ..permissions import Action, answers_visible_to, can_on_answer, scope_for
from ..services import effective_deadline

# One aggregate row per group: the figures every progress display shows.
PROGRESS_COUNTS = {
    "total": Count("id"),
    "answered": Count("id", filter=Q(self_level__isnull=False)),
    "draft": Count("id", filter=Q(state=AnswerState.DRAFT)),
    "submitted": Count("id", filter=Q(state=AnswerState.SUBMITTED)),
    "returned": Count("id", filter=Q(state=AnswerState.RETURNED)),
    "verified": Count("id", filter=Q(state=AnswerState.VERIFIED)),
}

ANSWER_ORDER = (
    "indicator__element__dimension__order",
    "indicator__element__order",
    "indicator__order",
    "indicator__code",
)


@dataclass
class Progress:
    total: int = 0
    answered: int = 0
    draft: int = 0
    submitted: int = 0
    returned: int = 0
    verified: int = 0

    @classmethod
    def from_row(cls, row: dict) -> Progress:
        return cls(**{name: row.get(name, 0) for name in PROGRESS_COUNTS})

    @property
    def open(self) -> int:
        """Answers the agency still has to work on (draft or returned)."""
        return self.draft + self.returned

    @property
    def percent_answered(self) -> int:
        return round(100 * self.answered / self.total) if self.total else 0


# --------------------------------------------------------------------------- what is missing


def _with_completeness(queryset: QuerySet[Answer]) -> QuerySet[Answer]:
    """Annotate what `missing_for` needs, so that completeness costs no query per answer."""
    return queryset.annotate(
        active_evidence_count=Count("evidence", filter=Q(evidence__removed_at__isnull=True)),
        level_needs_evidence=Exists(
            LevelDescriptor.objects.filter(
                indicator_id=OuterRef("indicator_id"),
                level=OuterRef("self_level"),
                evidence_required=True,
            )
        ),
    )


def missing_for(answer: Answer) -> list[str]:
    """Why an annotated answer cannot be submitted yet (empty when complete).

    The same rule as `services.answer_missing`, read from the annotations of
    `_with_completeness`; the service stays the authority when the answer is submitted.
    """
    missing = []
    if answer.self_level is None:
        missing.append(_("a level"))
    if not (answer.justification or "").strip():
        missing.append(_("a justification"))
    if (
        answer.self_level is not None
        and answer.level_needs_evidence
        and not answer.active_evidence_count
    ):
        missing.append(_("evidence (required at this level)"))
    return missing


@dataclass
class MissingEntry:
    """One incomplete answer named by a refused submission, ready to be listed with a link."""

    answer_id: int
    indicator_code: str
    indicator_name: str
    agency: Agency | None
    missing: list[str]


def describe_missing(missing: list[dict]) -> list[MissingEntry]:
    """Turn `IncompleteAnswersError.missing` into rows with indicator names and agencies."""
    answers = {
        answer.pk: answer
        for answer in Answer.objects.filter(
            pk__in=[item["answer"] for item in missing]
        ).select_related("indicator", "agency__region")
    }
    entries = []
    for item in missing:
        answer = answers.get(item["answer"])
        entries.append(
            MissingEntry(
                answer_id=item["answer"],
                indicator_code=item.get("indicator", ""),
                indicator_name=answer.indicator.name if answer else "",
                agency=answer.agency if answer else None,
                missing=list(item.get("missing", [])),
            )
        )
    return entries


def missing_by_agency(
    entries: list[MissingEntry],
) -> list[tuple[Agency | None, list[MissingEntry]]]:
    groups: dict[int | None, list[MissingEntry]] = defaultdict(list)
    agencies: dict[int | None, Agency | None] = {}
    for entry in entries:
        key = entry.agency.pk if entry.agency else None
        groups[key].append(entry)
        agencies[key] = entry.agency
    return sorted(
        ((agencies[key], rows) for key, rows in groups.items()),
        key=lambda pair: pair[0].short_name if pair[0] else "",
    )


# --------------------------------------------------------------------------- worklist


def operator_agencies(user) -> list[Agency]:
    """The agencies the user works for as an operator, for the agency picker."""
    scope = scope_for(user)
    if not scope.operator_agencies:
        return []
    return list(
        Agency.objects.filter(pk__in=scope.operator_agencies)
        .select_related("region")
        .order_by("region__code", "short_name")
    )


@dataclass
class ElementGroup:
    element: Element
    answers: list[Answer] = field(default_factory=list)

    @property
    def answered(self) -> int:
        return sum(1 for answer in self.answers if answer.self_level is not None)


@dataclass
class DimensionGroup:
    dimension: Dimension
    elements: list[ElementGroup] = field(default_factory=list)


@dataclass
class CycleWorklist:
    """One open cycle's part of an agency's worklist."""

    assessment: Assessment
    deadline: datetime.date
    progress: Progress
    dimensions: list[DimensionGroup] = field(default_factory=list)
    ready: int = 0  # open answers that are complete
    extended: bool = False  # the agency's deadline is later than the cycle's
    incomplete: list[MissingEntry] = field(default_factory=list)  # set after a refused submit

    @property
    def cycle(self):
        return self.assessment.cycle

    @property
    def deadline_passed(self) -> bool:
        return timezone.localdate() > self.deadline

    @property
    def can_submit(self) -> bool:
        return self.progress.open > 0 and self.assessment.state != AssessmentState.APPROVED


@dataclass
class Worklist:
    agency: Agency
    cycles: list[CycleWorklist]
    supported: list[Answer]


def _supported_by(agency: Agency) -> Exists:
    return Exists(
        AgencyElementRole.objects.filter(
            agency_id=agency.pk,
            role=AgencyRole.SUPPORTING,
            region_id=OuterRef("assessment__region_id"),
            element_code=OuterRef("indicator__element__code"),
        )
    )


def worklist(*, user, agency: Agency) -> Worklist:
    """The answers `agency` owns in open cycles, grouped by cycle, dimension and element, with
    progress and the agency's effective deadline; plus the answers it supports (read-only).

    Five queries whatever the number of answers and cycles.
    """
    owned = answers_visible_to(user).filter(
        agency_id=agency.pk, assessment__cycle__status=CycleStatus.OPEN
    )
    rows = list(
        _with_completeness(owned)
        .select_related("assessment__cycle", "assessment__region", "indicator__element__dimension")
        .order_by("assessment__cycle__starts_on", "assessment_id", *ANSWER_ORDER)
    )
    progress = {
        row["assessment_id"]: Progress.from_row(row)
        for row in owned.order_by().values("assessment_id").annotate(**PROGRESS_COUNTS)
    }
    cycle_ids = {answer.assessment.cycle_id for answer in rows}
    extensions = defaultdict(list)
    for row in (
        DeadlineExtension.objects.filter(agency_id=agency.pk, cycle_id__in=cycle_ids)
        .values("cycle_id")
        .annotate(until=Max("until"))
        .order_by()
    ):
        extensions[row["cycle_id"]].append(row["until"])

    cycles: dict[int, CycleWorklist] = {}
    for answer in rows:
        answer.missing = missing_for(answer)
        assessment = answer.assessment
        block = cycles.get(assessment.pk)
        if block is None:
            block = cycles[assessment.pk] = CycleWorklist(
                assessment=assessment,
                deadline=effective_entry_deadline(
                    assessment.cycle, extensions[assessment.cycle_id]
                ),
                progress=progress.get(assessment.pk, Progress()),
                extended=bool(extensions[assessment.cycle_id])
                and max(extensions[assessment.cycle_id]) > assessment.cycle.entry_deadline,
            )
        element = answer.indicator.element
        if not block.dimensions or block.dimensions[-1].dimension.pk != element.dimension_id:
            block.dimensions.append(DimensionGroup(dimension=element.dimension))
        dimension = block.dimensions[-1]
        if not dimension.elements or dimension.elements[-1].element.pk != element.pk:
            dimension.elements.append(ElementGroup(element=element))
        dimension.elements[-1].answers.append(answer)
        if answer.state in EDITABLE_ANSWER_STATES and not answer.missing:
            block.ready += 1

    supported = list(
        answers_visible_to(user)
        .filter(_supported_by(agency), assessment__cycle__status=CycleStatus.OPEN)
        .exclude(agency_id=agency.pk)
        .select_related("agency", "assessment__cycle", "indicator__element")
        .order_by("assessment__cycle__starts_on", *ANSWER_ORDER)
    )
    return Worklist(agency=agency, cycles=list(cycles.values()), supported=supported)


# --------------------------------------------------------------------------- answer page


def answer_detail_queryset() -> QuerySet[Answer]:
    """Everything the answer page shows, in a fixed number of queries (pass it to
    `get_answer_for_user` so that scoping still applies)."""
    return Answer.objects.select_related(
        "assessment__cycle__framework",
        "assessment__region",
        "agency",
        "indicator__element__dimension",
        "verified_by",
    ).prefetch_related(
        Prefetch("indicator__levels", queryset=LevelDescriptor.objects.order_by("level")),
        Prefetch(
            "evidence",
            queryset=Evidence.objects.filter(removed_at__isnull=True)
            .select_related("uploaded_by")
            .order_by("uploaded_at", "pk"),
            to_attr="active_evidence",
        ),
        Prefetch(
            "comments",
            queryset=Comment.objects.select_related("author").order_by("created_at", "pk"),
        ),
        Prefetch(
            "events", queryset=AnswerEvent.objects.select_related("actor").order_by("at", "pk")
        ),
    )


def answer_editor_queryset() -> QuerySet[Answer]:
    """What the answer editor alone shows (an htmx save answers with it): the cycle for the
    edit status and the indicator's level descriptors; no evidence, comments or timeline.
    Fewer joins than `answer_detail_queryset` also means less for PostgreSQL to plan."""
    return Answer.objects.select_related(
        "assessment__cycle__framework", "indicator"
    ).prefetch_related(
        Prefetch("indicator__levels", queryset=LevelDescriptor.objects.order_by("level"))
    )


@dataclass(frozen=True)
class EditStatus:
    """Whether the user may change the answer now, and if not, why (None: not their answer)."""

    editable: bool
    reason: str | None = None
    deadline: datetime.date | None = None


def answer_edit_status(*, user, answer: Answer) -> EditStatus:
    """The same checks the services make before a save, so that the page offers a form only
    when saving can succeed (the services still decide)."""
    if not can_on_answer(scope_for(user), answer, Action.EDIT):
        return EditStatus(editable=False)
    assessment = answer.assessment
    deadline = effective_deadline(cycle=assessment.cycle, agency_id=answer.agency_id)
    if assessment.state == AssessmentState.APPROVED:
        return EditStatus(False, _("The assessment is approved and locked."), deadline)
    if assessment.cycle.status != CycleStatus.OPEN:
        return EditStatus(False, _("The cycle is closed."), deadline)
    if answer.state not in EDITABLE_ANSWER_STATES:
        return EditStatus(
            False,
            _("This answer is %(state)s and can no longer be changed by your agency.")
            % {"state": answer.get_state_display().lower()},
            deadline,
        )
    if answer.state == AnswerState.DRAFT and timezone.localdate() > deadline:
        return EditStatus(
            False,
            _("The entry deadline has passed. Ask the administrator for an extension."),
            deadline,
        )
    return EditStatus(True, None, deadline)


@dataclass(frozen=True)
class LevelOption:
    level: int
    label: str
    descriptor: str
    evidence: str
    evidence_required: bool


def level_options(answer: Answer) -> list[LevelOption]:
    """The five levels with the indicator's descriptors (from the prefetch), level 1 to 5."""
    descriptors = {descriptor.level: descriptor for descriptor in answer.indicator.levels.all()}
    options = []
    for level in MaturityLevel:
        descriptor = descriptors.get(level.value)
        options.append(
            LevelOption(
                level=level.value,
                label=str(level.label),
                descriptor=descriptor.descriptor if descriptor else "",
                evidence=descriptor.evidence if descriptor else "",
                evidence_required=bool(descriptor and descriptor.evidence_required),
            )
        )
    return options


def level_label(value) -> str:
    try:
        return str(MaturityLevel(int(value)).label)
    except (TypeError, ValueError):
        return str(value or "")


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime.datetime
    actor: object
    kind: str
    what: str
    old: str
    new: str
    reason: str
    long_text: bool  # justification, links and comments: shown folded


LONG_TEXT_KINDS = frozenset({EventKind.JUSTIFICATION, EventKind.LINKS, EventKind.COMMENT})


def _display_value(kind: str, value: str) -> str:
    if not value:
        return ""
    if kind == EventKind.STATE:
        try:
            return str(AnswerState(value).label)
        except ValueError:
            return value
    if kind in (EventKind.SELF_LEVEL, EventKind.VERIFIED_LEVEL):
        return level_label(value)
    return value


CONTENT_KINDS = frozenset({EventKind.SELF_LEVEL, EventKind.JUSTIFICATION, EventKind.LINKS})


def last_content_change(answer: Answer) -> AnswerEvent | None:
    """Who last changed the level, justification or links (from the prefetched events)."""
    changes = [event for event in answer.events.all() if event.kind in CONTENT_KINDS]
    return changes[-1] if changes else None


def answer_timeline(answer: Answer) -> list[TimelineEntry]:
    """The answer's audit events in words: labels instead of state codes and field names."""
    entries = []
    for event in answer.events.all():
        try:
            what = str(EventKind(event.kind).label)
        except ValueError:
            what = event.kind
        entries.append(
            TimelineEntry(
                at=event.at,
                actor=event.actor,
                kind=event.kind,
                what=what,
                old=_display_value(event.kind, event.old_value),
                new=_display_value(event.kind, event.new_value),
                reason=event.reason,
                long_text=event.kind in LONG_TEXT_KINDS,
            )
        )
    return entries


# --------------------------------------------------------------------------- inbox


def notifications_for(user) -> QuerySet[Notification]:
    """The user's notifications, unread first, newest first within each group."""
    return (
        Notification.objects.filter(user=user)
        .annotate(is_unread=ExpressionWrapper(Q(read_at__isnull=True), output_field=BooleanField()))
        .select_related("assessment")
        .order_by("-is_unread", "-created_at", "-id")
    )


# --------------------------------------------------------------------------- region overview


@dataclass
class AgencyProgress:
    agency: Agency
    progress: Progress
    deadline: datetime.date
    late: bool


@dataclass
class RegionAssessment:
    """One region's assessment in one open cycle, as its coordinator follows it."""

    assessment: Assessment
    progress: Progress
    agencies: list[AgencyProgress]
    answers: list[Answer]
    incomplete: list[tuple[Agency | None, list[MissingEntry]]] = field(default_factory=list)

    @property
    def can_submit(self) -> bool:
        return self.assessment.state == AssessmentState.OPEN and self.progress.open > 0


def region_overview(*, user, today: datetime.date | None = None) -> list[RegionAssessment]:
    """Per open cycle, the coordinator's regions: state, per-agency progress with late flags
    (deadline passed and answers still open), and the answers. Five queries in all."""
    scope = scope_for(user)
    today = today or timezone.localdate()
    assessments = list(
        Assessment.objects.filter(
            region_id__in=scope.coordinator_regions, cycle__status=CycleStatus.OPEN
        )
        .select_related("cycle", "region")
        .order_by("-cycle__starts_on", "region__code")
    )
    if not assessments:
        return []
    ids = [assessment.pk for assessment in assessments]
    counts = list(
        Answer.objects.filter(assessment_id__in=ids)
        .order_by()
        .values("assessment_id", "agency_id")
        .annotate(**PROGRESS_COUNTS)
    )
    agency_ids = {row["agency_id"] for row in counts}
    agencies = {agency.pk: agency for agency in Agency.objects.filter(pk__in=agency_ids)}
    extensions = defaultdict(list)
    for row in (
        DeadlineExtension.objects.filter(
            cycle_id__in={assessment.cycle_id for assessment in assessments},
            agency_id__in=agency_ids,
        )
        .values("cycle_id", "agency_id")
        .annotate(until=Max("until"))
        .order_by()
    ):
        extensions[(row["cycle_id"], row["agency_id"])].append(row["until"])
    answers = defaultdict(list)
    for answer in (
        Answer.objects.filter(assessment_id__in=ids)
        .select_related("indicator", "agency")
        .order_by("assessment_id", *ANSWER_ORDER)
    ):
        answers[answer.assessment_id].append(answer)

    per_assessment = defaultdict(list)
    for row in counts:
        per_assessment[row["assessment_id"]].append(row)
    blocks = []
    for assessment in assessments:
        total = Progress()
        rows = []
        for row in per_assessment[assessment.pk]:
            progress = Progress.from_row(row)
            for name in PROGRESS_COUNTS:
                setattr(total, name, getattr(total, name) + getattr(progress, name))
            deadline = effective_entry_deadline(
                assessment.cycle, extensions[(assessment.cycle_id, row["agency_id"])]
            )
            rows.append(
                AgencyProgress(
                    agency=agencies[row["agency_id"]],
                    progress=progress,
                    deadline=deadline,
                    late=today > deadline and progress.open > 0,
                )
            )
        rows.sort(key=lambda item: item.agency.short_name.lower())
        blocks.append(
            RegionAssessment(
                assessment=assessment,
                progress=total,
                agencies=rows,
                answers=answers[assessment.pk],
            )
        )
    return blocks
