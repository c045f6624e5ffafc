"""Pages of agency operators and regional coordinators: worklist, answer, evidence, inbox and
region overview.

Every page works without JavaScript (plain form posts, then a redirect); with htmx the answer
form is saved in place. Writes go through `assessments.services`; a refused write re-renders
the page with what the user typed and the errors beside their fields, so nothing typed is lost.
Objects are fetched with `get_answer_for_user` / `get_assessment_for_user`: 404 for what the user
may not see, 403 for what they may see but not do.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import time_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from regions.models import Agency

from .. import services
from ..exceptions import IncompleteAnswersError, StaleVersionError, WorkflowError
from ..forms.entry import (
    AnswerForm,
    CommentForm,
    EvidenceFileForm,
    EvidenceLinkForm,
    add_workflow_errors,
)
from ..models import Answer, Evidence
from ..permissions import (
    Action,
    can_on_answer,
    get_answer_for_user,
    get_assessment_for_user,
    scope_for,
)
from ..selectors import entry as selectors

WORKLIST_TEMPLATE = "assessments/entry/worklist.html"
ANSWER_TEMPLATE = "assessments/entry/answer_detail.html"
EDITOR_RESPONSE_TEMPLATE = "assessments/entry/partials/answer_editor_response.html"
REGION_TEMPLATE = "assessments/entry/region_overview.html"
INBOX_TEMPLATE = "assessments/entry/inbox.html"
NOTIFICATION_TEMPLATE = "assessments/entry/partials/notification_item.html"
NOTIFICATIONS_PER_PAGE = 50


# --------------------------------------------------------------------------- worklist


def _chosen_agency(request: HttpRequest, value) -> tuple[Agency, list[Agency]]:
    """The operator's agency named by `value` (default: their first); 404 for any other."""
    agencies = selectors.operator_agencies(request.user)
    if not agencies:
        raise PermissionDenied(_("Only agency operators have a worklist."))
    if value in (None, ""):
        return agencies[0], agencies
    for agency in agencies:
        if str(agency.pk) == str(value).strip():
            return agency, agencies
    raise Http404


def _worklist_url(agency: Agency, agencies: list[Agency]) -> str:
    url = reverse("assessments:worklist")
    return f"{url}?{urlencode({'agency': agency.pk})}" if len(agencies) > 1 else url


def _render_worklist(request, agency, agencies, *, incomplete=None) -> HttpResponse:
    worklist = selectors.worklist(user=request.user, agency=agency)
    if incomplete is not None:
        assessment_id, entries = incomplete
        for block in worklist.cycles:
            if block.assessment.pk == assessment_id:
                block.incomplete = entries
    return render(
        request,
        WORKLIST_TEMPLATE,
        {"worklist": worklist, "agency": agency, "agencies": agencies},
    )


@login_required
@require_GET
def worklist(request: HttpRequest) -> HttpResponse:
    agency, agencies = _chosen_agency(request, request.GET.get("agency"))
    return _render_worklist(request, agency, agencies)


@login_required
@require_POST
def worklist_submit(request: HttpRequest) -> HttpResponse:
    """Submit every open answer of the operator's agency in one assessment (all or nothing)."""
    agency, agencies = _chosen_agency(request, request.POST.get("agency"))
    assessment = get_assessment_for_user(
        request.user, request.POST.get("assessment"), Action.EDIT, agency_id=agency.pk
    )
    try:
        submitted = services.assessment_submit(
            actor=request.user, assessment_id=assessment.pk, agency_id=agency.pk
        )
    except IncompleteAnswersError as error:
        messages.error(request, _("%(error)s Nothing was submitted.") % {"error": error.message})
        entries = selectors.describe_missing(error.missing)
        return _render_worklist(request, agency, agencies, incomplete=(assessment.pk, entries))
    except WorkflowError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(
            request,
            ngettext(
                "%(count)d answer was submitted for review.",
                "%(count)d answers were submitted for review.",
                len(submitted),
            )
            % {"count": len(submitted)},
        )
    return redirect(_worklist_url(agency, agencies))


# --------------------------------------------------------------------------- answer page


def _answer_url(answer_id: int, anchor: str = "") -> str:
    url = reverse("assessments:answer_detail", args=[answer_id])
    return f"{url}#{anchor}" if anchor else url


def _load_answer(request: HttpRequest, pk, action: str = Action.VIEW, *, queryset=None) -> Answer:
    if queryset is None:  # not `or`: that would evaluate the queryset
        queryset = selectors.answer_detail_queryset()
    return get_answer_for_user(request.user, pk, action, queryset=queryset)


def _back_link(request: HttpRequest, answer: Answer) -> tuple[str, str] | None:
    scope = scope_for(request.user)
    if answer.agency_id in scope.operator_agencies:
        agencies = selectors.operator_agencies(request.user)
        agency = next(a for a in agencies if a.pk == answer.agency_id)
        return _worklist_url(agency, agencies), _("Back to the worklist")
    if answer.assessment.region_id in scope.coordinator_regions:
        return reverse("assessments:region_overview"), _("Back to the region progress")
    if scope.operator_agencies:
        return reverse("assessments:worklist"), _("Back to the worklist")
    return None


def _review_url(request: HttpRequest, answer: Answer) -> str:
    """The reviewer's page for this answer, once the review pages provide it."""
    if not scope_for(request.user).is_reviewer:
        return ""
    try:
        return reverse("assessments:answer_review", args=[answer.pk])
    except NoReverseMatch:
        return ""


def _render_answer(
    request: HttpRequest,
    answer: Answer,
    *,
    form: AnswerForm | None = None,
    conflict: bool = False,
    editor_message: str = "",
    editor_message_kind: str = "success",
    missing: list[str] | None = None,
    file_form: EvidenceFileForm | None = None,
    link_form: EvidenceLinkForm | None = None,
    comment_form: CommentForm | None = None,
    partial: bool = False,
) -> HttpResponse:
    """The answer page, or with `partial` only the answer editor (for htmx).

    `form` carries what the user typed when a save was refused; if the answer can no longer be
    edited, that text is still shown (read-only) so that it can be copied.
    """
    status = selectors.answer_edit_status(user=request.user, answer=answer)
    unsaved_form = None
    if form is not None and form.is_bound and not status.editable:
        unsaved_form, form = form, None
    if status.editable and form is None:
        form = AnswerForm.for_answer(answer)
    selected_level = ""
    if form is not None:
        value = form["self_level"].value()
        selected_level = "" if value in (None, "") else str(value)
    context = {
        "answer": answer,
        "indicator": answer.indicator,
        "status": status,
        "form": form,
        "unsaved_form": unsaved_form,
        "selected_level": selected_level,
        "level_options": selectors.level_options(answer),
        "current_level_label": selectors.level_label(answer.self_level),
        "verified_level_label": selectors.level_label(answer.verified_level),
        "conflict": conflict,
        "last_change": selectors.last_content_change(answer) if conflict else None,
        "editor_message": editor_message,
        "editor_message_kind": editor_message_kind,
        "missing": missing or [],
        "previous": services.previous_answer(answer) if status.editable else None,
    }
    if partial:
        return render(request, EDITOR_RESPONSE_TEMPLATE, context)
    context.update(
        {
            "back_link": _back_link(request, answer),
            "review_url": _review_url(request, answer),
            "evidence": answer.active_evidence,
            "comments": answer.comments.all(),
            "timeline": selectors.answer_timeline(answer),
            "file_form": file_form or EvidenceFileForm(),
            "link_form": link_form or EvidenceLinkForm(),
            "comment_form": comment_form or CommentForm(),
        }
    )
    return render(request, ANSWER_TEMPLATE, context)


@login_required
@require_http_methods(["GET", "POST"])
def answer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method == "POST":
        # An htmx save is answered with the editor alone: read only what the editor shows.
        editor_only = selectors.answer_editor_queryset() if request.htmx else None
        return _answer_post(request, _load_answer(request, pk, queryset=editor_only))
    return _render_answer(request, _load_answer(request, pk))


def _answer_post(request: HttpRequest, answer: Answer) -> HttpResponse:
    """Save the draft ("save"), or save it and submit it ("submit")."""
    if not can_on_answer(scope_for(request.user), answer, Action.EDIT):
        raise PermissionDenied
    partial = bool(request.htmx)
    form = AnswerForm(request.POST)
    if not form.is_valid():
        return _render_answer(
            request,
            answer,
            form=form,
            editor_message=_("Your changes were not saved: correct the marked fields."),
            editor_message_kind="error",
            partial=partial,
        )
    data = form.cleaned_data
    try:
        saved = services.answer_save(
            actor=request.user,
            answer_id=answer.pk,
            expected_version=data["version"],
            self_level=data["self_level"],
            justification=data["justification"],
            links=data["links"],
        )
    except StaleVersionError:
        return _answer_conflict(request, answer.pk, partial=partial)
    except WorkflowError as error:
        add_workflow_errors(form, error)
        return _render_answer(
            request,
            answer,
            form=form,
            editor_message=_("Your changes were not saved: %(reason)s") % {"reason": error.message},
            editor_message_kind="error",
            partial=partial,
        )
    if request.POST.get("action") == "submit":
        return _answer_submit(request, answer.pk, partial=partial)
    if partial:
        # The answer as saved, with what the editor shows (visibility was checked above).
        answer.refresh_from_db(from_queryset=selectors.answer_editor_queryset())
        fresh = answer
        if saved.version == data["version"]:
            text = _("No changes to save.")
        else:
            text = _("Draft saved at %(time)s (version %(version)d).") % {
                "time": time_format(timezone.localtime()),
                "version": saved.version,
            }
        return _render_answer(request, fresh, editor_message=text, partial=True)
    messages.success(request, _("Draft saved."))
    return redirect(_answer_url(answer.pk))


def _answer_conflict(request: HttpRequest, answer_id: int, *, partial: bool) -> HttpResponse:
    """Someone saved in between: keep the user's text in the form, show theirs beside it, and
    carry their version number so that saving the merged text again succeeds."""
    fresh = _load_answer(request, answer_id)
    data = request.POST.copy()
    data["version"] = str(fresh.version)
    form = AnswerForm(data)
    form.is_valid()
    return _render_answer(
        request,
        fresh,
        form=form,
        conflict=True,
        editor_message=_(
            "Someone else saved this answer after you opened it, so your changes were not "
            "saved. Your text is still in the form; their saved version is shown beside it. "
            "Merge what you need and save again."
        ),
        editor_message_kind="error",
        partial=partial,
    )


def _answer_submit(request: HttpRequest, answer_id: int, *, partial: bool) -> HttpResponse:
    """Submit after a successful save; a refusal keeps the saved draft and says why."""
    try:
        services.answer_submit(actor=request.user, answer_id=answer_id)
    except IncompleteAnswersError as error:
        missing = error.missing[0]["missing"] if error.missing else []
        return _render_answer(
            request,
            _load_answer(request, answer_id),
            editor_message=_("Your draft was saved, but it cannot be submitted yet."),
            editor_message_kind="error",
            missing=missing,
            partial=partial,
        )
    except WorkflowError as error:
        return _render_answer(
            request,
            _load_answer(request, answer_id),
            editor_message=_("Your draft was saved, but it was not submitted: %(reason)s")
            % {"reason": error.message},
            editor_message_kind="error",
            partial=partial,
        )
    messages.success(request, _("The answer was submitted for review."))
    if partial:
        return HttpResponseClientRedirect(_answer_url(answer_id))
    return redirect(_answer_url(answer_id))


@login_required
@require_POST
def answer_copy_previous(request: HttpRequest, pk: int) -> HttpResponse:
    answer = get_answer_for_user(request.user, pk, Action.EDIT)
    try:
        services.answer_copy_previous(
            actor=request.user, answer_id=answer.pk, expected_version=request.POST.get("version")
        )
    except StaleVersionError:
        messages.error(
            request,
            _(
                "Someone else saved this answer in the meantime, so nothing was copied. "
                "Check their version, then copy again if you still want to."
            ),
        )
    except WorkflowError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(
            request, _("Last cycle's answer was copied into this draft. Check it and save.")
        )
    return redirect(_answer_url(answer.pk))


@login_required
@require_POST
def answer_evidence_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Attach a file (multipart `file`) or a link (`url`), as chosen by `kind`."""
    answer = _load_answer(request, pk, Action.EDIT)
    if request.POST.get("kind") == "link":
        form = EvidenceLinkForm(request.POST)
        forms = {"link_form": form}
    else:
        form = EvidenceFileForm(request.POST, request.FILES)
        forms = {"file_form": form}
    if form.is_valid():
        try:
            evidence = services.evidence_add(
                actor=request.user,
                answer_id=answer.pk,
                file=form.cleaned_data.get("file"),
                url=form.cleaned_data.get("url", ""),
            )
        except WorkflowError as error:
            add_workflow_errors(form, error)
        else:
            messages.success(request, _("Evidence added: %(name)s") % {"name": evidence})
            return redirect(_answer_url(answer.pk, "evidence"))
    messages.error(request, _("The evidence was not added: see the message by the form."))
    return _render_answer(request, answer, **forms)


@login_required
@require_POST
def evidence_remove(request: HttpRequest, pk: int) -> HttpResponse:
    answer_id = (
        Evidence.objects.filter(pk=pk, removed_at__isnull=True)
        .values_list("answer_id", flat=True)
        .first()
    )
    if answer_id is None:
        raise Http404
    answer = get_answer_for_user(request.user, answer_id, Action.EDIT)
    try:
        services.evidence_remove(actor=request.user, evidence_id=pk)
    except WorkflowError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The evidence was removed."))
    return redirect(_answer_url(answer.pk, "evidence"))


@login_required
@require_GET
def evidence_download(request: HttpRequest, pk: int) -> FileResponse:
    """Stream an evidence file to someone who may see its answer; never rendered inline."""
    evidence = Evidence.objects.filter(pk=pk, removed_at__isnull=True).exclude(file="").first()
    if evidence is None:
        raise Http404
    get_answer_for_user(request.user, evidence.answer_id, Action.VIEW)
    try:
        handle = evidence.file.open("rb")
    except OSError:
        raise Http404 from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=evidence.original_name or "bukti",
        content_type=evidence.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@login_required
@require_POST
def answer_comment_add(request: HttpRequest, pk: int) -> HttpResponse:
    answer = _load_answer(request, pk, Action.COMMENT)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            services.comment_add(
                actor=request.user, answer_id=answer.pk, body=form.cleaned_data["body"]
            )
        except WorkflowError as error:
            add_workflow_errors(form, error)
        else:
            messages.success(request, _("Your comment was added."))
            return redirect(_answer_url(answer.pk, "comments"))
    messages.error(request, _("The comment was not added: see the message by the form."))
    return _render_answer(request, answer, comment_form=form)


# --------------------------------------------------------------------------- inbox


def _notification_link(notification, scope) -> str:
    if notification.answer_id:
        return _answer_url(notification.answer_id)
    if notification.assessment_id:
        if notification.assessment.region_id in scope.coordinator_regions:
            return reverse("assessments:region_overview")
        if scope.operator_agencies:
            return reverse("assessments:worklist")
    return ""


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    notifications = selectors.notifications_for(request.user)
    page = Paginator(notifications, NOTIFICATIONS_PER_PAGE).get_page(request.GET.get("page"))
    scope = scope_for(request.user)
    for notification in page:
        notification.link = _notification_link(notification, scope)
    has_unread = any(n.read_at is None for n in page) or (
        page.number > 1 and notifications.filter(read_at__isnull=True).exists()
    )
    return render(request, INBOX_TEMPLATE, {"page": page, "has_unread": has_unread})


@login_required
@require_POST
def inbox_mark_read(request: HttpRequest) -> HttpResponse:
    """Mark one notification (`notification`) or all of them (`all`) as read."""
    user = request.user
    if request.POST.get("all"):
        ids = list(user.notifications.filter(read_at__isnull=True).values_list("pk", flat=True))
    else:
        ids = [int(v) for v in request.POST.getlist("notification") if v.strip().isdigit()]
    count = services.notification_mark_read(user=user, notification_ids=ids)
    if request.htmx and len(ids) == 1 and not request.POST.get("all"):
        notification = selectors.notifications_for(user).filter(pk=ids[0]).first()
        if notification is None:
            raise Http404
        notification.link = _notification_link(notification, scope_for(user))
        return render(request, NOTIFICATION_TEMPLATE, {"notification": notification})
    messages.success(
        request,
        ngettext(
            "%(count)d notification marked as read.",
            "%(count)d notifications marked as read.",
            count,
        )
        % {"count": count},
    )
    return redirect("assessments:inbox")


# --------------------------------------------------------------------------- region


def _coordinator_only(request: HttpRequest):
    scope = scope_for(request.user)
    if not scope.coordinator_regions:
        raise PermissionDenied(_("Only regional coordinators follow a region's progress."))
    return scope


def _render_region(request: HttpRequest, *, incomplete=None) -> HttpResponse:
    blocks = selectors.region_overview(user=request.user)
    if incomplete is not None:
        assessment_id, entries = incomplete
        for block in blocks:
            if block.assessment.pk == assessment_id:
                block.incomplete = selectors.missing_by_agency(entries)
    return render(request, REGION_TEMPLATE, {"blocks": blocks, "today": timezone.localdate()})


@login_required
@require_GET
def region_overview(request: HttpRequest) -> HttpResponse:
    _coordinator_only(request)
    return _render_region(request)


@login_required
@require_POST
def region_submit(request: HttpRequest) -> HttpResponse:
    """Submit every open answer of the region (all or nothing)."""
    scope = _coordinator_only(request)
    assessment = get_assessment_for_user(request.user, request.POST.get("assessment"), Action.EDIT)
    if assessment.region_id not in scope.coordinator_regions:
        raise PermissionDenied
    try:
        submitted = services.assessment_submit(actor=request.user, assessment_id=assessment.pk)
    except IncompleteAnswersError as error:
        messages.error(request, _("%(error)s Nothing was submitted.") % {"error": error.message})
        entries = selectors.describe_missing(error.missing)
        return _render_region(request, incomplete=(assessment.pk, entries))
    except WorkflowError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(
            request,
            ngettext(
                "%(count)d answer was submitted for review.",
                "%(count)d answers were submitted for review.",
                len(submitted),
            )
            % {"count": len(submitted)},
        )
    return redirect("assessments:region_overview")
