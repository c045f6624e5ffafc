"""States of the workflow and their transition tables: the one place that defines them."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CycleStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class AnswerState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    RETURNED = "returned", _("Returned for revision")
    VERIFIED = "verified", _("Verified")


class AssessmentState(models.TextChoices):
    OPEN = "open", _("Open for entry")
    SUBMITTED = "submitted", _("Submitted")
    IN_REVIEW = "in_review", _("In review")
    APPROVED = "approved", _("Approved")
    REOPENED = "reopened", _("Reopened")


class AnswerAction(models.TextChoices):
    SUBMIT = "submit", _("submit")
    RETURN = "return", _("return for revision")
    VERIFY = "verify", _("verify")


class AssessmentAction(models.TextChoices):
    SUBMIT = "submit", _("submit")
    START_REVIEW = "start_review", _("start review")
    APPROVE = "approve", _("approve")
    REOPEN = "reopen", _("reopen")


# (state, action) → next state. Anything not listed is an illegal move.
ANSWER_TRANSITIONS: dict[tuple[str, str], str] = {
    (AnswerState.DRAFT, AnswerAction.SUBMIT): AnswerState.SUBMITTED,
    (AnswerState.RETURNED, AnswerAction.SUBMIT): AnswerState.SUBMITTED,
    (AnswerState.SUBMITTED, AnswerAction.RETURN): AnswerState.RETURNED,
    (AnswerState.SUBMITTED, AnswerAction.VERIFY): AnswerState.VERIFIED,
    # A verified answer moves again only while its assessment is reopened (checked by the service).
    (AnswerState.VERIFIED, AnswerAction.RETURN): AnswerState.RETURNED,
    (AnswerState.VERIFIED, AnswerAction.VERIFY): AnswerState.VERIFIED,
}

ASSESSMENT_TRANSITIONS: dict[tuple[str, str], str] = {
    (AssessmentState.OPEN, AssessmentAction.SUBMIT): AssessmentState.SUBMITTED,
    (AssessmentState.SUBMITTED, AssessmentAction.START_REVIEW): AssessmentState.IN_REVIEW,
    (AssessmentState.SUBMITTED, AssessmentAction.APPROVE): AssessmentState.APPROVED,
    (AssessmentState.IN_REVIEW, AssessmentAction.APPROVE): AssessmentState.APPROVED,
    (AssessmentState.REOPENED, AssessmentAction.APPROVE): AssessmentState.APPROVED,
    (AssessmentState.APPROVED, AssessmentAction.REOPEN): AssessmentState.REOPENED,
}

# Answers can be edited by their agency only in these states...
EDITABLE_ANSWER_STATES = frozenset({AnswerState.DRAFT, AnswerState.RETURNED})
# ...and reviewed only while the assessment is in one of these.
REVIEWABLE_ASSESSMENT_STATES = frozenset(
    {
        AssessmentState.OPEN,
        AssessmentState.SUBMITTED,
        AssessmentState.IN_REVIEW,
        AssessmentState.REOPENED,
    }
)


class EventKind(models.TextChoices):
    STATE = "state", _("State")
    SELF_LEVEL = "self_level", _("Self-assessed level")
    JUSTIFICATION = "justification", _("Justification")
    LINKS = "links", _("Links")
    EVIDENCE_ADDED = "evidence_added", _("Evidence added")
    EVIDENCE_REMOVED = "evidence_removed", _("Evidence removed")
    VERIFIED_LEVEL = "verified_level", _("Verified level")
    COMMENT = "comment", _("Comment")
    DEADLINE = "deadline", _("Deadline extended")


class NotificationKind(models.TextChoices):
    ANSWER_RETURNED = "answer_returned", _("Answer returned for revision")
    ANSWER_VERIFIED = "answer_verified", _("Answer verified")
    ASSESSMENT_APPROVED = "assessment_approved", _("Assessment approved")
    ASSESSMENT_REOPENED = "assessment_reopened", _("Assessment reopened")
    DEADLINE_SOON = "deadline_soon", _("Entry deadline in 3 days")
