"""Pages of reviewers (verifikator, Diskominfo Provinsi) and administrators: the review queue,
one answer's review with its diff, an assessment's approval and governed reopening, and cycles.

Who may do what comes from `assessments.permissions` (404 for what a user may not see, 403 for
what they may see but not do); every write goes through `assessments.services`, whose
`WorkflowError`s are shown on the form or as a message in the user's language.
"""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from dimensions.exceptions import FrameworkIncompleteError

from .. import services
from ..choices import AnswerAction, AnswerState, AssessmentState
from ..exceptions import WorkflowError
from ..forms.review import (
    CommentForm,
    CycleOpenForm,
    DeadlineExtendForm,
    QueueFilterForm,
    ReopenForm,
    ReturnForm,
    VerifyForm,
    add_workflow_error,
)
from ..models import Answer, Cycle
from ..permissions import Action, Scope, can_on_answer, get_assessment_for_user, scope_for
from ..selectors import review as selectors

# --------------------------------------------------------------------------- helpers


def _require_review_pages(scope: Scope) -> None:
    """Review pages are for reviewers; administrators read them (and reopen, manage cycles)."""
    if not (scope.is_reviewer or scope.is_admin):
        raise PermissionDenied


def _require_admin(scope: Scope) -> None:
    if not scope.is_admin:
        raise PermissionDenied


def _queue_query(request: HttpRequest) -> str:
    """The queue's filters as a query string (without the page), carried from the queue to
    the answers and back so that a reviewer never loses their place."""
    query = QueryDict(mutable=True)
    for key in ("cycle", "region", "agency", "dimension", "element", "state"):
        if key in request.GET:
            query[key] = request.GET[key]
    return query.urlencode()


def _with_query(url: str, query: str) -> str:
    return f"{url}?{query}" if query else url


def _queue(request: HttpRequest):
    form = QueueFilterForm(request.GET)
    return form, selectors.review_queue(user=request.user, **form.filters())


# --------------------------------------------------------------------------- the queue


@login_required
@require_http_methods(["GET", "POST"])
def review_queue(request: HttpRequest) -> HttpResponse:
    """Answers across all regions waiting for review, filtered by GET; POST verifies the
    selected ones at their self-assessed level (reviewers only)."""
    scope = scope_for(request.user)
    _require_review_pages(scope)
    if request.method == "POST":
        return _bulk_verify(request, scope)
    form, queue = _queue(request)
    paginator = Paginator(queue, selectors.QUEUE_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    page_rows = selectors.queue_page_rows(page.object_list)
    query = _queue_query(request)
    context = {
        "form": form,
        "page": page,
        "rows": page_rows,
        "query": query,
        "can_verify": scope.is_reviewer,
        "queue_url": reverse("assessments:review_queue"),
    }
    partial = request.htmx and not request.htmx.history_restore_request
    template = (
        "assessments/review/partials/queue_results.html"
        if partial
        else "assessments/review/queue.html"
    )
    response = render(request, template, context)
    # The same URL answers a whole page or the results only: caches must tell them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


def _bulk_verify(request: HttpRequest, scope: Scope) -> HttpResponse:
    if not scope.is_reviewer:
        raise PermissionDenied
    back = _with_query(reverse("assessments:review_queue"), _queue_query(request))
    ids = []
    for value in request.POST.getlist("answers"):
        try:
            ids.append(int(value))
        except ValueError:
            continue
    if not ids:
        messages.error(request, _("Select at least one answer to verify."))
        return redirect(back)
    done, failed = services.answers_bulk_verify(actor=request.user, answer_ids=ids)
    if done:
        messages.success(
            request,
            ngettext(
                "%(count)d answer verified at its self-assessed level.",
                "%(count)d answers verified at their self-assessed level.",
                len(done),
            )
            % {"count": len(done)},
        )
    if failed:
        names = {
            row["pk"]: f"{row['indicator__code']} ({row['assessment__region__name']})"
            for row in Answer.objects.filter(pk__in=[pk for pk, _msg in failed]).values(
                "pk", "indicator__code", "assessment__region__name"
            )
        }
        for answer_id, reason in failed:
            messages.error(
                request,
                _("Not verified: %(answer)s: %(reason)s")
                % {"answer": names.get(answer_id, f"#{answer_id}"), "reason": reason},
            )
    return redirect(back)


# --------------------------------------------------------------------------- one answer


def _render_answer(
    request: HttpRequest,
    answer: Answer,
    *,
    verify_form: VerifyForm | None = None,
    return_form: ReturnForm | None = None,
    comment_form: CommentForm | None = None,
    status: int = 200,
) -> HttpResponse:
    scope = scope_for(request.user)
    query = _queue_query(request)
    _form, queue = _queue(request)
    neighbours = selectors.queue_neighbours(queue, answer.pk)
    assessment = answer.assessment
    reviewable = (
        scope.is_reviewer
        and assessment.state != AssessmentState.APPROVED
        and (
            answer.state == AnswerState.SUBMITTED
            or (
                answer.state == AnswerState.VERIFIED
                and assessment.state == AssessmentState.REOPENED
            )
        )
    )
    descriptors = {d.level: d for d in answer.indicator.levels.all()}
    context = {
        "answer": answer,
        "assessment": assessment,
        "self_descriptor": descriptors.get(answer.self_level),
        "verified_descriptor": descriptors.get(answer.verified_level),
        "evidence": selectors.active_evidence(answer),
        "diff": selectors.answer_diff(answer),
        "timeline": selectors.answer_timeline(answer),
        "comments": list(answer.comments.all()),
        "neighbours": neighbours,
        "query": query,
        "queue_url": _with_query(reverse("assessments:review_queue"), query),
        "reviewable": reviewable,
        "verify_form": verify_form or VerifyForm(answer=answer),
        "return_form": return_form or ReturnForm(),
        "comment_form": comment_form or CommentForm(),
    }
    return render(request, "assessments/review/answer.html", context, status=status)


def _answer_page(request: HttpRequest, pk: int, action: str = Action.VIEW) -> Answer:
    """The answer for the review page: 404 if invisible; 403 unless the user reviews (or, to
    read and comment, administers), or may do `action` on it."""
    answer = selectors.answer_for_review(user=request.user, pk=pk)
    scope = scope_for(request.user)
    _require_review_pages(scope)
    if not can_on_answer(scope, answer, action):
        raise PermissionDenied
    return answer


@login_required
@require_http_methods(["GET"])
def answer_review(request: HttpRequest, pk: int) -> HttpResponse:
    """One answer: what the agency claims, what changed since the last review, the thread and
    the audit trail, with the verify and return forms."""
    return _render_answer(request, _answer_page(request, pk))


def _after_review(request: HttpRequest, answer_id: int) -> HttpResponseRedirect:
    """Straight on to the next answer in the queue (computed before the action, since a
    verified answer leaves a queue of submitted ones), else back to the queue."""
    query = _queue_query(request)
    _form, queue = _queue(request)
    following = selectors.queue_neighbours(queue, answer_id)["next"]
    if following and following != answer_id:
        return redirect(_with_query(reverse("assessments:answer_review", args=[following]), query))
    return redirect(_with_query(reverse("assessments:review_queue"), query))


@login_required
@require_POST
def answer_verify(request: HttpRequest, pk: int) -> HttpResponse:
    answer = _answer_page(request, pk, Action.REVIEW)
    refusal = services.review_refusal(answer, AnswerAction.VERIFY)
    if refusal:
        # The page hides the review forms of an answer that cannot be reviewed now (another
        # reviewer acted first, or it is not submitted): the refusal must still be said.
        messages.error(request, refusal)
        return _render_answer(request, answer, status=400)
    form = VerifyForm(request.POST, answer=answer)
    if form.is_valid():
        # Where to go next is decided before the answer leaves the queue.
        response = _after_review(request, answer.pk)
        try:
            services.answer_verify(
                actor=request.user,
                answer_id=answer.pk,
                verified_level=form.cleaned_data["verified_level"],
                reason=form.cleaned_data["reason"],
                comment=form.cleaned_data["comment"],
            )
        except WorkflowError as error:
            add_workflow_error(form, error)
        else:
            messages.success(
                request,
                _("%(indicator)s (%(region)s) verified at level %(level)s.")
                % {
                    "indicator": answer.indicator.code,
                    "region": answer.assessment.region.name,
                    "level": form.cleaned_data["verified_level"],
                },
            )
            return response
    return _render_answer(request, answer, verify_form=form, status=400)


@login_required
@require_POST
def answer_return(request: HttpRequest, pk: int) -> HttpResponse:
    answer = _answer_page(request, pk, Action.REVIEW)
    refusal = services.review_refusal(answer, AnswerAction.RETURN)
    if refusal:
        # The page hides the review forms of an answer that cannot be reviewed now (another
        # reviewer acted first, or it is not submitted): the refusal must still be said.
        messages.error(request, refusal)
        return _render_answer(request, answer, status=400)
    form = ReturnForm(request.POST)
    if form.is_valid():
        response = _after_review(request, answer.pk)
        try:
            services.answer_return(
                actor=request.user,
                answer_id=answer.pk,
                reason=form.cleaned_data["reason"],
                comment=form.cleaned_data["comment"],
            )
        except WorkflowError as error:
            add_workflow_error(form, error)
        else:
            messages.success(
                request,
                _("%(indicator)s (%(region)s) returned to %(agency)s for revision.")
                % {
                    "indicator": answer.indicator.code,
                    "region": answer.assessment.region.name,
                    "agency": answer.agency.short_name,
                },
            )
            return response
    return _render_answer(request, answer, return_form=form, status=400)


@login_required
@require_POST
def answer_comment(request: HttpRequest, pk: int) -> HttpResponse:
    answer = _answer_page(request, pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            services.comment_add(
                actor=request.user, answer_id=answer.pk, body=form.cleaned_data["body"]
            )
        except WorkflowError as error:
            add_workflow_error(form, error)
        else:
            messages.success(request, _("Comment added."))
            url = reverse("assessments:answer_review", args=[answer.pk])
            return redirect(_with_query(url, _queue_query(request)) + "#comments")
    return _render_answer(request, answer, comment_form=form, status=400)


# --------------------------------------------------------------------------- one assessment


def _render_assessment(request: HttpRequest, assessment, *, reopen_form=None, status=200):
    scope = scope_for(request.user)
    overview = selectors.assessment_overview(assessment=assessment)
    unverified_query = QueryDict(mutable=True)
    unverified_query.update(
        {"cycle": assessment.cycle_id, "region": assessment.region_id, "state": "unverified"}
    )
    context = {
        "assessment": assessment,
        "overview": overview,
        "locked": assessment.is_locked,
        "can_approve": scope.is_reviewer and assessment.state != AssessmentState.APPROVED,
        "can_reopen": scope.is_admin and assessment.state == AssessmentState.APPROVED,
        "reopen_form": reopen_form or ReopenForm(),
        "unverified_url": _with_query(
            reverse("assessments:review_queue"), unverified_query.urlencode()
        ),
    }
    return render(request, "assessments/review/assessment.html", context, status=status)


@login_required
@require_http_methods(["GET"])
def assessment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A region's assessment in a cycle: progress, events, approval and reopening."""
    assessment = get_assessment_for_user(request.user, pk, Action.VIEW)
    _require_review_pages(scope_for(request.user))
    return _render_assessment(request, assessment)


@login_required
@require_POST
def assessment_approve(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = get_assessment_for_user(request.user, pk, Action.APPROVE)
    try:
        services.assessment_approve(actor=request.user, assessment_id=assessment.pk)
    except WorkflowError as error:
        # Unverified answers are the refusal a reviewer can act on (the page links to them),
        # even when the assessment's state is refused first.
        unverified = assessment.answers.exclude(state=AnswerState.VERIFIED).count()
        if unverified:
            messages.error(
                request,
                ngettext(
                    "%(count)d answer is not verified yet. An assessment can be approved only "
                    "when every answer is verified.",
                    "%(count)d answers are not verified yet. An assessment can be approved only "
                    "when every answer is verified.",
                    unverified,
                )
                % {"count": unverified},
            )
        else:
            messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("The assessment of %(region)s is approved and locked.")
            % {"region": assessment.region.name},
        )
    return redirect("assessments:assessment_detail", pk=assessment.pk)


@login_required
@require_POST
def assessment_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = get_assessment_for_user(request.user, pk, Action.REOPEN)
    form = ReopenForm(request.POST)
    if form.is_valid():
        try:
            services.assessment_reopen(
                actor=request.user, assessment_id=assessment.pk, reason=form.cleaned_data["reason"]
            )
        except WorkflowError as error:
            add_workflow_error(form, error)
        else:
            messages.success(
                request,
                _("The assessment of %(region)s is reopened.") % {"region": assessment.region.name},
            )
            return redirect("assessments:assessment_detail", pk=assessment.pk)
    return _render_assessment(request, assessment, reopen_form=form, status=400)


# --------------------------------------------------------------------------- cycles


@login_required
@require_http_methods(["GET"])
def cycle_list(request: HttpRequest) -> HttpResponse:
    _require_admin(scope_for(request.user))
    return render(
        request,
        "assessments/review/cycle_list.html",
        {"cycles": selectors.cycles_with_assessments()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def cycle_open(request: HttpRequest) -> HttpResponse:
    """Open a cycle: the service freezes the framework version and creates every assessment
    and answer slot; what it refuses (e.g. elements without a lead agency) is shown here."""
    _require_admin(scope_for(request.user))
    if request.method == "POST":
        form = CycleOpenForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                cycle = services.cycle_open(
                    actor=request.user,
                    framework=data["framework"],
                    year=data["year"],
                    name=data["name"],
                    regions=list(data["regions"]),
                    starts_on=data["starts_on"],
                    entry_deadline=data["entry_deadline"],
                    review_deadline=data["review_deadline"],
                )
            except WorkflowError as error:
                add_workflow_error(form, error)
            except FrameworkIncompleteError as error:
                form.add_error("framework", _("This framework version is not complete yet."))
                for problem in error.problems[:20]:
                    form.add_error("framework", problem)
            else:
                messages.success(
                    request,
                    _("Cycle %(name)s is open for entry.") % {"name": cycle.name},
                )
                return redirect("assessments:cycle_detail", pk=cycle.pk)
        return render(request, "assessments/review/cycle_open.html", {"form": form}, status=400)
    try:
        starts_on = datetime.date.fromisoformat(request.GET.get("starts_on", ""))
    except ValueError:
        starts_on = None
    form = CycleOpenForm(starts_on=starts_on)
    return render(request, "assessments/review/cycle_open.html", {"form": form})


def _render_cycle(request: HttpRequest, cycle: Cycle, *, extend_form=None, status=200):
    agencies = selectors.cycle_agencies(cycle=cycle)
    return render(
        request,
        "assessments/review/cycle_detail.html",
        {
            "cycle": cycle,
            "assessments": list(cycle.assessments.all()),
            "extensions": list(cycle.extensions.all()),
            "extend_form": extend_form or DeadlineExtendForm(agencies=agencies),
        },
        status=status,
    )


def _admin_cycle(request: HttpRequest, pk: int) -> Cycle:
    _require_admin(scope_for(request.user))
    try:
        return selectors.cycle_for_admin(pk=pk)
    except Cycle.DoesNotExist:
        raise Http404 from None


@login_required
@require_http_methods(["GET"])
def cycle_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_cycle(request, _admin_cycle(request, pk))


@login_required
@require_POST
def cycle_deadline_extend(request: HttpRequest, pk: int) -> HttpResponse:
    """Give one agency a later entry deadline, with a reason (recorded in the audit trail)."""
    cycle = _admin_cycle(request, pk)
    form = DeadlineExtendForm(request.POST, agencies=selectors.cycle_agencies(cycle=cycle))
    if form.is_valid():
        agency = form.cleaned_data["agency"]
        try:
            extension = services.deadline_extend(
                actor=request.user,
                cycle=cycle,
                agency=agency,
                until=form.cleaned_data["until"],
                reason=form.cleaned_data["reason"],
            )
        except WorkflowError as error:
            add_workflow_error(form, error)
        else:
            messages.success(
                request,
                _("The entry deadline of %(agency)s is now %(date)s.")
                % {"agency": str(agency), "date": extension.until.isoformat()},
            )
            return redirect("assessments:cycle_detail", pk=cycle.pk)
    return _render_cycle(request, cycle, extend_form=form, status=400)
