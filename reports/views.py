"""Internal pages of the report pipeline: builds (with a polled progress bar), snapshots and
publishing. For the province's staff: administrators rebuild; administrators and reviewers
publish. Public pages read published snapshots elsewhere."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from assessments.exceptions import WorkflowError
from assessments.models import Cycle
from assessments.permissions import scope_for
from regions.models import Region

from .choices import Predicate, ReportKind, RunTrigger
from .selectors import (
    can_publish,
    can_rebuild,
    get_report_for_user,
    get_run_for_user,
    other_reports_of,
    runs_for_list,
    snapshot_labels,
)
from .services import report_publish, report_run_retry, report_run_start


class RebuildForm(forms.Form):
    """What to rebuild: a cycle, one region or all, provisional or final."""

    cycle = forms.ModelChoiceField(
        label=gettext_lazy("Cycle"), queryset=Cycle.objects.order_by("-year", "-starts_on")
    )
    region = forms.ModelChoiceField(
        label=gettext_lazy("Region"),
        queryset=Region.objects.filter(assessments__isnull=False).distinct().order_by("code"),
        required=False,
        empty_label=gettext_lazy("All regions and Semarang Raya"),
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"), choices=ReportKind.choices, initial=ReportKind.PROVISIONAL
    )

    def describe_errors(self) -> None:
        """Tie each field's errors to it (aria-describedby), for screen readers."""
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["aria-describedby"] = f"id_{name}-errors"


def _place(report) -> str:
    return report.region.name if report.region_id else _("Semarang Raya")


def _predicate_label(code: str) -> str:
    try:
        return Predicate(code).label
    except ValueError:
        return code


@login_required
@require_GET
def run_list(request: HttpRequest) -> HttpResponse:
    runs = runs_for_list(user=request.user)
    form = RebuildForm() if can_rebuild(scope_for(request.user)) else None
    return render(request, "reports/reportrun_list.html", {"runs": runs, "form": form})


@login_required
@require_POST
def run_start(request: HttpRequest) -> HttpResponse:
    """The "Rebuild" form: queue a build and show its progress."""
    if not can_rebuild(scope_for(request.user)):
        raise PermissionDenied
    form = RebuildForm(request.POST)
    if form.is_valid():
        try:
            run = report_run_start(
                actor=request.user,
                cycle=form.cleaned_data["cycle"],
                region=form.cleaned_data["region"],
                kind=form.cleaned_data["kind"],
                trigger=RunTrigger.MANUAL,
            )
        except WorkflowError as error:
            form.add_error(None, str(error.message))
            for field, errors in error.field_errors.items():
                for message in errors:
                    form.add_error(field if field in form.fields else None, message)
        else:
            messages.success(request, _("The build is queued."))
            return redirect("reports:run_detail", pk=run.pk)
    form.describe_errors()
    runs = runs_for_list(user=request.user)
    return render(request, "reports/reportrun_list.html", {"runs": runs, "form": form}, status=400)


@never_cache
@login_required
@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A build's page; for htmx's polling only its progress partial, which stops asking
    (no trigger) once the build has finished."""
    run = get_run_for_user(user=request.user, pk=pk)
    context = {
        "run": run,
        "reports": [(report, _place(report)) for report in run.reports.all()],
        "can_retry": can_rebuild(scope_for(request.user)),
    }
    template = (
        "reports/_reportrun_progress.html" if request.htmx else "reports/reportrun_detail.html"
    )
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@login_required
@require_POST
def run_retry(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_run_for_user(user=request.user, pk=pk)
    try:
        report_run_retry(actor=request.user, run_id=run.pk)
    except WorkflowError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The build is queued again."))
    return redirect("reports:run_detail", pk=run.pk)


@login_required
@require_GET
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A snapshot as stored, provisional ones included (internal)."""
    report = get_report_for_user(user=request.user, pk=pk)
    summary = report.summary
    labels = snapshot_labels(report=report)
    dimensions = [
        {
            **dimension,
            "name": labels.get(dimension["code"], ""),
            "predicate_label": _predicate_label(dimension.get("predicate", "")),
            "elements": [
                {**element, "name": labels.get(element["code"], "")}
                for element in dimension.get("elements", [])
            ],
        }
        for dimension in summary.get("dimensions", [])
    ]
    members = [
        {
            **member,
            "name": labels.get(member["region"], member["region"]),
            "predicate_label": _predicate_label(member["predicate"]),
        }
        for member in summary.get("regions", [])
    ]
    return render(
        request,
        "reports/maturityreport_detail.html",
        {
            "report": report,
            "place": _place(report),
            "summary": summary,
            "dimensions": dimensions,
            "members": members,
            "predicate_label": _predicate_label(report.predicate),
            "completeness_pct": round(report.completeness * 100),
            "events": report.events.all(),
            "others": other_reports_of(report=report),
            "can_publish": can_publish(scope_for(request.user))
            and report.kind == ReportKind.FINAL
            and not report.published,
        },
    )


@login_required
@require_POST
def report_publish_view(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_report_for_user(user=request.user, pk=pk)
    try:
        report_publish(actor=request.user, report=report)
    except WorkflowError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The report is published."))
    return redirect("reports:report_detail", pk=report.pk)
