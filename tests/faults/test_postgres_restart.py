"""PostgreSQL is restarted while the portal serves.

Promise: requests fail cleanly during the outage (a quick 503 from /healthz, a 5xx error page,
never a hang) and succeed afterwards without a restart of the portal.

The test runs a PostgreSQL cluster of its own (`throwaway_postgres`), never the machine's, and
a portal on it: gunicorn (one sync worker, so every request meets the same persistent database
connection) with the local settings, DEBUG off, `DATABASE_CONN_MAX_AGE=60` as in production,
and `CONN_HEALTH_CHECKS` on (base settings).
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import HOST, ROOT, free_port, kill_group, log_tail, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CLIENT_TIMEOUT_S = 10  # a request that takes longer than this is a hang
DATABASE = "smartprov_fault"
PAGE = "/api/v1/regions/"  # a page that reads the database on every request


def get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=CLIENT_TIMEOUT_S)
    try:
        conn.request("GET", path, headers={"Accept": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def worker_pids(master: subprocess.Popen) -> set[int]:
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children")
    return {int(pid) for pid in children.read_text().split()}


@pytest.fixture
def portal(throwaway_postgres, tmp_path):
    """gunicorn serving the portal on the throwaway cluster (migrated first)."""
    throwaway_postgres.create_database(DATABASE)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CELERY_", "CACHE_", "DATABASE_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "smartprov.settings.local",
            "DJANGO_DEBUG": "false",
            "DATABASE_URL": throwaway_postgres.url(DATABASE),
            "DATABASE_CONN_MAX_AGE": "60",
            "LOG_LEVEL": "WARNING",
        }
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
    )
    port = free_port()
    log = tmp_path / "gunicorn.log"
    command = [
        str(Path(sys.executable).parent / "gunicorn"), "smartprov.wsgi",
        "--bind", f"{HOST}:{port}", "--workers", "1", "--timeout", "30",
        "--error-logfile", str(log), "--log-level", "warning", "--chdir", str(ROOT),
    ]  # fmt: skip
    process = subprocess.Popen(  # noqa: S603 - our arguments
        command, cwd=ROOT, env=env, start_new_session=True, stdin=subprocess.DEVNULL
    )

    def up() -> bool:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited ({process.returncode}):\n{log_tail(log)}")
        try:
            get(port, "/healthz")
        except OSError:
            return False
        return True

    try:
        wait_until(up, timeout=30, what="the portal", interval=0.2, on_fail=lambda: log_tail(log))
        yield process, port, log
    finally:
        kill_group(process, 15)


def test_requests_fail_cleanly_while_postgres_is_down_and_succeed_after_without_a_portal_restart(
    throwaway_postgres, portal
):
    process, port, log = portal

    status, body = get(port, "/healthz")
    assert status == 200 and json.loads(body)["database"] == "ok", body
    status, body = get(port, PAGE)
    assert status == 200 and "results" in json.loads(body), body
    workers = worker_pids(process)
    assert len(workers) == 1

    throwaway_postgres.stop("fast")  # every session is cut, as a restart does

    status, body = get(port, "/healthz")  # a timeout here fails the test: no hang allowed
    assert status == 503, body
    assert json.loads(body)["database"].startswith("error: "), body
    for path in (PAGE, "/"):
        status, body = get(port, path)
        assert 500 <= status <= 599, (path, status)
        assert b"Traceback" not in body  # the error page, not a debug page
    status, body = get(port, "/healthz")  # still clean on a second request
    assert status == 503, body

    throwaway_postgres.start()  # waits until the server accepts connections

    # The very first requests after the restart succeed: the broken persistent connection is
    # noticed (CONN_HEALTH_CHECKS) and replaced, without restarting anything.
    status, body = get(port, "/healthz")
    assert status == 200 and json.loads(body)["database"] == "ok", body
    status, body = get(port, PAGE)
    assert status == 200 and "results" in json.loads(body), body
    status, _body = get(port, "/")
    assert status == 200, log_tail(log)
    assert process.poll() is None
    assert worker_pids(process) == workers, "the portal's worker was restarted"
