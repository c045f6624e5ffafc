"""Pages of report builds and snapshots: who sees what, the rebuild form, the polled progress
partial, retry and publish."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from dimensions.models import Element
from reports import scoring, services
from reports.choices import ReportKind, RunState
from reports.models import MaturityReport, ReportRun

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def approved_a(cast, cycle, approve_region, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        approve_region(cycle, cast.region_a)
    return cycle


@pytest.fixture
def queued_run(cast, cycle):
    """A run recorded but not started: without on_commit callbacks it stays queued."""
    return services.report_run_start(actor=cast.admin, cycle=cycle, kind=ReportKind.PROVISIONAL)


def login(client, user):
    client.force_login(user)
    return client


# --------------------------------------------------------------------------- list and rebuild


def test_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get(reverse("reports:run_list"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_operator_may_not_see_report_builds(client, cast, queued_run):
    login(client, cast.operator_a)
    assert client.get(reverse("reports:run_list")).status_code == 403
    assert client.get(reverse("reports:run_detail", args=[queued_run.pk])).status_code == 404


def test_administrator_sees_builds_and_the_rebuild_form(client, cast, queued_run):
    response = login(client, cast.admin).get(reverse("reports:run_list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert reverse("reports:run_detail", args=[queued_run.pk]) in body
    assert 'action="{}"'.format(reverse("reports:run_start")) in body
    assert '<label for="id_cycle">' in body


def test_reviewer_sees_builds_without_the_rebuild_form(client, cast, queued_run):
    response = login(client, cast.reviewer).get(reverse("reports:run_list"))
    assert response.status_code == 200
    assert reverse("reports:run_start") not in response.content.decode()
    assert login(client, cast.reviewer).post(reverse("reports:run_start")).status_code == 403


def test_build_list_uses_a_bounded_number_of_queries(
    client, cast, cycle, django_assert_max_num_queries
):
    for _ in range(12):
        services.report_run_start(actor=cast.admin, cycle=cycle, kind=ReportKind.PROVISIONAL)
    login(client, cast.admin)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("reports:run_list"))
    assert response.content.decode().count("state-badge state-queued") == 12


def test_rebuild_form_queues_a_build_and_shows_its_progress(
    client, cast, approved_a, django_capture_on_commit_callbacks
):
    login(client, cast.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("reports:run_start"),
            {"cycle": approved_a.pk, "region": cast.region_a.pk, "kind": ReportKind.FINAL},
        )
    run = ReportRun.objects.latest("pk")
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:run_detail", args=[run.pk])
    assert run.state == RunState.SUCCEEDED and run.started_by == cast.admin


def test_rebuild_form_explains_why_a_final_build_is_refused(client, cast, cycle):
    login(client, cast.admin)
    with translation.override("en"):
        url = reverse("reports:run_start")  # the English page
    response = client.post(
        url, {"cycle": cycle.pk, "region": cast.region_b.pk, "kind": ReportKind.FINAL}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "not approved yet" in body
    assert 'aria-describedby="id_kind-errors"' in body
    assert not ReportRun.objects.exists()


# --------------------------------------------------------------------------- progress partial


def test_progress_partial_polls_every_second_while_the_build_is_queued(client, cast, queued_run):
    response = login(client, cast.reviewer).get(
        reverse("reports:run_detail", args=[queued_run.pk]), **HTMX
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'hx-trigger="every 1s"' in body
    assert 'hx-get="{}"'.format(reverse("reports:run_detail", args=[queued_run.pk])) in body
    assert "<html" not in body  # the partial only
    assert f'<progress id="run-progress-bar-{queued_run.pk}"' in body
    assert "HX-Request" in response["Vary"]
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_progress_partial_of_a_running_build_shows_its_percentage(client, cast, queued_run):
    ReportRun.objects.filter(pk=queued_run.pk).update(state=RunState.RUNNING, progress=35)
    body = (
        login(client, cast.admin)
        .get(reverse("reports:run_detail", args=[queued_run.pk]), **HTMX)
        .content.decode()
    )
    assert 'value="35"' in body and 'hx-trigger="every 1s"' in body


def test_progress_partial_stops_polling_once_the_build_has_succeeded(client, cast, approved_a):
    run = ReportRun.objects.get()
    body = (
        login(client, cast.admin)
        .get(reverse("reports:run_detail", args=[run.pk]), **HTMX)
        .content.decode()
    )
    assert "hx-trigger" not in body
    assert 'value="100"' in body
    for report in run.reports.all():
        assert reverse("reports:report_detail", args=[report.pk]) in body


def test_full_page_of_a_build_includes_the_partial(client, cast, queued_run):
    body = (
        login(client, cast.admin)
        .get(reverse("reports:run_detail", args=[queued_run.pk]))
        .content.decode()
    )
    assert "<html" in body and 'id="run-progress"' in body and "reports.css" in body


def test_failed_build_shows_its_error_and_a_retry_button(
    client, cast, approved_a, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(scoring, "compute", lambda *a, **k: 1 / 0)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.report_run_start(
            actor=cast.admin, cycle=approved_a, region=cast.region_a, kind=ReportKind.FINAL
        )
    body = (
        login(client, cast.admin)
        .get(reverse("reports:run_detail", args=[run.pk]), **HTMX)
        .content.decode()
    )
    assert "hx-trigger" not in body
    assert "ZeroDivisionError: division by zero" in body
    assert 'role="alert"' in body
    assert 'action="{}"'.format(reverse("reports:run_retry", args=[run.pk])) in body
    # The reviewer sees the error but has no retry button.
    reviewer_body = (
        login(client, cast.reviewer)
        .get(reverse("reports:run_detail", args=[run.pk]), **HTMX)
        .content.decode()
    )
    assert "ZeroDivisionError" in reviewer_body
    assert reverse("reports:run_retry", args=[run.pk]) not in reviewer_body


def test_retry_button_queues_the_failed_build_again(
    client, cast, approved_a, monkeypatch, django_capture_on_commit_callbacks
):
    real = scoring.compute
    monkeypatch.setattr(scoring, "compute", lambda *a, **k: 1 / 0)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.report_run_start(
            actor=cast.admin, cycle=approved_a, region=cast.region_a, kind=ReportKind.FINAL
        )
    monkeypatch.setattr(scoring, "compute", real)
    login(client, cast.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reports:run_retry", args=[run.pk]))
    assert response.status_code == 302
    run.refresh_from_db()
    assert (run.state, run.attempts) == (RunState.SUCCEEDED, 2)


# --------------------------------------------------------------------------- snapshots


def test_report_page_shows_the_stored_figures_and_a_publish_button(
    client, cast, approved_a, django_assert_max_num_queries
):
    report = MaturityReport.objects.get(region=cast.region_a)
    login(client, cast.admin)
    with django_assert_max_num_queries(16):
        response = client.get(reverse("reports:report_detail", args=[report.pk]))
    body = response.content.decode()
    published_figure = f"{report.results['summary']['index_rounded']:.2f}".replace(".", ",")
    assert published_figure in body  # Indonesian decimal comma
    assert report.input_hash in body
    assert "D1-E1" in body
    assert Element.objects.get(code="D1-E1").name in body  # codes come with their names
    assert 'action="{}"'.format(reverse("reports:report_publish", args=[report.pk])) in body


def test_reviewer_sees_the_report_without_a_publish_button(client, cast, approved_a):
    report = MaturityReport.objects.get(region=cast.region_a)
    body = login(client, cast.reviewer).get(reverse("reports:report_detail", args=[report.pk]))
    assert body.status_code == 200
    assert reverse("reports:report_publish", args=[report.pk]) not in body.content.decode()
    response = client.post(reverse("reports:report_publish", args=[report.pk]))
    assert response.status_code == 403
    report.refresh_from_db()
    assert not report.published


def test_publish_button_publishes_the_report(client, cast, approved_a):
    report = MaturityReport.objects.get(region=cast.region_a)
    response = login(client, cast.admin).post(reverse("reports:report_publish", args=[report.pk]))
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.published and report.published_by == cast.admin
    body = client.get(reverse("reports:report_detail", args=[report.pk])).content.decode()
    assert reverse("reports:report_publish", args=[report.pk]) not in body


def test_provisional_report_page_has_no_publish_button(
    client, cast, cycle, fill_region, django_capture_on_commit_callbacks
):
    fill_region(cycle, cast.region_b, submit=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.report_run_start(actor=cast.admin, cycle=cycle, kind=ReportKind.PROVISIONAL)
    report = MaturityReport.objects.get(region=cast.region_b)
    with translation.override("en"):
        url = reverse("reports:report_detail", args=[report.pk])  # the English page
    body = login(client, cast.admin).get(url).content.decode()
    assert "Provisional" in body
    assert reverse("reports:report_publish", args=[report.pk]) not in body


def test_operator_and_coordinator_cannot_see_or_publish_internal_reports(client, cast, approved_a):
    report = MaturityReport.objects.get(region=cast.region_a)
    for user in (cast.operator_a, cast.coordinator_a):
        login(client, user)
        assert client.get(reverse("reports:report_detail", args=[report.pk])).status_code == 404
        assert client.post(reverse("reports:report_publish", args=[report.pk])).status_code == 404
    report.refresh_from_db()
    assert not report.published


def test_report_page_of_the_semarang_raya_aggregate_lists_its_members(client, cast, approved_a):
    aggregate = MaturityReport.objects.get(region__isnull=True)
    body = (
        login(client, cast.admin)
        .get(reverse("reports:report_detail", args=[aggregate.pk]))
        .content.decode()
    )
    assert "Semarang Raya" in body and "3374" in body


# --------------------------------------------------------------------------- admin


def test_admin_shows_snapshots_and_builds_read_only(client, cast, approved_a):
    report = MaturityReport.objects.get(region=cast.region_a)
    login(client, cast.admin)
    page = client.get(reverse("admin:reports_maturityreport_change", args=[report.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.get(reverse("admin:reports_maturityreport_add")).status_code == 403
    assert client.get(reverse("admin:reports_reportrun_changelist")).status_code == 200


def test_admin_rebuild_action_starts_one_build_per_scope(
    client, cast, approved_a, django_capture_on_commit_callbacks
):
    reports = MaturityReport.objects.filter(region=cast.region_a)
    login(client, cast.admin)
    before = ReportRun.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:reports_maturityreport_changelist"),
            {"action": "rebuild", "_selected_action": [r.pk for r in reports]},
        )
    assert response.status_code == 302
    assert ReportRun.objects.count() == before + 1
    run = ReportRun.objects.latest("pk")
    assert (run.region, run.kind, run.state, run.started_by) == (
        cast.region_a,
        ReportKind.FINAL,
        RunState.SUCCEEDED,
        cast.admin,
    )
