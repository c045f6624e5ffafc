"""A worker is killed in the middle of a report build.

Promise: the build is retried and finishes once; no duplicate or half-written snapshot is ever
visible.

How: a real worker takes the build; the slow-build hook (`reports.services.
_slow_injection_point`, driven by the Redis key `smartprov:test:slow:<run_id>`) holds it inside
the transaction that stores the snapshots, after they are written and before the commit. The
test checks that nothing is visible, SIGKILLs the worker (no warm shutdown: the message stays
unacknowledged, `acks_late`), and starts another. Redis redelivers an unacknowledged message
after the visibility timeout; the settings say 3600 s (long builds must not be delivered
twice), so both workers of this test run with 5 s and a restore sweep every second, on a
redis-server of the test's own (a short timeout on the shared Redis could redeliver other
people's messages).
"""

from __future__ import annotations

import pytest
import redis
from django.db import connection, transaction

from reports import services
from reports.choices import FINISHED_RUN_STATES, ReportKind, RunState
from reports.models import MaturityReport, ReportRun

from .conftest import log_tail, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

#: Redelivery of an unacknowledged message after 5 s, looked for every second.
FAST_REDELIVERY = {
    "visibility_timeout": 5,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}


def snapshot_writers() -> int:
    """Open transactions of other sessions that hold a write lock on the snapshot table: they
    inserted snapshots that nobody else can see until they commit."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
            WHERE c.relname = %s AND l.mode = 'RowExclusiveLock' AND l.granted
              AND l.pid <> pg_backend_pid()
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """,
            [MaturityReport._meta.db_table],
        )
        return cursor.fetchone()[0]


def test_a_worker_killed_in_the_middle_of_a_build_leaves_nothing_and_the_build_finishes_once(
    private_redis, use_broker, queue_name, start_worker, cast, cycle, fill_region
):
    fill_region(cycle, cast.region_a)  # submitted answers: a provisional build has work to do
    use_broker(private_redis.url, queue_name, FAST_REDELIVERY)
    client = redis.Redis.from_url(private_redis.url)
    first = start_worker(
        broker=private_redis.url, queue=queue_name, transport_options=FAST_REDELIVERY
    )

    with transaction.atomic():  # the key exists before the run is queued (on commit)
        run = services.report_run_start(
            actor=cast.admin, cycle=cycle, region=cast.region_a, kind=ReportKind.PROVISIONAL
        )
        slow_key = services.SLOW_KEY.format(run_id=run.pk)
        client.set(slow_key, "hold", ex=120)

    # The build is in the middle: its snapshots are written in its open transaction.
    wait_until(
        lambda: client.get(slow_key) == b"reached",
        timeout=30,
        what="the build to reach the slow-build hook",
        on_fail=lambda: log_tail(first.log),
    )
    run.refresh_from_db()
    assert (run.state, run.attempts) == (RunState.RUNNING, 1)
    assert snapshot_writers() == 1
    assert not MaturityReport.objects.exists(), "a half-written build is visible"

    first.kill()
    assert not first.alive()
    client.delete(slow_key)  # the next attempt runs at full speed
    # The server rolled the dead worker's transaction back: still nothing, and no lock left.
    wait_until(lambda: snapshot_writers() == 0, timeout=10, what="the rollback of the build")
    assert not MaturityReport.objects.exists()
    assert ReportRun.objects.get(pk=run.pk).state == RunState.RUNNING

    second = start_worker(
        broker=private_redis.url, queue=queue_name, transport_options=FAST_REDELIVERY
    )
    run = wait_until(
        lambda: ReportRun.objects.filter(pk=run.pk, state__in=FINISHED_RUN_STATES).first(),
        timeout=40,
        what="the redelivered build to finish",
        on_fail=lambda: log_tail(second.log),
    )
    assert run.state == RunState.SUCCEEDED, f"{run.error}\n{log_tail(second.log)}"
    assert run.attempts == 2
    killed, finished = run.attempt_log
    assert "finished_at" not in killed  # the killed attempt never got to record an end
    assert finished["attempt"] == 2 and finished["error"] == ""
    assert "reports.tasks.run_report" in log_tail(second.log, 10_000)  # redelivered to it

    # Exactly one snapshot set: the region and the Semarang Raya aggregate, once each.
    snapshots = MaturityReport.objects.filter(cycle=cycle, kind=ReportKind.PROVISIONAL)
    assert snapshots.filter(region=cast.region_a).count() == 1
    assert snapshots.filter(region__isnull=True).count() == 1
    assert set(run.reports.all()) == set(MaturityReport.objects.all())
    assert MaturityReport.objects.count() == 2
