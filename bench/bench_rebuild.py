"""Benchmark of one region's report rebuild end to end, through a real Celery worker.

Run from the repository root: ``python bench/bench_rebuild.py``. Needs PostgreSQL and Redis:
``DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/smartprov_bench``, created if
missing) and ``CELERY_BROKER_URL`` (default ``redis://127.0.0.1:6379/0``).

What it does: migrates the bench database, runs ``seed_reference``, opens a new cycle of the
real framework for the Semarang Raya regions and has Kota Semarang's agencies fill in and
submit every answer and the reviewer verify them (all through the services). It then starts a
worker (``--pool solo``, a queue of its own) and measures, on the wall clock:

- **e2e**: from the commit of an action to the moment its snapshot is stored and visible in
  the database (the run has succeeded). The first sample is the approval itself (commit →
  outbox → worker → snapshot); the others are manual rebuilds of the same region (commit →
  queue → worker → snapshot found again by its inputs). Goal: under 2 s.
- **in-process**: ``report_build`` called directly in this process, without broker or worker,
  on the same run scope: the baseline, so that the ratio shows what the queue adds.

Prints the figures and ends with
``bench: rebuild: runs=<n> e2e_median_s=<x> inprocess_median_s=<y> ratio=<r>``.
The worker is always stopped, and the whole run is bounded (about two minutes at most).
"""

from __future__ import annotations

import datetime
import io
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from anywhere

DATABASE_URL = (
    os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/smartprov_bench"
)
BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/0"
REGION = "3374"  # Kota Semarang
REBUILDS = 6  # manual rebuilds after the approval: 7 end-to-end samples in all
IN_PROCESS_RUNS = 7
GOAL_S = 2.0
RUN_TIMEOUT_S = 30.0
POLL_S = 0.005
TOTAL_BUDGET_S = 150  # a hung broker or worker cannot keep the bench running


def ensure_database(url: str) -> None:
    """Create the bench database when it does not exist yet (PostgreSQL only)."""
    import psycopg2
    from psycopg2 import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                print(f"created database {name}")
    finally:
        connection.close()


def setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "smartprov.settings.local"  # not eager with a broker
    os.environ["DATABASE_URL"] = DATABASE_URL
    os.environ["CELERY_BROKER_URL"] = BROKER_URL
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def seed():
    """Reference data, people, a new cycle, and Kota Semarang's answers filled, submitted and
    verified; returns (cycle, assessment, admin, reviewer). Approval is left to the timing."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    from assessments.models import Answer, Assessment
    from assessments.services import (
        answer_save,
        answer_verify,
        assessment_submit,
        cycle_open,
        evidence_add,
    )
    from dimensions.models import LevelDescriptor
    from dimensions.selectors import current_framework
    from regions.choices import MemberRole
    from regions.models import Agency, Membership, Region
    from regions.selectors import cluster_members_on

    call_command("migrate", verbosity=0)
    call_command("seed_reference", stdout=io.StringIO())
    User = get_user_model()
    password = make_password(None)  # unusable: bench accounts never log in

    def person(username: str, role: str, *, agency=None, superuser=False):
        user, _ = User.objects.get_or_create(
            username=username,
            defaults={"password": password, "is_staff": superuser, "is_superuser": superuser},
        )
        Membership.objects.get_or_create(
            user=user, role=role, agency=agency, region=agency.region if agency else None
        )
        return user

    admin = person("bench-admin", MemberRole.ADMINISTRATOR, superuser=True)
    reviewer = person("bench-reviewer", MemberRole.REVIEWER)
    region = Region.objects.get(code=REGION)
    operators = {
        agency.pk: person(f"bench-op-{REGION}-{agency.slug}", MemberRole.OPERATOR, agency=agency)
        for agency in Agency.objects.filter(region=region)
    }
    today = datetime.date.today()
    starts_on = today - datetime.timedelta(days=10)
    members = list(cluster_members_on(day=starts_on))
    cycle = cycle_open(
        actor=admin,
        framework=current_framework(),
        year=today.year,
        name=f"Bench {uuid.uuid4().hex[:8]}",
        regions=members if region in members else [*members, region],
        starts_on=starts_on,
        entry_deadline=today + datetime.timedelta(days=30),
        review_deadline=today + datetime.timedelta(days=60),
    )
    assessment = Assessment.objects.get(cycle=cycle, region=region)
    answers = list(
        Answer.objects.filter(assessment=assessment).select_related("indicator").order_by("pk")
    )
    needs_evidence = set(
        LevelDescriptor.objects.filter(
            indicator__in=[a.indicator_id for a in answers], evidence_required=True
        ).values_list("indicator_id", "level")
    )
    for position, answer in enumerate(answers):
        level = position % 5 + 1
        operator = operators[answer.agency_id]
        answer_save(
            actor=operator,
            answer_id=answer.pk,
            expected_version=answer.version,
            self_level=level,
            justification=f"Capaian tingkat {level}.",
        )
        if (answer.indicator_id, level) in needs_evidence:
            evidence_add(actor=operator, answer_id=answer.pk, url="https://example.org/bukti")
    for agency_id in sorted({a.agency_id for a in answers}):
        assessment_submit(
            actor=operators[agency_id], assessment_id=assessment.pk, agency_id=agency_id
        )
    for position, answer in enumerate(answers):
        answer.refresh_from_db(fields=["self_level"])
        verified = answer.self_level if position % 7 else max(1, answer.self_level - 1)
        answer_verify(
            actor=reviewer,
            answer_id=answer.pk,
            verified_level=verified,
            reason="" if verified == answer.self_level else "Bukti kurang.",
        )
    print(f"seeded: cycle {cycle.pk}, {len(answers)} answers of {region.name} verified")
    return cycle, assessment, admin, reviewer


class Worker:
    """A real Celery worker on a queue of its own, with its log in var/."""

    def __init__(self) -> None:
        self.queue = f"smartprov-bench-{uuid.uuid4().hex[:12]}"
        self.log_path = ROOT / "var" / f"{self.queue}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "INFO"}
        command = [
            sys.executable, "-m", "celery", "-A", "smartprov", "worker",
            "--pool", "solo", "-Q", self.queue, "-n", f"{self.queue}@%h",
            "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while " ready." not in self.log_path.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{self.tail()}")
            time.sleep(0.1)

    def route_here(self) -> None:
        """Send every task of this process to the worker's queue."""
        from smartprov.celery import app

        app.conf.task_routes = {"*": {"queue": self.queue}}
        app.amqp.flush_routes()
        app.amqp.__dict__.pop("router", None)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.forget_queue()
        self.log_path.unlink(missing_ok=True)

    def forget_queue(self) -> None:
        import redis
        from kombu import Connection

        with Connection(BROKER_URL) as connection:
            connection.default_channel.queue_purge(self.queue)
        redis.Redis.from_url(BROKER_URL).delete(
            self.queue, f"_kombu.binding.{self.queue}", f"_kombu.binding_permanent.{self.queue}"
        )

    def tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def wait_finished(query, worker: Worker):
    """Poll until a run of `query` has finished; returns (run, monotonic time seen)."""
    from reports.choices import FINISHED_RUN_STATES

    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        run = query.filter(state__in=FINISHED_RUN_STATES).first()
        if run is not None:
            seen = time.monotonic()
            if run.state != "succeeded":
                raise RuntimeError(f"run {run.pk} failed: {run.error}")
            return run, seen
        time.sleep(POLL_S)
    raise RuntimeError(f"timed out waiting for a report run\n{worker.tail()}")


def committed_at(marks: list[float]):
    """An on_commit callback that records the commit's time; registered first, it runs
    before the action's own callbacks (which queue the build)."""
    return lambda: marks.append(time.monotonic())


def measure(cycle, assessment, admin, reviewer, worker: Worker) -> tuple[list[float], list[float]]:
    from django.db import transaction

    from assessments.services import assessment_approve
    from reports import services
    from reports.choices import ReportKind, RunTrigger
    from reports.models import MaturityReport, ReportRun

    region = assessment.region
    # Warm-up (not measured): the worker imports pandas and the engine on its first build,
    # and clears the notification e-mails queued by the verifications before it.
    warm = services.report_run_start(
        actor=admin, cycle=cycle, region=region, kind=ReportKind.PROVISIONAL
    )
    wait_finished(ReportRun.objects.filter(pk=warm.pk), worker)

    e2e: list[float] = []
    marks: list[float] = []
    with transaction.atomic():
        transaction.on_commit(committed_at(marks))
        assessment_approve(actor=reviewer, assessment_id=assessment.pk)
    run, seen = wait_finished(
        ReportRun.objects.filter(cycle=cycle, trigger=RunTrigger.APPROVAL), worker
    )
    e2e.append(seen - marks[-1])
    report = MaturityReport.objects.get(cycle=cycle, region=region, kind=ReportKind.FINAL)
    print(f"approval → snapshot: {e2e[-1]:.3f} s (index {report.index:.4f}, {report.predicate})")

    for _ in range(REBUILDS):
        with transaction.atomic():
            transaction.on_commit(committed_at(marks))
            run = services.report_run_start(
                actor=admin, cycle=cycle, region=region, kind=ReportKind.FINAL
            )
        _run, seen = wait_finished(ReportRun.objects.filter(pk=run.pk), worker)
        e2e.append(seen - marks[-1])
    count = MaturityReport.objects.filter(cycle=cycle, region=region, kind="final").count()
    assert count == 1, f"rebuilds of the same inputs stored {count} snapshots"

    in_process: list[float] = []
    for _ in range(IN_PROCESS_RUNS):
        run = ReportRun.objects.create(
            trigger=RunTrigger.MANUAL, cycle=cycle, region=region, kind=ReportKind.FINAL
        )  # recorded, not queued: built right here
        started = time.monotonic()
        services.report_build(run_id=run.pk)
        in_process.append(time.monotonic() - started)
    return e2e, in_process


def main() -> int:
    def out_of_time(signum, frame):
        raise TimeoutError(f"bench: rebuild: over its {TOTAL_BUDGET_S} s budget")

    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(TOTAL_BUDGET_S)
    began = time.monotonic()
    ensure_database(DATABASE_URL)
    setup_django()
    worker = Worker()
    try:
        # Route first: the seeding's notification e-mails go to the bench's own queue too,
        # never to a shared one.
        worker.route_here()
        cycle, assessment, admin, reviewer = seed()
        print(f"setup: {time.monotonic() - began:.1f} s")
        worker.start()
        e2e, in_process = measure(cycle, assessment, admin, reviewer, worker)
    finally:
        worker.stop()
        signal.alarm(0)
    e2e_median = statistics.median(e2e)
    in_process_median = statistics.median(in_process)
    ratio = e2e_median / in_process_median
    print("e2e (commit → snapshot stored), s: " + " ".join(f"{x:.3f}" for x in e2e))
    print("in-process report_build, s:        " + " ".join(f"{x:.3f}" for x in in_process))
    print(
        f"e2e median {e2e_median:.3f} s, max {max(e2e):.3f} s (goal < {GOAL_S:.1f} s: "
        f"{'met' if max(e2e) < GOAL_S else 'NOT met'}); in-process median "
        f"{in_process_median:.3f} s; queue and worker add {e2e_median - in_process_median:.3f} s"
    )
    print(
        f"bench: rebuild: runs={len(e2e)} e2e_median_s={e2e_median:.3f} "
        f"inprocess_median_s={in_process_median:.3f} ratio={ratio:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
