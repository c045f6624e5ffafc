"""Load benchmark "deadline day": readers, operators and reviewers at once, under gunicorn.

Run from the repository root: ``.venv/bin/python bench/bench_load.py`` (``make bench`` runs
it with the others). Needs PostgreSQL, ``redis-server`` and locust (requirements/dev.txt).

Scenario (bench/locustfile_load.py, locust headless, FastHttpUser): 200 anonymous readers of
the public pages (1–3 s between pages), 40 agency operators saving and submitting answers
(read the answer, type 2–6 s, save with the version read; after two saves of an answer, save
and submit it with probability 0.3), and 5 reviewers verifying submitted answers; for 60 s,
after everyone has logged in through the login form (once per account).

What it does:

1. keeps a seeded template database (``<name>_seed``: migrate, ``seed_reference``,
   ``seed_demo``, all idempotent) and makes the bench database a fresh copy of it
   (``CREATE DATABASE ... TEMPLATE``), so every run starts from the same data;
2. opens a "deadline day" cycle (entry deadline today) for the Semarang Raya regions through
   ``assessments.services.cycle_open``, so every agency has draft answers; adds reviewer
   accounts ``reviewer-load-<n>`` next to the demo ``reviewer`` (same password); picks the 40
   operators with the most open answers;
3. starts a redis-server of its own (broker and cache) on a free loopback port, collects the
   static files into a temporary folder, starts a Celery worker and gunicorn
   (``smartprov.wsgi``, production settings through a two-line settings module, 3 sync
   workers as in docker-compose.yml) on free loopback ports;
4. runs locust, then prints requests/s and p50/p95/p99 per endpoint over the measured window,
   the errors, and checks every acknowledged save against the database: the audit trail holds
   an event with exactly the saved justification, and each answer still holds the text of its
   last acknowledged save (a "lost write" is one that fails either check);
5. stops everything it started (process groups), whatever happened, and ends with
   ``bench: load: requests=<n> errors=<n> lost_writes=<n> save_p99_ms=<x> rps=<x>``.

Goals: zero errors, zero lost writes, p99 of saving an answer under 200 ms.

Environment: ``BENCH_LOAD_DATABASE_URL`` (default
``postgres://postgres@127.0.0.1:5432/smartprov_bench_load``; the database is dropped and
re-created, so its name must contain "bench"), ``BENCH_LOAD_DURATION_S`` (60),
``BENCH_LOAD_READERS`` (200), ``BENCH_LOAD_OPERATORS`` (40), ``BENCH_LOAD_REVIEWERS`` (5),
``BENCH_LOAD_WORKERS`` (gunicorn workers, 3). Loopback only; bounded in time.
"""

from __future__ import annotations

import datetime
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from anywhere

HOST = "127.0.0.1"
DATABASE_URL = (
    os.environ.get("BENCH_LOAD_DATABASE_URL")
    or "postgres://postgres@127.0.0.1:5432/smartprov_bench_load"
)
DURATION_S = int(os.environ.get("BENCH_LOAD_DURATION_S", "60"))
READERS = int(os.environ.get("BENCH_LOAD_READERS", "200"))
OPERATORS = int(os.environ.get("BENCH_LOAD_OPERATORS", "40"))
REVIEWERS = int(os.environ.get("BENCH_LOAD_REVIEWERS", "5"))
WORKERS = int(os.environ.get("BENCH_LOAD_WORKERS", "3"))
PASSWORD = os.environ.get("DEMO_PASSWORD") or "smartprov-demo"
TIMINGS = {
    "duration_s": DURATION_S,
    "reader_think_s": [1.0, 3.0],
    "operator_typing_s": [2.0, 6.0],
    "operator_pause_s": [1.0, 3.0],
    "reviewer_reading_s": [2.0, 5.0],
    "reviewer_pause_s": [1.0, 3.0],
    "submit_share": 0.3,
    "request_timeout_s": 30.0,
    "login_timeout_s": 180.0,
}
SPAWN_RATE = 50  # users started per second
GOAL_SAVE_P99_MS = 200.0
SAVE = "operator: save answer"
SETUP_TIMEOUT_S = 900  # migrate + seed_demo on an empty template take a few minutes
LOCUST_BUDGET_S = int(TIMINGS["login_timeout_s"]) + DURATION_S + 120
TOTAL_BUDGET_S = SETUP_TIMEOUT_S + LOCUST_BUDGET_S + 300
BIN = Path(sys.executable).parent


class BenchError(Exception):
    pass


def _on_alarm(signum, frame):
    raise BenchError(f"the benchmark exceeded its {TOTAL_BUDGET_S} s budget")


# --------------------------------------------------------------------------- databases


def _database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _admin_connection():
    import psycopg2

    connection = psycopg2.connect(_with_database(DATABASE_URL, "postgres"))
    connection.autocommit = True
    return connection


def ensure_database(name: str) -> None:
    from psycopg2 import sql

    # Not `with connection:`: psycopg2 opens a transaction block there even in autocommit
    # mode, and CREATE DATABASE refuses to run inside one.
    connection = _admin_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                print(f"  created database {name}")
    finally:
        connection.close()


def copy_database(template: str, name: str) -> None:
    """The bench database anew, as a copy of the seeded template."""
    from psycopg2 import sql

    connection = _admin_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            cursor.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
    finally:
        connection.close()


def base_env(database_url: str) -> dict[str, str]:
    """Environment of the set-up commands: local settings, tasks in-process, no e-mail."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CELERY_", "CACHE_", "DATABASE_", "EMAIL_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "smartprov.settings.local",
            "DATABASE_URL": database_url,
            "EMAIL_URL": "dummymail://",
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def manage(*args: str, env: dict[str, str], timeout: float) -> None:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=timeout,
        stdout=subprocess.DEVNULL,
    )
    print(f"  manage.py {' '.join(args)}: {time.perf_counter() - started:.1f} s")


def prepare_deadline_day(database_url: str) -> dict:
    """Open the deadline-day cycle, add the reviewers and choose the operators (in this
    process, through the services, local settings); returns the accounts and public paths."""
    os.environ.update(base_env(database_url))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connections
    from django.db.models import Count
    from django.utils import timezone

    from assessments.choices import EDITABLE_ANSWER_STATES, CycleStatus
    from assessments.models import Answer
    from assessments.services import cycle_open
    from dimensions.selectors import current_framework
    from regions.choices import MemberRole
    from regions.models import Membership
    from regions.selectors import cluster_members_on

    User = get_user_model()
    admin = User.objects.get(username="admin")
    now = timezone.localtime()
    today = now.date()
    # Deadline day; an hour before midnight the deadline moves to tomorrow, so that entry
    # stays open for the whole run.
    deadline = today if now.hour < 23 else today + datetime.timedelta(days=1)
    regions = list(cluster_members_on(day=today))
    framework = current_framework()
    cycle = cycle_open(
        actor=admin,
        framework=framework,
        year=today.year,
        name=f"Hari batas akhir {today:%d-%m-%Y} (uji beban)",
        regions=regions,
        starts_on=today - datetime.timedelta(days=60),
        entry_deadline=deadline,
        review_deadline=deadline + datetime.timedelta(days=30),
    )

    reviewer = User.objects.get(username="reviewer")
    reviewers = ["reviewer"]
    for number in range(2, REVIEWERS + 1):
        user, _created = User.objects.get_or_create(
            username=f"reviewer-load-{number}",
            defaults={"full_name": f"Verifikator {number}", "password": reviewer.password},
        )
        Membership.objects.get_or_create(user=user, role=MemberRole.REVIEWER)
        reviewers.append(user.username)

    open_counts = (
        Answer.objects.filter(
            state__in=EDITABLE_ANSWER_STATES, assessment__cycle__status=CycleStatus.OPEN
        )
        .values("agency__region__code", "agency__slug")
        .annotate(open=Count("id"))
    )
    ranked = sorted(
        (-row["open"], f"op-{row['agency__region__code']}-{row['agency__slug']}")
        for row in open_counts
    )
    existing = set(
        User.objects.filter(username__in=[username for _, username in ranked]).values_list(
            "username", flat=True
        )
    )
    candidates = [username for _, username in ranked if username in existing]
    if len(candidates) < OPERATORS + 1:
        raise BenchError(f"only {len(candidates)} operators have open answers")
    # The next one on the list saves alone before the load: the idle baseline.
    operators, baseline_operator = candidates[:OPERATORS], candidates[OPERATORS]

    dimension_codes = list(framework.dimensions.order_by("order").values_list("code", flat=True))
    region_codes = [region.code for region in regions]
    draft_answers = Answer.objects.filter(
        assessment__cycle=cycle, state__in=EDITABLE_ANSWER_STATES
    ).count()
    connections.close_all()
    print(
        f"  deadline-day cycle: {len(regions)} regions, {draft_answers} draft answers, "
        f"entry deadline {deadline}; {len(operators)} operators, {len(reviewers)} reviewers"
    )
    paths = [("public: home /", "/", 3.0), ("public: methodology", "/methodology/", 1.0)]
    paths.append(("public: Semarang Raya map", "/semarang-raya/map/", 1.0))
    paths += [
        ("public: region /regions/[code]/", f"/regions/{code}/", 4.0 / len(region_codes))
        for code in region_codes
    ]
    paths += [
        (
            "public: dimension /dimensions/[code]/",
            f"/dimensions/{code}/",
            2.0 / len(dimension_codes),
        )
        for code in dimension_codes
    ]
    return {
        "operators": operators,
        "reviewers": reviewers,
        "public_paths": paths,
        "baseline_operator": baseline_operator,
    }


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start(command: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen:
    """A process in a session of its own, so that its whole group is stopped together."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def wait_for(check, *, timeout: float, what: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"{what} exited ({process.returncode}):\n{tail(log)}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise BenchError(f"{what} was not ready within {timeout:.0f} s:\n{tail(log)}")


def http_get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def redis_ping(port: int) -> bool:
    with socket.create_connection((HOST, port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


# --------------------------------------------------------------------------- idle baseline


class LoopbackClient:
    """One person's browser for the baseline: keeps the portal's cookies and sends them back,
    Secure ones included (plain HTTP on the loopback; see locustfile_load.py)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None, headers=None):
        from http.cookies import SimpleCookie
        from urllib.parse import urlencode

        connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
        sent = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), **(headers or {})}
        body = None
        if form is not None:
            body = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            started = time.perf_counter()
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            elapsed = (time.perf_counter() - started) * 1000
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, text, elapsed


def idle_baseline(port: int, username: str, paths: list[list], rounds: int = 10) -> dict:
    """Median latency (ms) of a save, the answer page and two public pages on the idle portal,
    one request at a time, after a warm-up: what the same requests cost without the load."""
    import re

    csrf = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
    client = LoopbackClient(port)
    _status, page, _ms = client.request("GET", "/accounts/login/")
    form = {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": csrf.search(page)[1]}
    status, _page, _ms = client.request("POST", "/accounts/login/", form)
    if status != 302:
        raise BenchError(f"the baseline login of {username} answered {status}")
    _status, worklist, _ms = client.request("GET", "/assessments/worklist/")
    answer = re.search(
        r'<tr class="state-row-draft">\s*<th scope="row">\s*<a href="([^"]+)"', worklist
    )
    if answer is None:
        raise BenchError(f"{username} has no draft answer for the baseline")
    url = answer[1]
    figures: dict[str, list[float]] = {"answer page": [], "save answer": []}
    htmx = {"HX-Request": "true", "HX-Target": "answer-editor"}
    for number in range(rounds + 1):  # the first round warms up
        _status, page, read_ms = client.request("GET", url)
        form = {
            "csrfmiddlewaretoken": csrf.search(page)[1],
            "version": re.search(r'name="version" value="(\d+)"', page)[1],
            "self_level": "1",
            "justification": f"Baseline {number}: satu permintaan pada satu waktu.",
            "links": "",
            "action": "save",
        }
        _status, saved, save_ms = client.request("POST", url, form, htmx)
        if "editor-status-success" not in saved:
            raise BenchError("a baseline save was not acknowledged")
        if number:
            figures["answer page"].append(read_ms)
            figures["save answer"].append(save_ms)
    public = paths[:1] + [path for path in paths if "region" in path[0]][:1]
    for label, path, _weight in public:
        client.request("GET", path)
        figures[label] = [client.request("GET", path)[2] for _ in range(rounds)]
    return {label: statistics.median(values) for label, values in figures.items()}


# --------------------------------------------------------------------------- figures


def cpu_seconds(processes: dict[str, subprocess.Popen], database: str) -> dict[str, float]:
    """CPU time (user + system) used so far by each process and its children, by the
    PostgreSQL backends serving `database`, and by the whole machine ("machine"): the share
    other jobs took tells how noisy a run was. Backends are persistent (CONN_MAX_AGE), so
    sampling them at both ends of the run loses little."""
    import psutil

    used = {"postgresql (bench database)": 0.0}
    for backend in psutil.process_iter(["cmdline", "cpu_times"]):
        cmdline = " ".join(backend.info["cmdline"] or [])
        if cmdline.startswith("postgres:") and f" {database} " in cmdline:
            times = backend.info["cpu_times"]
            used["postgresql (bench database)"] += times.user + times.system
    for label, process in processes.items():
        total = 0.0
        try:
            parent = psutil.Process(process.pid)
            for member in [parent, *parent.children(recursive=True)]:
                times = member.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            pass
        used[label] = total
    machine = psutil.cpu_times()
    used["machine"] = machine.user + machine.system + machine.nice
    return used


def percentile(cuts: list[float], p: int) -> float:
    return cuts[p - 1]


def endpoint_table(result: dict) -> tuple[list[tuple], int, int, float]:
    """Rows (name, requests, errors, req/s, p50, p95, p99, max) over the measured window."""
    window = result["window_s"] or 1.0
    rows = []
    total = errors = 0
    for name in sorted(result["latencies_ms"]):
        samples = sorted(result["latencies_ms"][name])
        failed = result["failures"].get(name, 0)
        total += len(samples)
        errors += failed
        if len(samples) >= 2:
            cuts = statistics.quantiles(samples, n=100, method="inclusive")
            p50, p95, p99 = (percentile(cuts, p) for p in (50, 95, 99))
        else:
            p50 = p95 = p99 = samples[0] if samples else 0.0
        rows.append(
            (
                name,
                len(samples),
                failed,
                len(samples) / window,
                p50,
                p95,
                p99,
                samples[-1] if samples else 0.0,
            )
        )
    return rows, total, errors, total / window


def check_acknowledged_saves(acknowledged: list[dict]) -> tuple[int, int, int]:
    """(acknowledged saves missing from the audit trail, answers not holding the text of their
    last acknowledged save, lost writes: acknowledged saves failing either check). Each save
    wrote a justification text of its own, so each one can be found."""
    import psycopg2

    if not acknowledged:
        return 0, 0, 0
    answer_ids = sorted({ack["answer"] for ack in acknowledged})
    connection = psycopg2.connect(DATABASE_URL)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT answer_id, new_value FROM assessments_answerevent "
                "WHERE kind = 'justification' AND answer_id = ANY(%s)",
                [answer_ids],
            )
            recorded = set(cursor.fetchall())
            cursor.execute(
                "SELECT id, justification, version FROM assessments_answer WHERE id = ANY(%s)",
                [answer_ids],
            )
            current = {pk: (text, version) for pk, text, version in cursor.fetchall()}
    finally:
        connection.close()
    missing = {
        index
        for index, ack in enumerate(acknowledged)
        if (ack["answer"], ack["justification"]) not in recorded
    }
    last: dict[int, int] = {}
    for index, ack in sorted(enumerate(acknowledged), key=lambda item: item[1]["version"]):
        last[ack["answer"]] = index
    overwritten = {
        index
        for pk, index in last.items()
        if current.get(pk, ("", 0))[0] != acknowledged[index]["justification"]
        or current[pk][1] < acknowledged[index]["version"]
    }
    return len(missing), len(overwritten), len(missing | overwritten)


# --------------------------------------------------------------------------- main


def main() -> int:
    if not (BIN / "locust").exists():
        print(
            "bench_load: failed: locust is not installed (.venv/bin/pip install locust)",
            file=sys.stderr,
        )
        return 1
    name = _database_name(DATABASE_URL)
    if "bench" not in name:
        print(
            f"bench_load: refusing to drop and re-create {name!r}: not a bench database",
            file=sys.stderr,
        )
        return 1
    if not shutil.which("redis-server"):
        print(
            "bench_load: failed: redis-server is needed (apt-get install redis-server)",
            file=sys.stderr,
        )
        return 1
    template = f"{name}_seed"
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(TOTAL_BUDGET_S)
    processes: list[subprocess.Popen] = []
    folder = Path(tempfile.mkdtemp(prefix="bench-load-"))
    try:
        print(f"database: {name} (a fresh copy of {template})")
        ensure_database(template)
        template_env = base_env(_with_database(DATABASE_URL, template))
        manage("migrate", "--noinput", "-v", "0", env=template_env, timeout=SETUP_TIMEOUT_S)
        manage("seed_reference", env=template_env, timeout=SETUP_TIMEOUT_S)
        manage("seed_demo", env=template_env, timeout=SETUP_TIMEOUT_S)
        copy_database(template, name)
        plan = prepare_deadline_day(DATABASE_URL)

        redis_port, portal_port = free_port(), free_port()
        processes.append(
            start(
                [
                    shutil.which("redis-server"),
                    "--port",
                    str(redis_port),
                    "--bind",
                    HOST,
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                ],
                env=dict(os.environ),
                log=folder / "redis.log",
            )
        )
        wait_for(
            lambda: redis_ping(redis_port),
            timeout=30,
            what="redis-server",
            process=processes[-1],
            log=folder / "redis.log",
        )
        (folder / "bench_load_settings.py").write_text(
            "from smartprov.settings.production import *  # noqa: F403\n"
            f"STATIC_ROOT = {str(folder / 'static')!r}\n"
            # Hashed names and the manifest as in production, without compressing every file
            # (gzip and brotli: minutes); the simulated people fetch no static files.
            'STORAGES = {**STORAGES, "staticfiles": {"BACKEND": '
            '"django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}}  # noqa: F405\n'
        )
        server_env = base_env(DATABASE_URL)
        server_env.update(
            {
                "DJANGO_SETTINGS_MODULE": "bench_load_settings",
                "PYTHONPATH": f"{folder}{os.pathsep}{ROOT}",
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
                "DJANGO_ALLOWED_HOSTS": HOST,
                "DJANGO_SECURE_SSL_REDIRECT": "false",
                "CELERY_BROKER_URL": f"redis://{HOST}:{redis_port}/0",
                "CACHE_URL": f"redis://{HOST}:{redis_port}/1",
            }
        )
        manage("collectstatic", "--noinput", "-v", "0", env=server_env, timeout=300)

        worker_log, portal_log = folder / "worker.log", folder / "gunicorn.log"
        worker = start(
            [
                str(BIN / "celery"),
                "-A",
                "smartprov",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "--without-gossip",
                "--without-mingle",
            ],
            env={**server_env, "LOG_LEVEL": "INFO"},
            log=worker_log,
        )
        processes.append(worker)
        portal = start(
            [
                str(BIN / "gunicorn"),
                "smartprov.wsgi",
                "--bind",
                f"{HOST}:{portal_port}",
                "--workers",
                str(WORKERS),
                "--timeout",
                "60",
                "--log-level",
                "warning",
                "--chdir",
                str(ROOT),
            ],
            env=server_env,
            log=portal_log,
        )
        processes.append(portal)
        wait_for(
            lambda: http_get(portal_port, "/healthz") == 200,
            timeout=60,
            what="gunicorn",
            process=portal,
            log=portal_log,
        )
        wait_for(
            lambda: " ready." in worker_log.read_text(errors="replace"),
            timeout=60,
            what="the Celery worker",
            process=worker,
            log=worker_log,
        )

        public_paths = []
        for label, path, weight in plan["public_paths"]:
            status = http_get(portal_port, path)
            if status == 200:
                public_paths.append([label, path, weight])
            else:
                print(f"  NOTE: {path} answered {status}: left out of the readers' pages")
        if not public_paths:
            raise BenchError("no public page answered 200")

        baseline = idle_baseline(portal_port, plan["baseline_operator"], public_paths)
        print(
            "idle baseline (one request at a time, median): "
            + ", ".join(f"{label} {ms:.0f} ms" for label, ms in baseline.items())
        )

        plan_path, out_path = folder / "plan.json", folder / "result.json"
        plan_path.write_text(
            json.dumps(
                {
                    "operators": plan["operators"],
                    "reviewers": plan["reviewers"],
                    "readers": READERS,
                    "password": PASSWORD,
                    "login_concurrency": WORKERS,
                    "public_paths": public_paths,
                    "timings": TIMINGS,
                }
            )
        )
        users = READERS + len(plan["operators"]) + len(plan["reviewers"])
        command = [
            str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile_load.py"),
            "--headless", "--users", str(users), "--spawn-rate", str(SPAWN_RATE),
            "--host", f"http://{HOST}:{portal_port}", "--run-time", f"{LOCUST_BUDGET_S}s",
            "--stop-timeout", "10", "--only-summary", "--loglevel", "WARNING",
        ]  # fmt: skip
        print(
            f"load: locust {locust_version()} headless, {users} users ({READERS} readers, "
            f"{len(plan['operators'])} operators, {len(plan['reviewers'])} reviewers), "
            f"{DURATION_S} s after the logins; gunicorn {WORKERS} sync workers, production "
            f"settings; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
        )
        locust_log = folder / "locust.log"
        env = {**os.environ, "BENCH_LOAD_PLAN": str(plan_path), "BENCH_LOAD_OUT": str(out_path)}
        locust = start(command, env=env, log=locust_log)
        processes.append(locust)
        watched = {
            "gunicorn": portal,
            "celery worker": worker,
            "redis": processes[0],
            "locust": locust,
        }
        cpu_before, started = cpu_seconds(watched, name), time.monotonic()
        cpu_after, wall = cpu_before, 0.0
        try:
            # Sampled just before locust ends (its process is gone after it).
            while locust.poll() is None and time.monotonic() - started < LOCUST_BUDGET_S + 60:
                cpu_after, wall = cpu_seconds(watched, name), time.monotonic() - started
                time.sleep(0.5)
            locust.wait(timeout=5)
        except subprocess.TimeoutExpired as error:
            raise BenchError(f"locust did not stop in time:\n{tail(locust_log)}") from error
        if not out_path.exists():
            raise BenchError(f"locust wrote no result ({locust.returncode}):\n{tail(locust_log)}")
        result = json.loads(out_path.read_text())
    except (BenchError, subprocess.SubprocessError, OSError) as error:
        print(f"bench_load: failed: {error}\n(logs kept in {folder})", file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
        for process in reversed(processes):
            stop(process)

    rows, requests, window_errors, rps = endpoint_table(result)
    counters = result["counters"]
    login_errors = counters.get("login failed", 0)
    errors = window_errors + login_errors
    cpu = {label: max(cpu_after[label] - cpu_before[label], 0.0) for label in cpu_before}
    ours = sum(value for label, value in cpu.items() if label != "machine")
    print(
        f"CPU during the locust run ({wall:.0f} s wall, {os.cpu_count()} CPUs = "
        f"{wall * (os.cpu_count() or 1):.0f} CPU-s): "
        + ", ".join(f"{label} {value:.0f} s" for label, value in cpu.items() if label != "machine")
        + f", other jobs on the machine "
        f"{max(cpu['machine'] - ours, 0):.0f} s; load average after the run "
        f"{os.getloadavg()[0]:.2f}"
    )
    print(
        f"measured window {result['window_s']:.1f} s; logins before it: {len(result['login_ms'])} "
        f"(median {statistics.median(result['login_ms']) if result['login_ms'] else 0:.0f} ms), "
        f"{login_errors} failed"
    )
    header = ("requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms")
    print(f"  {'endpoint':<40}" + "".join(f"{title:>9}" for title in header))
    for name, count, failed, per_s, p50, p95, p99, worst in rows:
        times = [f"{ms:.0f}" for ms in (p50, p95, p99, worst)]
        figures = [f"{count}", f"{failed}", f"{per_s:.1f}", *times]
        print(f"  {name:<40}" + "".join(f"{figure:>9}" for figure in figures))
    print(
        f"  {'all':<40}"
        + "".join(f"{figure:>9}" for figure in (requests, window_errors, f"{rps:.1f}"))
    )
    for key in sorted(counters):
        print(f"  {key}: {counters[key]}")
    for sample in result["failure_samples"][:10]:
        print(f"  error: {sample}")

    acknowledged = result["acknowledged"]
    missing, overwritten, lost = check_acknowledged_saves(acknowledged)
    print(
        f"acknowledged saves: {len(acknowledged)} (of {len({a['answer'] for a in acknowledged})} "
        f"answers); not in the audit trail: {missing}; answers not holding their last "
        f"acknowledged save: {overwritten}"
    )
    save_p99 = next((row[6] for row in rows if row[0] == SAVE), float("nan"))
    print(
        f"save answer: p99 under load {save_p99:.0f} ms, alone {baseline['save answer']:.0f} ms "
        f"(ratio {save_p99 / baseline['save answer']:.1f})"
    )
    met = errors == 0 and lost == 0 and save_p99 < GOAL_SAVE_P99_MS
    print(
        f"goal (0 errors, 0 lost writes, save p99 < {GOAL_SAVE_P99_MS:.0f} ms): "
        f"{'met' if met else 'NOT met'}"
    )
    print(
        f"bench: load: requests={requests} errors={errors} lost_writes={lost} "
        f"save_p99_ms={save_p99:.1f} rps={rps:.1f}"
    )
    shutil.rmtree(folder, ignore_errors=True)
    return 0 if acknowledged else 1


def locust_version() -> str:
    output = subprocess.run(
        [str(BIN / "locust"), "--version"], capture_output=True, text=True, timeout=60
    )
    return (output.stdout or output.stderr).split()[1] if output.stdout or output.stderr else "?"


if __name__ == "__main__":
    sys.exit(main())
