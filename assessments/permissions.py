"""Who may see and do what: scoping by memberships, shared by the browser and the API.

Lists use `answers_visible_to(user)` / `assessments_visible_to(user)`; single objects use
`get_answer_for_user(user, pk, action)`, which answers 404 for what the user may not see and 403
for what they may see but not do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from regions.choices import AgencyRole, MemberRole
from regions.models import AgencyElementRole, Membership

from .models import Answer, Assessment


class Action:
    VIEW = "view"
    EDIT = "edit"  # level, justification, links, evidence; submit
    COMMENT = "comment"
    REVIEW = "review"  # verify, return
    APPROVE = "approve"
    REOPEN = "reopen"
    MANAGE = "manage"  # cycles, deadlines


@dataclass(frozen=True)
class Scope:
    """A user's roles, read once from their memberships."""

    user_id: int | None
    is_admin: bool = False
    is_reviewer: bool = False
    coordinator_regions: frozenset[int] = field(default_factory=frozenset)
    operator_agencies: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def sees_everything(self) -> bool:
        return self.is_admin or self.is_reviewer

    @cached_property
    def roles(self) -> list[str]:
        roles = []
        if self.is_admin:
            roles.append(MemberRole.ADMINISTRATOR)
        if self.is_reviewer:
            roles.append(MemberRole.REVIEWER)
        if self.coordinator_regions:
            roles.append(MemberRole.COORDINATOR)
        if self.operator_agencies:
            roles.append(MemberRole.OPERATOR)
        return roles


def scope_for(user) -> Scope:
    if user is None or not user.is_authenticated or not user.is_active:
        return Scope(user_id=None)
    cached = getattr(user, "_smartprov_scope", None)
    if cached is not None:
        return cached
    memberships = list(
        Membership.objects.filter(user=user).values_list("role", "region_id", "agency_id")
    )
    scope = Scope(
        user_id=user.pk,
        is_admin=user.is_superuser or any(r == MemberRole.ADMINISTRATOR for r, _, _ in memberships),
        is_reviewer=any(r == MemberRole.REVIEWER for r, _, _ in memberships),
        coordinator_regions=frozenset(
            region for r, region, _ in memberships if r == MemberRole.COORDINATOR
        ),
        operator_agencies=frozenset(
            agency for r, _, agency in memberships if r == MemberRole.OPERATOR
        ),
    )
    user._smartprov_scope = scope
    return scope


def _supporting_condition(scope: Scope) -> Exists:
    """The answer's element is one the user's agency supports, in the answer's region."""
    return Exists(
        AgencyElementRole.objects.filter(
            agency_id__in=scope.operator_agencies,
            role=AgencyRole.SUPPORTING,
            region_id=OuterRef("assessment__region_id"),
            element_code=OuterRef("indicator__element__code"),
        )
    )


def answers_visible_to(user, queryset: QuerySet[Answer] | None = None) -> QuerySet[Answer]:
    scope = scope_for(user)
    qs = Answer.objects.all() if queryset is None else queryset
    if not scope.is_authenticated:
        return qs.none()
    if scope.sees_everything:
        return qs
    condition = Q(assessment__region_id__in=scope.coordinator_regions) | Q(
        agency_id__in=scope.operator_agencies
    )
    if scope.operator_agencies:
        condition |= Q(_supporting_condition(scope))
    return qs.filter(condition)


def assessments_visible_to(user, queryset: QuerySet[Assessment] | None = None):
    scope = scope_for(user)
    qs = Assessment.objects.all() if queryset is None else queryset
    if not scope.is_authenticated:
        return qs.none()
    if scope.sees_everything:
        return qs
    return qs.filter(
        Q(region_id__in=scope.coordinator_regions)
        | Q(answers__agency_id__in=scope.operator_agencies)
    ).distinct()


def can_on_answer(scope: Scope, answer: Answer, action: str) -> bool:
    """May this user do `action` on an answer they can see? (State is checked by services.)"""
    if action in (Action.VIEW, Action.COMMENT):
        return True  # visibility was checked by the queryset
    if action == Action.EDIT:
        return answer.agency_id in scope.operator_agencies
    if action == Action.REVIEW:
        return scope.is_reviewer
    return False


def can_on_assessment(scope: Scope, assessment: Assessment, action: str, agency_id=None) -> bool:
    if action == Action.VIEW:
        return True
    if action == Action.EDIT:  # submit the region, or one agency's answers
        if assessment.region_id in scope.coordinator_regions:
            return True
        return agency_id is not None and agency_id in scope.operator_agencies
    if action in (Action.REVIEW, Action.APPROVE):
        return scope.is_reviewer
    if action in (Action.REOPEN, Action.MANAGE):
        return scope.is_admin
    return False


def get_answer_for_user(user, pk, action: str = Action.VIEW, queryset=None) -> Answer:
    try:
        answer = answers_visible_to(user, queryset).get(pk=pk)
    except (Answer.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if not can_on_answer(scope_for(user), answer, action):
        raise PermissionDenied
    return answer


def get_assessment_for_user(user, pk, action: str = Action.VIEW, agency_id=None) -> Assessment:
    try:
        assessment = assessments_visible_to(user).select_related("cycle", "region").get(pk=pk)
    except (Assessment.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if not can_on_assessment(scope_for(user), assessment, action, agency_id=agency_id):
        raise PermissionDenied
    return assessment
