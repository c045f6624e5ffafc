"""Reads of the review pages: the queue, one answer with its diff and timeline, an assessment's
progress and events, cycles with their assessments and deadline extensions.

Every function here issues a fixed number of queries whatever the number of rows, so that the
review pages stay fast when a cycle holds thousands of answers (tests assert the bound).
"""

from __future__ import annotations

import datetime
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.urls import NoReverseMatch, reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from dimensions.models import Dimension, Element, LevelDescriptor
from regions.models import Agency, Region

from ..choices import AnswerState, AssessmentState, EventKind
from ..models import (
    Answer,
    AnswerEvent,
    Assessment,
    AssessmentEvent,
    Comment,
    Cycle,
    DeadlineExtension,
    Evidence,
)
from ..permissions import Action, answers_visible_to, get_answer_for_user
from ..services import content_snapshot

QUEUE_PAGE_SIZE = 50
# A queue filter value beside the answer states: everything that still blocks an approval.
UNVERIFIED = "unverified"

# Above this many word pairs a changed paragraph is shown as removed + added instead of a word
# diff: SequenceMatcher is quadratic and a reviewer's page must not take seconds.
MAX_WORD_DIFF_PAIRS = 2_000_000
_TOKENS = re.compile(r"\s+|[^\s]+")


# --------------------------------------------------------------------------- the queue


def review_queue(
    *,
    user,
    cycle: Cycle | None = None,
    region: Region | None = None,
    agency: Agency | None = None,
    dimension: str = "",
    element: str = "",
    state: str = "",
) -> QuerySet[Answer]:
    """The answers a reviewer works through, across all regions, in a stable order (newest cycle,
    region code, framework order). `state` is an answer state, `UNVERIFIED` or "" for any.

    Annotates `resubmitted`: submitted again after an earlier review (return, or a reopening),
    so the reviewer knows to look at the diff.
    """
    answers = answers_visible_to(user).select_related(
        "indicator__element__dimension", "assessment__region", "assessment__cycle", "agency"
    )
    if cycle is not None:
        answers = answers.filter(assessment__cycle=cycle)
    if region is not None:
        answers = answers.filter(assessment__region=region)
    if agency is not None:
        answers = answers.filter(agency=agency)
    if dimension:
        answers = answers.filter(indicator__element__dimension__code=dimension)
    if element:
        answers = answers.filter(indicator__element__code=element)
    if state == UNVERIFIED:
        answers = answers.exclude(state=AnswerState.VERIFIED)
    elif state:
        answers = answers.filter(state=state)
    return answers.annotate(
        resubmitted=Case(
            When(
                Q(state=AnswerState.SUBMITTED, reviewed_snapshot__isnull=False),
                then=Value(True),
            ),
            default=Value(False),
            output_field=BooleanField(),
        )
    ).order_by(
        "-assessment__cycle__starts_on",
        "assessment__region__code",
        "indicator__element__dimension__order",
        "indicator__element__order",
        "indicator__order",
        "pk",
    )


def queue_page_rows(answers: Iterable[Answer]) -> list[Answer]:
    """One page of the queue, each resubmitted answer marked with `changed_since_review`
    (what the reviewer saw last differs from what is there now). One query for the page."""
    answers = list(answers)
    resubmitted = [a for a in answers if getattr(a, "resubmitted", False)]
    if resubmitted:
        active: dict[int, list[tuple[int, str]]] = {a.pk: [] for a in resubmitted}
        for answer_id, pk, name, url in (
            Evidence.objects.filter(answer_id__in=active, removed_at__isnull=True)
            .order_by("pk")
            .values_list("answer_id", "pk", "original_name", "url")
        ):
            active[answer_id].append((pk, name or url))
        for answer in resubmitted:
            current = {
                "self_level": answer.self_level,
                "justification": answer.justification,
                "links": list(answer.links or []),
                "evidence": [{"id": pk, "name": name} for pk, name in active[answer.pk]],
            }
            answer.changed_since_review = _snapshot_differs(answer.reviewed_snapshot, current)
    for answer in answers:
        if not hasattr(answer, "changed_since_review"):
            answer.changed_since_review = False
    return answers


def _snapshot_differs(old: dict | None, new: dict) -> bool:
    if not old:
        return False
    return any(old.get(key) != value for key, value in new.items())


def queue_neighbours(queue: QuerySet[Answer], answer_id: int) -> dict:
    """Previous and next answer around `answer_id` in the filtered queue (one query of ids).

    An answer that has left the queue (e.g. just verified while the queue shows submitted ones)
    has no previous; its "next" is the first answer still waiting.
    """
    ids = list(queue.values_list("pk", flat=True))
    if answer_id in ids:
        index = ids.index(answer_id)
        return {
            "previous": ids[index - 1] if index > 0 else None,
            "next": ids[index + 1] if index + 1 < len(ids) else None,
            "position": index + 1,
            "total": len(ids),
        }
    return {"previous": None, "next": ids[0] if ids else None, "position": None, "total": len(ids)}


@dataclass(frozen=True)
class CodeChoice:
    code: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.code} – {self.name}"


def _codes_in_use(model, used: Q) -> list[CodeChoice]:
    """Dimension or element codes of the framework versions cycles use, named as in the newest
    version (codes outlive framework revisions, so the filter works across cycles)."""
    by_code: dict[str, CodeChoice] = {}
    rows = model.objects.filter(used).order_by(model.framework_path + "__frozen_at", "pk")
    for row in rows:
        by_code[row.code] = CodeChoice(row.code, row.name)
    return sorted(by_code.values(), key=lambda c: c.code)


def queue_dimension_choices() -> list[CodeChoice]:
    return _codes_in_use(
        Dimension, Q(Exists(Cycle.objects.filter(framework_id=OuterRef("framework_id"))))
    )


def queue_element_choices() -> list[CodeChoice]:
    return _codes_in_use(
        Element,
        Q(Exists(Cycle.objects.filter(framework_id=OuterRef("dimension__framework_id")))),
    )


def queue_regions() -> QuerySet[Region]:
    return Region.objects.filter(Exists(Assessment.objects.filter(region_id=OuterRef("pk"))))


def queue_agencies() -> QuerySet[Agency]:
    return (
        Agency.objects.filter(Exists(Answer.objects.filter(agency_id=OuterRef("pk"))))
        .select_related("region")
        .order_by("region__code", "short_name")
    )


# --------------------------------------------------------------------------- one answer


def answer_for_review(*, user, pk) -> Answer:
    """The answer with everything the review page shows, in a fixed number of queries.
    404 for what the user may not see (the view checks the reviewer role)."""
    queryset = Answer.objects.select_related(
        "indicator__element__dimension",
        "assessment__cycle__framework",
        "assessment__region",
        "agency__region",
        "verified_by",
    ).prefetch_related(
        Prefetch("indicator__levels", queryset=LevelDescriptor.objects.order_by("level")),
        Prefetch(
            "evidence",
            queryset=Evidence.objects.select_related("uploaded_by").order_by("uploaded_at", "pk"),
        ),
        Prefetch("comments", queryset=Comment.objects.select_related("author")),
        Prefetch("events", queryset=AnswerEvent.objects.select_related("actor")),
    )
    return get_answer_for_user(user, pk, Action.VIEW, queryset=queryset)


def evidence_download_url(evidence: Evidence) -> str | None:
    """The permission-checked download of an evidence file (built by the entry pages); None
    while that page does not exist, so that the review page still lists the file."""
    if not evidence.is_file:
        return evidence.url
    try:
        return reverse("assessments:evidence_download", args=[evidence.pk])
    except NoReverseMatch:
        return None


def active_evidence(answer: Answer) -> list[dict]:
    """Evidence that has not been removed, with its download address (uses the prefetch)."""
    return [
        {"evidence": evidence, "url": evidence_download_url(evidence)}
        for evidence in answer.evidence.all()
        if evidence.removed_at is None
    ]


@dataclass
class AnswerDiff:
    """What changed in an answer since the reviewer last returned or verified it."""

    level_old: int | None
    level_new: int | None
    justification_changed: bool
    justification_html: SafeString
    links_added: list[str] = field(default_factory=list)
    links_removed: list[str] = field(default_factory=list)
    evidence_added: list[str] = field(default_factory=list)
    evidence_removed: list[str] = field(default_factory=list)

    @property
    def level_changed(self) -> bool:
        return self.level_old != self.level_new

    @property
    def changed(self) -> bool:
        return bool(
            self.level_changed
            or self.justification_changed
            or self.links_added
            or self.links_removed
            or self.evidence_added
            or self.evidence_removed
        )


def answer_diff(answer: Answer) -> AnswerDiff | None:
    """The diff between the content at the last review and now; None if never reviewed."""
    old = answer.reviewed_snapshot
    if not old:
        return None
    new = content_snapshot(answer)
    old_links, new_links = list(old.get("links") or []), new["links"]
    old_evidence = {item["id"]: item["name"] for item in old.get("evidence") or []}
    new_evidence = {item["id"]: item["name"] for item in new["evidence"]}
    old_text, new_text = old.get("justification") or "", new["justification"] or ""
    return AnswerDiff(
        level_old=old.get("self_level"),
        level_new=new["self_level"],
        justification_changed=old_text != new_text,
        justification_html=text_diff_html(old_text, new_text),
        links_added=[link for link in new_links if link not in old_links],
        links_removed=[link for link in old_links if link not in new_links],
        evidence_added=[name for pk, name in new_evidence.items() if pk not in old_evidence],
        evidence_removed=[name for pk, name in old_evidence.items() if pk not in new_evidence],
    )


def text_diff_html(old: str, new: str) -> SafeString:
    """A line diff, refined to words inside changed lines, as HTML with <del>/<ins>.

    Every piece of text is escaped before it is wrapped, so what an agency typed can never
    become markup on the reviewer's page.
    """
    a_lines, b_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    parts: list[str] = []
    matcher = difflib.SequenceMatcher(a=a_lines, b=b_lines, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        removed, added = "".join(a_lines[i1:i2]), "".join(b_lines[j1:j2])
        if op == "equal":
            parts.append(escape(removed))
        elif op == "replace":
            parts.append(_word_diff_html(removed, added))
        else:
            parts.append(_wrap(removed, added))
    # Each part is escaped or built with format_html above, so the join is safe markup.
    return mark_safe("".join(parts))  # noqa: S308  # nosec B308 B703


def _wrap(removed: str, added: str) -> str:
    html = ""
    if removed:
        html += format_html("<del>{}</del>", removed)
    if added:
        html += format_html("<ins>{}</ins>", added)
    return html


def _word_diff_html(old: str, new: str) -> str:
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    if len(a) * len(b) > MAX_WORD_DIFF_PAIRS:
        return _wrap(old, new)
    parts = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            parts.append(escape("".join(a[i1:i2])))
        else:
            parts.append(_wrap("".join(a[i1:i2]), "".join(b[j1:j2])))
    return "".join(parts)


# --------------------------------------------------------------------------- timelines


@dataclass(frozen=True)
class TimelineEntry:
    """One audit event told in words: who, when, what happened, why, and any text involved."""

    at: datetime.datetime
    actor: str
    text: str
    reason: str = ""
    detail_old: str = ""
    detail_new: str = ""


def _label(choices, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value or "–"


def _actor(event) -> str:
    return str(event.actor) if event.actor_id else _("the system")


def _answer_event_text(event: AnswerEvent) -> TimelineEntry:
    old, new, kind = event.old_value, event.new_value, event.kind
    detail_old = detail_new = ""
    if kind == EventKind.STATE:
        if old:
            text = _("State changed from %(old)s to %(new)s") % {
                "old": _label(AnswerState, old),
                "new": _label(AnswerState, new),
            }
        else:
            text = _("State set to %(new)s") % {"new": _label(AnswerState, new)}
    elif kind == EventKind.SELF_LEVEL:
        text = _("Self-assessed level changed from %(old)s to %(new)s") % {
            "old": old or "–",
            "new": new or "–",
        }
    elif kind == EventKind.JUSTIFICATION:
        text = _("Justification edited")
        detail_old, detail_new = old, new
    elif kind == EventKind.LINKS:
        text = _("Links edited")
        detail_old, detail_new = old, new
    elif kind == EventKind.EVIDENCE_ADDED:
        text = _("Evidence added: %(name)s") % {"name": new}
    elif kind == EventKind.EVIDENCE_REMOVED:
        text = _("Evidence removed: %(name)s") % {"name": old}
    elif kind == EventKind.VERIFIED_LEVEL:
        if old:
            text = _("Verified level changed from %(old)s to %(new)s") % {"old": old, "new": new}
        else:
            text = _("Verified at level %(new)s") % {"new": new}
    elif kind == EventKind.COMMENT:
        text = _("Comment added")
        detail_new = new
    else:
        text = _("%(kind)s: %(old)s → %(new)s") % {
            "kind": event.get_kind_display(),
            "old": old or "–",
            "new": new or "–",
        }
    return TimelineEntry(event.at, _actor(event), text, event.reason, detail_old, detail_new)


def answer_timeline(answer: Answer) -> list[TimelineEntry]:
    """The answer's audit trail in words, oldest first (uses the prefetched events)."""
    return [_answer_event_text(event) for event in answer.events.all()]


def _assessment_event_text(event: AssessmentEvent) -> TimelineEntry:
    old, new = event.old_value, event.new_value
    if event.kind == EventKind.STATE:
        if new == AssessmentState.APPROVED:
            text = _("Approved")
        elif new == AssessmentState.REOPENED:
            text = _("Reopened")
        elif old:
            text = _("State changed from %(old)s to %(new)s") % {
                "old": _label(AssessmentState, old),
                "new": _label(AssessmentState, new),
            }
        else:
            text = _("Opened for entry")
    elif event.kind == EventKind.DEADLINE:
        text = _("Entry deadline of %(agency)s extended from %(old)s to %(new)s") % {
            "agency": event.agency.short_name if event.agency_id else _("an agency"),
            "old": old,
            "new": new,
        }
    else:
        text = _("%(kind)s: %(old)s → %(new)s") % {
            "kind": event.get_kind_display(),
            "old": old or "–",
            "new": new or "–",
        }
    return TimelineEntry(event.at, _actor(event), text, event.reason)


# --------------------------------------------------------------------------- one assessment


@dataclass
class AgencyProgress:
    agency: Agency
    counts: list[int]
    total: int


@dataclass
class AssessmentOverview:
    """A region's progress in a cycle: answers by state, by agency, and the event timeline."""

    states: list[tuple[str, str]]
    state_counts: list[tuple[str, str, int]]
    total: int
    unverified: int
    agencies: list[AgencyProgress]
    timeline: list[TimelineEntry]


def assessment_overview(*, assessment: Assessment) -> AssessmentOverview:
    """Three queries: counts per agency and state, the agencies, the events."""
    states = [(value, str(label)) for value, label in AnswerState.choices]
    per_agency: dict[int, dict[str, int]] = {}
    for row in assessment.answers.order_by().values("agency_id", "state").annotate(n=Count("pk")):
        per_agency.setdefault(row["agency_id"], {})[row["state"]] = row["n"]
    agencies = Agency.objects.filter(pk__in=per_agency).order_by("short_name")
    rows = [
        AgencyProgress(
            agency=agency,
            counts=[per_agency[agency.pk].get(value, 0) for value, _label in states],
            total=sum(per_agency[agency.pk].values()),
        )
        for agency in agencies
    ]
    totals = {value: sum(c.get(value, 0) for c in per_agency.values()) for value, _l in states}
    total = sum(totals.values())
    events = assessment.events.select_related("actor", "agency")
    return AssessmentOverview(
        states=states,
        state_counts=[(value, label, totals[value]) for value, label in states],
        total=total,
        unverified=total - totals[AnswerState.VERIFIED],
        agencies=rows,
        timeline=[_assessment_event_text(event) for event in events],
    )


# --------------------------------------------------------------------------- cycles


def cycles_with_assessments() -> QuerySet[Cycle]:
    """Every cycle with its framework version and each region's assessment (two queries)."""
    return Cycle.objects.select_related("framework").prefetch_related(
        Prefetch(
            "assessments",
            queryset=Assessment.objects.select_related("region").order_by("region__code"),
        )
    )


def cycle_for_admin(*, pk) -> Cycle:
    """One cycle with its assessments and deadline extensions; DoesNotExist when absent."""
    return (
        Cycle.objects.select_related("framework", "opened_by")
        .prefetch_related(
            Prefetch(
                "assessments",
                queryset=Assessment.objects.select_related("region").order_by("region__code"),
            ),
            Prefetch(
                "extensions",
                queryset=DeadlineExtension.objects.select_related(
                    "agency__region", "granted_by"
                ).order_by("agency__region__code", "agency__short_name", "-until"),
            ),
        )
        .get(pk=pk)
    )


def cycle_agencies(*, cycle: Cycle) -> QuerySet[Agency]:
    """The agencies that own answers in a cycle: those whose deadline can be extended."""
    return (
        Agency.objects.filter(
            Exists(Answer.objects.filter(agency_id=OuterRef("pk"), assessment__cycle=cycle))
        )
        .select_related("region")
        .order_by("region__code", "short_name")
    )
