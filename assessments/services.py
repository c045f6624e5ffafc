"""Every write of the assessment workflow.

Each transition runs in a transaction, locks the row (`select_for_update`), checks the move
against the transition table in `choices.py`, writes the new state with `update_fields`,
appends an audit event and queues side effects (e-mail, report builds) with
`transaction.on_commit`, so that nothing is sent for a change that rolled back.
"""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from dimensions.models import FrameworkVersion, Indicator, LevelDescriptor
from dimensions.services import framework_freeze
from regions.choices import AgencyRole, MemberRole
from regions.models import Agency, AgencyElementRole, Membership, Region

from .choices import (
    ANSWER_TRANSITIONS,
    ASSESSMENT_TRANSITIONS,
    EDITABLE_ANSWER_STATES,
    REVIEWABLE_ASSESSMENT_STATES,
    AnswerAction,
    AnswerState,
    AssessmentAction,
    AssessmentState,
    CycleStatus,
    EventKind,
    NotificationKind,
)
from .evidence import validate_evidence_file
from .exceptions import IncompleteAnswersError, InvalidTransition, StaleVersionError, WorkflowError
from .models import (
    Answer,
    AnswerEvent,
    Assessment,
    AssessmentEvent,
    Comment,
    Cycle,
    DeadlineExtension,
    Evidence,
    Notification,
    OutboxMessage,
)
from .permissions import Action, answers_visible_to, can_on_answer, can_on_assessment, scope_for

MAX_JUSTIFICATION = 20_000
MAX_REASON = 5_000
MAX_LINKS = 20


# --------------------------------------------------------------------------- helpers


def _clean_text(value, *, field: str, max_length: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise WorkflowError(_("Invalid value."), field_errors={field: [_("Enter text.")]})
    if "\x00" in value:
        raise WorkflowError(
            _("The text contains a NUL character."),
            field_errors={field: [_("Remove the invalid (NUL) character from the text.")]},
        )
    value = unicodedata.normalize("NFC", value).strip()
    if len(value) > max_length:
        raise WorkflowError(
            _("The text is too long."),
            field_errors={
                field: [
                    _("At most %(max)d characters (now %(n)d).")
                    % {"max": max_length, "n": len(value)}
                ]
            },
        )
    if required and not value:
        raise WorkflowError(
            _("This field is required."), field_errors={field: [_("This field is required.")]}
        )
    return value


def _clean_level(value, *, field: str, required: bool = False) -> int | None:
    if value in (None, ""):
        if required:
            raise WorkflowError(
                _("Choose a level."), field_errors={field: [_("Choose a level from 1 to 5.")]}
            )
        return None
    if isinstance(value, bool):
        value = "x"
    try:
        level = int(str(value).strip())
    except (TypeError, ValueError):
        level = 0
    if level < 1 or level > 5 or str(value).strip() not in {"1", "2", "3", "4", "5"}:
        raise WorkflowError(
            _("Invalid level."), field_errors={field: [_("Choose a level from 1 to 5.")]}
        )
    return level


def _clean_links(value) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, list | tuple):
        raise WorkflowError(
            _("Invalid links."), field_errors={"links": [_("Enter one link per line.")]}
        )
    links = []
    validate = URLValidator(schemes=["http", "https"])
    for item in value:
        if not isinstance(item, str):
            raise WorkflowError(
                _("Invalid links."), field_errors={"links": [_("Enter one link per line.")]}
            )
        item = item.strip()
        if not item:
            continue
        try:
            validate(item)
        except ValidationError:
            raise WorkflowError(
                _("Invalid link."),
                field_errors={
                    "links": [_("%(link)s is not a valid http(s) link.") % {"link": item[:200]}]
                },
            ) from None
        links.append(item)
    if len(links) > MAX_LINKS:
        raise WorkflowError(
            _("Too many links."),
            field_errors={"links": [_("At most %(max)d links.") % {"max": MAX_LINKS}]},
        )
    return links


def _answer_event(answer: Answer, actor, kind: str, old="", new="", reason="") -> None:
    AnswerEvent.objects.create(
        answer=answer,
        actor=actor,
        kind=kind,
        old_value="" if old is None else str(old),
        new_value="" if new is None else str(new),
        reason=reason or "",
    )


def _assessment_event(
    assessment: Assessment, actor, kind: str, old="", new="", reason="", agency=None
):
    AssessmentEvent.objects.create(
        assessment=assessment,
        actor=actor,
        agency=agency,
        kind=kind,
        old_value=old or "",
        new_value=new or "",
        reason=reason or "",
    )


def _require(allowed: bool) -> None:
    """Services check the actor's role too, so that no caller (view, API, task) can skip it."""
    if not allowed:
        raise PermissionDenied(_("You are not allowed to do this."))


def _require_on_answer(actor, answer: Answer, action: str) -> None:
    _require(can_on_answer(scope_for(actor), answer, action))


def _locked_answer(answer_id: int, *, lock_assessment: bool = False) -> Answer:
    """Lock an answer row. Paths that also change the assessment lock it first: one lock
    order (assessment, then answer) everywhere, so concurrent submits cannot deadlock."""
    if lock_assessment:
        assessment_id = Answer.objects.values_list("assessment_id", flat=True).get(pk=answer_id)
        _locked_assessment(assessment_id)
    return (
        Answer.objects.select_for_update(of=("self",))
        .select_related("assessment__cycle", "assessment__region", "indicator", "agency")
        .get(pk=answer_id)
    )


def _locked_assessment(assessment_id: int) -> Assessment:
    return (
        Assessment.objects.select_for_update(of=("self",))
        .select_related("cycle", "region")
        .get(pk=assessment_id)
    )


def _check_answer_move(answer: Answer, action: str) -> str:
    target = ANSWER_TRANSITIONS.get((answer.state, action))
    if target is None:
        raise InvalidTransition(
            _("You cannot %(action)s an answer that is %(state)s.")
            % {"state": answer.get_state_display().lower(), "action": AnswerAction(action).label}
        )
    return target


def _check_assessment_move(assessment: Assessment, action: str) -> str:
    target = ASSESSMENT_TRANSITIONS.get((assessment.state, action))
    if target is None:
        raise InvalidTransition(
            _("You cannot %(action)s an assessment that is %(state)s.")
            % {
                "state": assessment.get_state_display().lower(),
                "action": AssessmentAction(action).label,
            }
        )
    return target


def _move_assessment(assessment: Assessment, action: str, actor, reason: str = "") -> None:
    target = _check_assessment_move(assessment, action)
    old = assessment.state
    assessment.state = target
    fields = ["state"]
    now = timezone.now()
    if target == AssessmentState.SUBMITTED:
        assessment.submitted_at = now
        fields.append("submitted_at")
    if target == AssessmentState.APPROVED:
        assessment.approved_at, assessment.approved_by = now, actor
        fields += ["approved_at", "approved_by"]
    assessment.save(update_fields=fields)
    _assessment_event(assessment, actor, EventKind.STATE, old, target, reason)


def content_snapshot(answer: Answer) -> dict:
    """What an agency has put into an answer, for the reviewer's diff."""
    evidence = list(
        answer.evidence.filter(removed_at__isnull=True)
        .order_by("pk")
        .values_list("pk", "original_name", "url")
    )
    return {
        "self_level": answer.self_level,
        "justification": answer.justification,
        "links": list(answer.links or []),
        "evidence": [{"id": pk, "name": name or url} for pk, name, url in evidence],
    }


def answer_missing(answer: Answer, *, evidence_count: int | None = None) -> list[str]:
    """Why an answer cannot be submitted yet (empty when complete)."""
    missing = []
    if answer.self_level is None:
        missing.append(_("a level"))
    if not (answer.justification or "").strip():
        missing.append(_("a justification"))
    if answer.self_level is not None:
        required = LevelDescriptor.objects.filter(
            indicator_id=answer.indicator_id, level=answer.self_level, evidence_required=True
        ).exists()
        if required:
            if evidence_count is None:
                evidence_count = answer.evidence.filter(removed_at__isnull=True).count()
            if evidence_count == 0:
                missing.append(_("evidence (required at this level)"))
    return missing


def effective_deadline(*, cycle: Cycle, agency_id: int) -> datetime.date:
    extended = (
        DeadlineExtension.objects.filter(cycle=cycle, agency_id=agency_id)
        .order_by("-until")
        .values_list("until", flat=True)
        .first()
    )
    return max(cycle.entry_deadline, extended) if extended else cycle.entry_deadline


def _check_entry_open(answer: Answer) -> None:
    assessment = answer.assessment
    if assessment.state == AssessmentState.APPROVED:
        raise WorkflowError(_("The assessment is approved and locked."))
    if assessment.cycle.status != CycleStatus.OPEN:
        raise WorkflowError(_("The cycle is closed."))
    # A returned answer may always be fixed; new entries stop at the agency's deadline.
    if answer.state == AnswerState.DRAFT:
        deadline = effective_deadline(cycle=assessment.cycle, agency_id=answer.agency_id)
        if timezone.localdate() > deadline:
            raise WorkflowError(
                _(
                    "The entry deadline (%(date)s) has passed. "
                    "Ask the administrator for an extension."
                )
                % {"date": deadline.isoformat()}
            )


# --------------------------------------------------------------------------- notifications


def _notify(
    users: Iterable, *, kind: str, key: str, params: dict, answer=None, assessment=None
) -> list[int]:
    """Create each user's notification once (by key) and e-mail the new ones after commit."""
    created_ids = []
    for user in users:
        notification, created = Notification.objects.get_or_create(
            user=user,
            key=key,
            defaults={"kind": kind, "params": params, "answer": answer, "assessment": assessment},
        )
        if created:
            created_ids.append(notification.pk)
    if created_ids:
        from .tasks import send_notification_emails

        # robust: a mail failure after commit must not turn a saved change into an error page;
        # the task retries, and unsent notifications stay in the inbox regardless.
        transaction.on_commit(lambda: send_notification_emails.delay(created_ids), robust=True)
    return created_ids


def _agency_operators(agency_ids: Iterable[int]):
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(
            memberships__role=MemberRole.OPERATOR,
            memberships__agency_id__in=list(agency_ids),
            is_active=True,
        )
        .distinct()
    )


def _region_people(assessment: Assessment):
    from django.contrib.auth import get_user_model

    agency_ids = assessment.answers.values_list("agency_id", flat=True)
    return (
        get_user_model()
        .objects.filter(
            Q(memberships__role=MemberRole.COORDINATOR, memberships__region_id=assessment.region_id)
            | Q(memberships__role=MemberRole.OPERATOR, memberships__agency_id__in=agency_ids),
            is_active=True,
        )
        .distinct()
    )


# --------------------------------------------------------------------------- cycles


@transaction.atomic
def cycle_open(
    *,
    actor,
    framework: FrameworkVersion,
    year: int,
    name: str,
    regions: Sequence[Region],
    starts_on: datetime.date,
    entry_deadline: datetime.date,
    review_deadline: datetime.date,
) -> Cycle:
    """Open a cycle: freeze its framework, create one assessment per region and one answer slot
    per indicator, owned by the lead agency of the indicator's element in that region."""
    _require(scope_for(actor).is_admin)
    if not regions:
        raise WorkflowError(
            _("Choose at least one region."),
            field_errors={"regions": [_("Choose at least one region.")]},
        )
    if review_deadline < entry_deadline:
        raise WorkflowError(
            _("The review deadline cannot precede the entry deadline."),
            field_errors={
                "review_deadline": [_("The review deadline cannot precede the entry deadline.")]
            },
        )
    indicators = list(
        Indicator.objects.filter(element__dimension__framework=framework).select_related("element")
    )
    leads = {
        (role.region_id, role.element_code): role.agency_id
        for role in AgencyElementRole.objects.filter(
            region__in=regions, role=AgencyRole.LEAD, agency__is_active=True
        )
    }
    missing = sorted(
        {
            f"{region.name}: {indicator.element.code}"
            for region in regions
            for indicator in indicators
            if (region.pk, indicator.element.code) not in leads
        }
    )
    if missing:
        raise WorkflowError(
            _("These elements have no lead agency: %(list)s") % {"list": ", ".join(missing[:20])}
        )
    framework_freeze(framework=framework)
    cycle = Cycle.objects.create(
        year=year,
        name=_clean_text(name, field="name", max_length=200, required=True),
        framework=framework,
        starts_on=starts_on,
        entry_deadline=entry_deadline,
        review_deadline=review_deadline,
        opened_by=actor,
    )
    for region in regions:
        assessment = Assessment.objects.create(cycle=cycle, region=region)
        _assessment_event(assessment, actor, EventKind.STATE, "", AssessmentState.OPEN)
        Answer.objects.bulk_create(
            Answer(
                assessment=assessment,
                indicator=indicator,
                agency_id=leads[(region.pk, indicator.element.code)],
            )
            for indicator in indicators
        )
    return cycle


@transaction.atomic
def deadline_extend(*, actor, cycle: Cycle, agency: Agency, until: datetime.date, reason: str):
    _require(scope_for(actor).is_admin)
    reason = _clean_text(reason, field="reason", max_length=MAX_REASON, required=True)
    old = effective_deadline(cycle=cycle, agency_id=agency.pk)
    # Extensions only lengthen: a shorter date would be recorded but never take effect.
    if until <= old:
        raise WorkflowError(
            _("An extension must end after the agency's current deadline."),
            field_errors={"until": [_("Choose a date after %(date)s.") % {"date": old}]},
        )
    extension = DeadlineExtension.objects.create(
        cycle=cycle, agency=agency, until=until, reason=reason, granted_by=actor
    )
    assessment = Assessment.objects.filter(cycle=cycle, region_id=agency.region_id).first()
    if assessment:
        _assessment_event(
            assessment,
            actor,
            EventKind.DEADLINE,
            old.isoformat(),
            until.isoformat(),
            reason,
            agency=agency,
        )
    return extension


# --------------------------------------------------------------------------- entry


@transaction.atomic
def answer_save(
    *,
    actor,
    answer_id: int,
    expected_version: int,
    self_level=None,
    justification=None,
    links=None,
    fields: Iterable[str] = ("self_level", "justification", "links"),
) -> Answer:
    """Save a draft (or a returned answer being revised). Refuses a stale `expected_version`."""
    fields = set(fields)
    values = {}
    if "self_level" in fields:
        values["self_level"] = _clean_level(self_level, field="self_level")
    if "justification" in fields:
        values["justification"] = _clean_text(
            justification, field="justification", max_length=MAX_JUSTIFICATION
        )
    if "links" in fields:
        values["links"] = _clean_links(links)
    answer = _locked_answer(answer_id)
    _require_on_answer(actor, answer, Action.EDIT)
    try:
        expected = int(expected_version)
    except (TypeError, ValueError):
        raise WorkflowError(
            _("Invalid version."), field_errors={"version": [_("A whole number is required.")]}
        ) from None
    if answer.version != expected:
        raise StaleVersionError(answer.version)
    if answer.state not in EDITABLE_ANSWER_STATES:
        raise InvalidTransition(
            _("An answer that is %(state)s cannot be edited.")
            % {"state": answer.get_state_display().lower()}
        )
    _check_entry_open(answer)
    changed = []
    for field, value in values.items():
        old = getattr(answer, field)
        if old != value:
            setattr(answer, field, value)
            changed.append(field)
            kind = {
                "self_level": EventKind.SELF_LEVEL,
                "justification": EventKind.JUSTIFICATION,
                "links": EventKind.LINKS,
            }[field]
            render = (lambda v: "\n".join(v)) if field == "links" else (lambda v: v)
            _answer_event(
                answer,
                actor,
                kind,
                render(old) if old is not None else "",
                render(value) if value is not None else "",
            )
    if changed:
        answer.version = F("version") + 1
        answer.save(update_fields=[*changed, "version", "updated_at"])
        answer.refresh_from_db(fields=["version"])
    return answer


@transaction.atomic
def evidence_add(*, actor, answer_id: int, file=None, url: str = "") -> Evidence:
    answer = _locked_answer(answer_id)
    _require_on_answer(actor, answer, Action.EDIT)
    if answer.state not in EDITABLE_ANSWER_STATES:
        raise InvalidTransition(_("Evidence can only be added to a draft or returned answer."))
    _check_entry_open(answer)
    if bool(file) == bool(url):
        raise WorkflowError(
            _("Attach a file or give a link."),
            field_errors={"file": [_("Attach a file or give a link.")]},
        )
    if file:
        checked = validate_evidence_file(file)
        evidence = Evidence(
            answer=answer,
            original_name=checked.name,
            content_type=checked.content_type,
            size=checked.size,
            sha256=checked.sha256,
            uploaded_by=actor,
        )
        file.seek(0)
        evidence.file.save(checked.name, file, save=False)
        try:
            evidence.save()
        except Exception:
            evidence.file.delete(save=False)  # no orphan file for a row that was not written
            raise
        label = checked.name
    else:
        try:
            links = _clean_links([url])
        except WorkflowError as error:
            # Report it on the field the caller sent (`url`), not on the answer's `links`.
            raise WorkflowError(
                error.message, field_errors={"url": error.field_errors.get("links", [])}
            ) from None
        if not links:
            raise WorkflowError(
                _("Invalid link."), field_errors={"url": [_("Enter a valid http(s) link.")]}
            )
        evidence = Evidence.objects.create(answer=answer, url=links[0], uploaded_by=actor)
        label = links[0]
    Answer.objects.filter(pk=answer.pk).update(version=F("version") + 1, updated_at=timezone.now())
    _answer_event(answer, actor, EventKind.EVIDENCE_ADDED, "", label)
    return evidence


@transaction.atomic
def evidence_remove(*, actor, evidence_id: int) -> None:
    evidence = Evidence.objects.select_related("answer").get(
        pk=evidence_id, removed_at__isnull=True
    )
    answer = _locked_answer(evidence.answer_id)
    _require_on_answer(actor, answer, Action.EDIT)
    if answer.state not in EDITABLE_ANSWER_STATES:
        raise InvalidTransition(_("Evidence can only be removed from a draft or returned answer."))
    _check_entry_open(answer)
    evidence.removed_at = timezone.now()
    evidence.save(update_fields=["removed_at"])
    Answer.objects.filter(pk=answer.pk).update(version=F("version") + 1, updated_at=timezone.now())
    _answer_event(answer, actor, EventKind.EVIDENCE_REMOVED, str(evidence), "")


def _submit_locked(answer: Answer, actor) -> None:
    target = _check_answer_move(answer, AnswerAction.SUBMIT)
    _check_entry_open(answer)
    missing = answer_missing(answer)
    if missing:
        raise IncompleteAnswersError(
            [{"answer": answer.pk, "indicator": answer.indicator.code, "missing": missing}]
        )
    old = answer.state
    answer.state = target
    answer.submitted_at = timezone.now()
    answer.save(update_fields=["state", "submitted_at", "updated_at"])
    _answer_event(answer, actor, EventKind.STATE, old, target)


def _after_submissions(assessment_id: int, actor) -> None:
    assessment = _locked_assessment(assessment_id)
    open_left = assessment.answers.filter(state__in=EDITABLE_ANSWER_STATES).exists()
    if assessment.state == AssessmentState.OPEN and not open_left:
        _move_assessment(assessment, AssessmentAction.SUBMIT, actor)


@transaction.atomic
def answer_submit(*, actor, answer_id: int) -> Answer:
    """Submit one answer (also how a returned answer is resubmitted)."""
    answer = _locked_answer(answer_id, lock_assessment=True)
    _require_on_answer(actor, answer, Action.EDIT)
    _submit_locked(answer, actor)
    _after_submissions(answer.assessment_id, actor)
    return answer


@transaction.atomic
def assessment_submit(*, actor, assessment_id: int, agency_id: int | None = None) -> list[Answer]:
    """Submit every open answer of one agency (or, for a coordinator, of the whole region).

    All or nothing: if any answer is incomplete, nothing is submitted and the error lists them.
    """
    assessment = _locked_assessment(assessment_id)
    scope = scope_for(actor)
    if agency_id is None and assessment.region_id not in scope.coordinator_regions:
        # An operator submits their own agency's answers.
        own = [
            a
            for a in scope.operator_agencies
            if a in set(assessment.answers.values_list("agency_id", flat=True))
        ]
        agency_id = own[0] if len(own) == 1 else None
    _require(can_on_assessment(scope, assessment, Action.EDIT, agency_id=agency_id))
    if assessment.state == AssessmentState.APPROVED:
        raise WorkflowError(_("The assessment is approved and locked."))
    answers = (
        assessment.answers.select_for_update(of=("self",))
        .select_related("indicator", "assessment__cycle", "assessment__region", "agency")
        .filter(state__in=EDITABLE_ANSWER_STATES)
        .order_by("indicator__code")
    )
    if agency_id is not None:
        answers = answers.filter(agency_id=agency_id)
    answers = list(answers)
    if not answers:
        raise WorkflowError(_("There is nothing left to submit."))
    missing = []
    for answer in answers:
        gaps = answer_missing(answer)
        if gaps:
            missing.append(
                {"answer": answer.pk, "indicator": answer.indicator.code, "missing": gaps}
            )
    if missing:
        raise IncompleteAnswersError(missing)
    for answer in answers:
        _submit_locked(answer, actor)
    _after_submissions(assessment.pk, actor)
    return answers


@transaction.atomic
def answer_copy_previous(*, actor, answer_id: int, expected_version: int) -> Answer:
    """Copy the same indicator's answer of the region's previous cycle (same framework lineage)
    into this draft: level (the final one where verified), justification and links."""
    answer = Answer.objects.select_related("assessment__cycle__framework", "indicator").get(
        pk=answer_id
    )
    # Before the look-up, so that nobody else learns whether an earlier answer exists.
    _require_on_answer(actor, answer, Action.EDIT)
    previous = previous_answer(answer)
    if previous is None:
        raise WorkflowError(_("There is no answer to copy from an earlier cycle."))
    return answer_save(
        actor=actor,
        answer_id=answer.pk,
        expected_version=expected_version,
        self_level=previous.final_level or previous.self_level,
        justification=previous.justification,
        links=previous.links,
    )


def previous_answer(answer: Answer) -> Answer | None:
    cycle = answer.assessment.cycle
    return (
        Answer.objects.filter(
            assessment__region_id=answer.assessment.region_id,
            assessment__cycle__framework__slug=cycle.framework.slug,
            assessment__cycle__starts_on__lt=cycle.starts_on,
            indicator__code=answer.indicator.code,
        )
        .exclude(self_level__isnull=True)
        .order_by("-assessment__cycle__starts_on")
        .first()
    )


@transaction.atomic
def comment_add(*, actor, answer_id: int, body: str) -> Comment:
    body = _clean_text(body, field="body", max_length=MAX_REASON, required=True)
    _require(answers_visible_to(actor).filter(pk=answer_id).exists())
    answer = Answer.objects.get(pk=answer_id)
    comment = Comment.objects.create(answer=answer, author=actor, body=body)
    _answer_event(answer, actor, EventKind.COMMENT, "", body)
    return comment


# --------------------------------------------------------------------------- review


def _check_reviewable(answer: Answer) -> None:
    state = answer.assessment.state
    if state not in REVIEWABLE_ASSESSMENT_STATES:
        raise WorkflowError(_("The assessment is approved and locked."))
    if answer.state == AnswerState.VERIFIED and state != AssessmentState.REOPENED:
        raise InvalidTransition(
            _(
                "A verified answer can only be changed after an administrator reopens "
                "the assessment."
            )
        )


def review_refusal(answer: Answer, action: str) -> str | None:
    """Why a reviewer cannot verify or return this answer now (None when they can), so that a
    page can say so even when it no longer shows the review forms."""
    try:
        _check_reviewable(answer)
        _check_answer_move(answer, action)
    except WorkflowError as error:
        return str(error.message)
    return None


def _start_review(answer: Answer, actor) -> None:
    if answer.assessment.state == AssessmentState.SUBMITTED:
        assessment = _locked_assessment(answer.assessment_id)
        if assessment.state == AssessmentState.SUBMITTED:
            _move_assessment(assessment, AssessmentAction.START_REVIEW, actor)


@transaction.atomic
def answer_return(*, actor, answer_id: int, reason: str, comment: str = "") -> Answer:
    """Return an answer for revision, with a required reason; the agency is notified."""
    reason = _clean_text(reason, field="reason", max_length=MAX_REASON, required=True)
    comment = _clean_text(comment, field="comment", max_length=MAX_REASON)
    answer = _locked_answer(answer_id, lock_assessment=True)
    _require_on_answer(actor, answer, Action.REVIEW)
    _check_reviewable(answer)
    target = _check_answer_move(answer, AnswerAction.RETURN)
    old = answer.state
    answer.state = target
    answer.return_reason = reason
    answer.reviewed_snapshot = content_snapshot(answer)
    answer.version = F("version") + 1
    answer.save(
        update_fields=["state", "return_reason", "reviewed_snapshot", "version", "updated_at"]
    )
    answer.refresh_from_db(fields=["version"])
    _answer_event(answer, actor, EventKind.STATE, old, target, reason)
    if comment:
        Comment.objects.create(answer=answer, author=actor, body=comment)
        _answer_event(answer, actor, EventKind.COMMENT, "", comment)
    _start_review(answer, actor)
    event_id = answer.events.order_by("-pk").values_list("pk", flat=True).first()
    _notify(
        _agency_operators([answer.agency_id]),
        kind=NotificationKind.ANSWER_RETURNED,
        key=f"answer-returned:{event_id}",
        params={
            "indicator": answer.indicator.code,
            "region": answer.assessment.region.name,
            "reason": reason,
        },
        answer=answer,
    )
    return answer


@transaction.atomic
def answer_verify(
    *, actor, answer_id: int, verified_level, reason: str = "", comment: str = ""
) -> Answer:
    """Verify an answer at a level; a reason is required when it differs from the self level."""
    level = _clean_level(verified_level, field="verified_level", required=True)
    reason = _clean_text(reason, field="reason", max_length=MAX_REASON)
    comment = _clean_text(comment, field="comment", max_length=MAX_REASON)
    answer = _locked_answer(answer_id, lock_assessment=True)
    _require_on_answer(actor, answer, Action.REVIEW)
    _check_reviewable(answer)
    target = _check_answer_move(answer, AnswerAction.VERIFY)
    if level != answer.self_level and not reason:
        raise WorkflowError(
            _("Give a reason: the verified level differs from the self-assessed level."),
            field_errors={
                "reason": [
                    _("Required when the verified level differs from the self-assessed level.")
                ]
            },
        )
    old_state, old_level = answer.state, answer.verified_level
    answer.state = target
    answer.verified_level = level
    answer.final_level = level
    answer.verification_reason = reason
    answer.verified_at = timezone.now()
    answer.verified_by = actor
    answer.reviewed_snapshot = content_snapshot(answer)
    answer.version = F("version") + 1
    answer.save(
        update_fields=[
            "state",
            "verified_level",
            "final_level",
            "verification_reason",
            "verified_at",
            "verified_by",
            "reviewed_snapshot",
            "version",
            "updated_at",
        ]
    )
    answer.refresh_from_db(fields=["version"])
    if old_state != target:
        _answer_event(answer, actor, EventKind.STATE, old_state, target)
    _answer_event(answer, actor, EventKind.VERIFIED_LEVEL, old_level or "", level, reason)
    if comment:
        Comment.objects.create(answer=answer, author=actor, body=comment)
        _answer_event(answer, actor, EventKind.COMMENT, "", comment)
    _start_review(answer, actor)
    event_id = answer.events.order_by("-pk").values_list("pk", flat=True).first()
    _notify(
        _agency_operators([answer.agency_id]),
        kind=NotificationKind.ANSWER_VERIFIED,
        key=f"answer-verified:{event_id}",
        params={
            "indicator": answer.indicator.code,
            "region": answer.assessment.region.name,
            "level": level,
        },
        answer=answer,
    )
    return answer


def answers_bulk_verify(
    *, actor, answer_ids: Iterable[int]
) -> tuple[list[Answer], list[tuple[int, str]]]:
    """Verify each selected answer at its self-assessed level. Each answer is its own
    transaction; the ones that cannot be verified are reported, the others are kept."""
    done, failed = [], []
    for answer_id in answer_ids:
        try:
            level = Answer.objects.values_list("self_level", flat=True).get(pk=answer_id)
            done.append(answer_verify(actor=actor, answer_id=answer_id, verified_level=level))
        except (WorkflowError, PermissionDenied, Answer.DoesNotExist) as error:
            failed.append((answer_id, str(getattr(error, "message", error))))
    return done, failed


@transaction.atomic
def assessment_approve(*, actor, assessment_id: int) -> Assessment:
    """Approve a region's assessment once every answer is verified; approval locks it and
    records a report build in the outbox (delivered after commit)."""
    assessment = _locked_assessment(assessment_id)
    _require(can_on_assessment(scope_for(actor), assessment, Action.APPROVE))
    _check_assessment_move(assessment, AssessmentAction.APPROVE)
    unverified = assessment.answers.exclude(state=AnswerState.VERIFIED).count()
    if unverified:
        raise WorkflowError(_("%(count)d answer(s) are not verified yet.") % {"count": unverified})
    _move_assessment(assessment, AssessmentAction.APPROVE, actor)
    outbox_publish(
        topic="assessment.approved",
        payload={
            "assessment": assessment.pk,
            "cycle": assessment.cycle_id,
            "region": assessment.region.code,
        },
    )
    event_id = assessment.events.order_by("-pk").values_list("pk", flat=True).first()
    _notify(
        _region_people(assessment),
        kind=NotificationKind.ASSESSMENT_APPROVED,
        key=f"assessment-approved:{event_id}",
        params={"region": assessment.region.name, "cycle": assessment.cycle.name},
        assessment=assessment,
    )
    return assessment


@transaction.atomic
def assessment_reopen(*, actor, assessment_id: int, reason: str) -> Assessment:
    """Reopen an approved assessment (administrators) with a reason; approval relocks it."""
    assessment = _locked_assessment(assessment_id)
    _require(can_on_assessment(scope_for(actor), assessment, Action.REOPEN))
    reason = _clean_text(reason, field="reason", max_length=MAX_REASON, required=True)
    _move_assessment(assessment, AssessmentAction.REOPEN, actor, reason)
    event_id = assessment.events.order_by("-pk").values_list("pk", flat=True).first()
    _notify(
        _region_people(assessment),
        kind=NotificationKind.ASSESSMENT_REOPENED,
        key=f"assessment-reopened:{event_id}",
        params={"region": assessment.region.name, "cycle": assessment.cycle.name, "reason": reason},
        assessment=assessment,
    )
    return assessment


# --------------------------------------------------------------------------- outbox


def outbox_publish(*, topic: str, payload: dict) -> OutboxMessage:
    """Record a side effect in the current transaction; deliver it once the transaction commits."""
    message = OutboxMessage.objects.create(topic=topic, payload=payload)
    transaction.on_commit(lambda: outbox_dispatch(message_id=message.pk))
    return message


def outbox_dispatch(*, message_id: int) -> bool:
    """Hand one pending message to its Celery task (settings.OUTBOX_ROUTES: topic → task name).

    Returns False and keeps it pending when the broker cannot be reached; the sweeper retries.
    Tasks are looked up by name, so that this app imports nothing of its consumers.
    """
    from smartprov.celery import app

    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, dispatched_at__isnull=True)
            .first()
        )
        if message is None:
            return False
        task_name = settings.OUTBOX_ROUTES.get(message.topic)
        message.attempts += 1
        if task_name is None:
            message.last_error = f"no route for topic {message.topic}"
            message.save(update_fields=["attempts", "last_error"])
            return False
        try:
            if settings.CELERY_TASK_ALWAYS_EAGER:
                # In process, the consumer runs inside this transaction: a savepoint undoes its
                # failed database work, which would otherwise abort the bookkeeping below.
                with transaction.atomic():
                    app.tasks[task_name].apply(args=[message.pk, message.payload], throw=True)
            else:
                app.send_task(task_name, args=[message.pk, message.payload])
        except Exception as error:
            message.last_error = f"{error.__class__.__name__}: {error}"[:2000]
            message.save(update_fields=["attempts", "last_error"])
            return False
        message.dispatched_at = timezone.now()
        message.last_error = ""
        message.save(update_fields=["attempts", "dispatched_at", "last_error"])
        return True


def outbox_sweep(*, older_than_seconds: int = 30) -> int:
    """Deliver messages still pending (the broker was down when they were recorded)."""
    cutoff = timezone.now() - datetime.timedelta(seconds=older_than_seconds)
    pending = OutboxMessage.objects.filter(dispatched_at__isnull=True, created_at__lte=cutoff)
    return sum(outbox_dispatch(message_id=pk) for pk in pending.values_list("pk", flat=True)[:500])


# --------------------------------------------------------------------------- deadlines


def deadline_reminders_send(*, today: datetime.date | None = None) -> int:
    """Notify operators whose agency's entry deadline is in three days and who still have open
    answers. Keyed by cycle, agency and date, so a second run the same day sends nothing."""
    today = today or timezone.localdate()
    target = today + datetime.timedelta(days=3)
    sent = 0
    for cycle in Cycle.objects.filter(status=CycleStatus.OPEN):
        open_by_agency = {}
        for agency_id in Answer.objects.filter(
            assessment__cycle=cycle, state__in=EDITABLE_ANSWER_STATES
        ).values_list("agency_id", flat=True):
            open_by_agency[agency_id] = open_by_agency.get(agency_id, 0) + 1
        for agency in Agency.objects.filter(pk__in=open_by_agency):
            deadline = effective_deadline(cycle=cycle, agency_id=agency.pk)
            if deadline != target:
                continue
            with transaction.atomic():
                created = _notify(
                    _agency_operators([agency.pk]),
                    kind=NotificationKind.DEADLINE_SOON,
                    key=f"deadline:{cycle.pk}:{agency.pk}:{deadline.isoformat()}",
                    params={
                        "cycle": cycle.name,
                        "agency": agency.short_name,
                        "deadline": deadline.isoformat(),
                        "open": open_by_agency[agency.pk],
                    },
                )
            # Count only agencies reminded now: a second run the same day reminds no one.
            if created:
                sent += 1
    return sent


def notification_mark_read(*, user, notification_ids: Iterable[int]) -> int:
    return Notification.objects.filter(
        user=user, pk__in=list(notification_ids), read_at__isnull=True
    ).update(read_at=timezone.now())


__all__ = [
    "Membership",
    "answer_copy_previous",
    "answer_missing",
    "answer_return",
    "answer_save",
    "answer_submit",
    "answer_verify",
    "answers_bulk_verify",
    "assessment_approve",
    "assessment_reopen",
    "assessment_submit",
    "comment_add",
    "content_snapshot",
    "cycle_open",
    "deadline_extend",
    "deadline_reminders_send",
    "evidence_add",
    "evidence_remove",
    "outbox_dispatch",
    "outbox_publish",
    "outbox_sweep",
]
