"""The report pipeline through a real Celery worker on Redis and PostgreSQL.

The test starts the worker itself (a separate process, `--pool solo`, consuming a queue of its
own) against the *test* database, sends this process's tasks to that queue, and stops the
worker and purges the queue at the end. The worker runs with `smartprov.settings.local`, which
is not eager when CELERY_BROKER_URL is set; the test database's tables are committed
(transaction=True), so the worker sees what the test wrote.

Uses CELERY_BROKER_URL (CI sets redis://127.0.0.1:6379/0), and the same URL by default.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection, transaction
from kombu import Connection

from assessments.models import OutboxMessage
from reports import scoring, services
from reports.choices import FINISHED_RUN_STATES, ReportKind, RunState, RunTrigger
from reports.models import MaturityReport, ReportRun
from reports.selectors import report_inputs
from smartprov.celery import app

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/0"
READY_TIMEOUT_S = 60
RUN_TIMEOUT_S = 60


def broker_url() -> str:
    # The test settings keep CELERY_BROKER_URL for integration tests (they run eagerly).
    return getattr(django_settings, "INTEGRATION_BROKER_URL", "") or DEFAULT_BROKER_URL


def database_url() -> str:
    """The test database, as a URL the worker's settings understand."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{db['NAME']}"


def purge(url: str, queue: str) -> None:
    with Connection(url) as conn:
        conn.default_channel.queue_purge(queue)


def forget_queue(url: str, queue: str) -> None:
    """Drop the queue and the binding keys kombu's Redis transport keeps for it, so that test
    runs leave nothing behind on a shared Redis."""
    purge(url, queue)
    client = redis.Redis.from_url(url)
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


def log_tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no worker log)"


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real Celery worker on its own queue, against the test database; stopped at the end
    of the module however the tests went."""
    if connection.vendor != "postgresql":
        pytest.fail("The worker integration test needs PostgreSQL: set DATABASE_URL.")
    url = broker_url()
    queue = f"smartprov-it-{uuid.uuid4().hex[:12]}"
    log_path = tmp_path_factory.mktemp("celery-worker") / "worker.log"
    env = {
        **os.environ,
        # Not the test settings: those are eager. Local settings are not, with a broker.
        "DJANGO_SETTINGS_MODULE": "smartprov.settings.local",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": url,
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable, "-m", "celery", "-A", "smartprov", "worker",
        "--pool", "solo", "-Q", queue, "-n", f"{queue}@%h", "--loglevel", "INFO",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    purge(url, queue)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command,
            cwd=django_settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while " ready." not in log_path.read_text(errors="replace"):
            if process.poll() is not None:
                pytest.fail(
                    f"The Celery worker exited ({process.returncode}):\n{log_tail(log_path)}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"The Celery worker was not ready in time:\n{log_tail(log_path)}")
            time.sleep(0.2)
        yield SimpleNamespace(process=process, queue=queue, broker=url, log=log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        forget_queue(url, queue)


@pytest.fixture
def live_celery(worker, settings):
    """This process sends tasks to the worker's queue instead of running them eagerly."""
    settings.CELERY_TASK_ALWAYS_EAGER = False  # read by the outbox dispatcher
    settings.CELERY_BROKER_URL = worker.broker  # read by the fault-injection hook
    conf = app.conf
    saved = {key: conf[key] for key in ("task_always_eager", "broker_url", "task_routes")}

    def configure(**values):
        if values["broker_url"] != conf.broker_url:
            # Connection pools are made for one broker: new ones for the new URL (the
            # test settings default to memory:// when CELERY_BROKER_URL is unset).
            app._pool = None
            app.amqp._producer_pool = None
        for key, value in values.items():
            conf[key] = value
        app.amqp.flush_routes()
        app.amqp.__dict__.pop("router", None)  # the router caches the routes it was built with
        services._fault_redis.cache_clear()

    # Everything this process sends (report builds, notification e-mails) goes to the
    # worker's own queue, so nothing lands where another worker could take it.
    configure(
        task_always_eager=False,
        broker_url=worker.broker,
        task_routes={"*": {"queue": worker.queue}},
    )
    try:
        yield worker
    finally:
        configure(**saved)


def wait_for(query, worker, *, what: str, timeout: float = RUN_TIMEOUT_S):
    """Poll the database until `query()` returns something, or fail with the worker's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = query()
        if found:
            return found
        if worker.process.poll() is not None:
            pytest.fail(f"The worker died while waiting for {what}:\n{log_tail(worker.log)}")
        time.sleep(0.1)
    pytest.fail(f"Timed out waiting for {what}:\n{log_tail(worker.log)}")


def finished(run_id: int, worker) -> ReportRun:
    return wait_for(
        lambda: ReportRun.objects.filter(pk=run_id, state__in=FINISHED_RUN_STATES).first(),
        worker,
        what=f"report run {run_id}",
    )


def approve_through_worker(live_celery, cast, cycle, approve_region) -> ReportRun:
    approve_region(cycle, cast.region_a, verified={"D1-E1-01": 2, "D2-E2-02": 1})
    run = wait_for(
        lambda: ReportRun.objects.filter(
            trigger=RunTrigger.APPROVAL, state__in=FINISHED_RUN_STATES
        ).first(),
        live_celery,
        what="the approval's report build",
    )
    assert run.state == RunState.SUCCEEDED, f"{run.error}\n{log_tail(live_celery.log)}"
    return run


def test_approving_an_assessment_builds_through_the_worker_the_snapshot_the_engine_computes(
    live_celery, cast, cycle, approve_region
):
    run = approve_through_worker(live_celery, cast, cycle, approve_region)
    report = MaturityReport.objects.get(region=cast.region_a)
    inputs = report_inputs(cycle=cycle, kind=ReportKind.FINAL)
    expected = scoring.compute(inputs.answers, inputs.framework, cluster=inputs.cluster)
    assert report.index == expected.region_summary("3374", cycle.pk, "final")["index"]
    assert report.index > 0
    assert report.kind == ReportKind.FINAL
    assert (run.attempts, run.progress) == (1, 100)
    assert set(run.reports.all()) == set(MaturityReport.objects.all())  # region + aggregate
    message = OutboxMessage.objects.get(topic="assessment.approved")
    assert message.dispatched_at is not None and run.outbox_message == message.pk


def test_running_the_same_build_twice_through_the_worker_leaves_one_snapshot(
    live_celery, cast, cycle, approve_region
):
    approve_through_worker(live_celery, cast, cycle, approve_region)
    snapshots = set(MaturityReport.objects.values_list("pk", flat=True))
    runs = [
        services.report_run_start(
            actor=cast.admin, cycle=cycle, region=cast.region_a, kind=ReportKind.FINAL
        )
        for _ in range(2)
    ]
    for run in runs:
        assert finished(run.pk, live_celery).state == RunState.SUCCEEDED
    # The approval's message delivered once more (as the outbox sweeper might) changes nothing.
    message = OutboxMessage.objects.get(topic="assessment.approved")
    app.send_task("reports.tasks.build_for_approved_assessment", args=[message.pk, message.payload])
    again = services.report_run_start(
        actor=cast.admin, cycle=cycle, region=cast.region_a, kind=ReportKind.FINAL
    )
    finished(again.pk, live_celery)  # queued after the redelivery: FIFO, so that ran first
    assert set(MaturityReport.objects.values_list("pk", flat=True)) == snapshots
    assert MaturityReport.objects.filter(region=cast.region_a).count() == 1
    assert ReportRun.objects.filter(trigger=RunTrigger.APPROVAL).count() == 1
    assert {r.pk for r in runs[0].reports.all()} == {r.pk for r in runs[1].reports.all()}


def test_a_build_that_fails_once_on_a_transient_error_succeeds_on_retry_through_the_worker(
    live_celery, cast, cycle, approve_region
):
    approve_through_worker(live_celery, cast, cycle, approve_region)
    client = redis.Redis.from_url(live_celery.broker)
    with transaction.atomic():  # the key exists before the run is queued (on commit)
        run = services.report_run_start(
            actor=cast.admin, cycle=cycle, region=cast.region_a, kind=ReportKind.FINAL
        )
        key = services.FAIL_ONCE_KEY.format(run_id=run.pk)
        client.set(key, "1", ex=300)
    try:
        run = finished(run.pk, live_celery)
    finally:
        client.delete(key)
    assert run.state == RunState.SUCCEEDED, f"{run.error}\n{log_tail(live_celery.log)}"
    assert run.attempts == 2
    first, second = run.attempt_log
    assert "OperationalError: injected transient failure" in first["error"]
    assert second["error"] == "" and second["attempt"] == 2
    assert "Retry in" in log_tail(live_celery.log, 400)  # Celery's autoretry did it
    assert MaturityReport.objects.filter(region=cast.region_a).count() == 1
