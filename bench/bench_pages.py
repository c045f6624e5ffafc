"""Benchmark of the cached public pages under gunicorn, against a minimal Django view.

Run from the repository root: ``.venv/bin/python bench/bench_pages.py`` (``make bench`` runs
it with the others). Needs PostgreSQL: ``DATABASE_URL`` (default
``postgres://postgres@127.0.0.1:5432/smartprov_bench_pages``, created if missing). The cache is
``CACHE_URL`` when set, else Redis database 3 on 127.0.0.1:6379 (flushed first, so no page
cached by an older build is served; production settings need a cache the workers share).

What it does:

1. migrates the bench database and runs ``seed_reference`` and ``seed_demo`` (local settings,
   tasks in-process), so a past cycle is approved and scored; publishes the latest final
   snapshots of every approved cycle through ``reports.services.report_publish`` where
   ``seed_demo`` did not;
2. collects the static files into a temporary ``STATIC_ROOT`` and starts gunicorn
   (``smartprov.wsgi``, production settings, a random secret, 2 sync workers) on a free
   loopback port, and a second gunicorn, same options, serving ``bench/minimal_wsgi.py``;
3. loads each target with ``wrk`` (32 connections, 2 threads, a 3 s warm-up, then 10 s with
   ``--latency``): the public region page ``/regions/3374/`` (the home page twice if the region
   page answers 404, and says so), the public home ``/`` and the minimal view. Without ``wrk``
   (installed with apt-get when missing and running as root) a Python generator (threads with
   keep-alive connections) stands in, and the output says so.

Prints requests/s, p50 and p99 per target and the ratios to the minimal view, and ends with
``bench: pages: page_rps=<region page> minimal_rps=<x> ratio=<page/minimal> p99_ms=<region page>``.
Goal: the cached pages reach at least half the minimal view's throughput, p99 under 50 ms.
Loopback only; everything it starts is stopped, and the run is bounded in time.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from anywhere

DATABASE_URL = (
    os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/smartprov_bench_pages"
)
BENCH_CACHE_URL = "redis://127.0.0.1:6379/3"
HOST = "127.0.0.1"
REGION_PATH = "/regions/3374/"  # Kota Semarang's public page
HOME_PATH = "/"
WORKERS = 2
CONNECTIONS = 32
THREADS = 2
WARMUP_S = 3
DURATION_S = 10
GOAL_RATIO = 0.5
GOAL_P99_MS = 50.0
SETUP_TIMEOUT_S = 900  # migrate + seed_demo on an empty database take a few minutes
TOTAL_BUDGET_S = SETUP_TIMEOUT_S + 300  # nothing started here can outlive this
BIN = Path(sys.executable).parent


class BenchTimeout(Exception):
    pass


@dataclass(frozen=True)
class Result:
    name: str
    path: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx/3xx responses and socket errors


# --------------------------------------------------------------------------- setup


def ensure_database(url: str) -> None:
    """Create the bench database when it does not exist yet (PostgreSQL only)."""
    import psycopg2
    from psycopg2 import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    connection = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                print(f"created database {name}")
    finally:
        connection.close()


def local_env() -> dict[str, str]:
    """Environment of the set-up commands: local settings, report builds in-process."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="smartprov.settings.local")
    env["DATABASE_URL"] = DATABASE_URL
    env.pop("CELERY_BROKER_URL", None)  # a broker without a worker would leave builds queued
    env.setdefault("LOG_LEVEL", "WARNING")
    return env


def manage(*args: str, env: dict[str, str], timeout: float) -> None:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, timeout=timeout
    )
    print(f"  manage.py {' '.join(args)}: {time.perf_counter() - started:.1f} s")


def publish_snapshots() -> int:
    """Publish the latest final snapshot of each region (and the aggregate) of every approved
    cycle that has none published yet, through the publishing service. Builds the final
    snapshots first (in-process) if no approval built them."""
    os.environ.update(local_env())
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connections

    from assessments.choices import AssessmentState
    from assessments.models import Cycle
    from reports.choices import ReportKind
    from reports.models import MaturityReport
    from reports.services import report_publish, report_run_start

    admin = get_user_model().objects.get(username="admin")
    published = 0
    cycles = Cycle.objects.filter(assessments__state=AssessmentState.APPROVED).distinct()
    for cycle in cycles.order_by("starts_on"):
        finals = MaturityReport.objects.filter(cycle=cycle, kind=ReportKind.FINAL)
        if not finals.exists():
            report_run_start(actor=admin, cycle=cycle, kind=ReportKind.FINAL)  # eager build
        latest: dict[int | None, MaturityReport] = {}
        for report in finals.order_by("created_at", "id"):
            latest[report.region_id] = report
        for region_id, report in latest.items():
            if not MaturityReport.objects.filter(
                cycle=cycle, region_id=region_id, published=True
            ).exists():
                report_publish(actor=admin, report=report)
                published += 1
    connections.close_all()
    return published


def cache_url() -> str:
    """CACHE_URL if set; else the bench's own Redis database (flushed). Production settings
    need a cache the workers share, so the bench needs Redis."""
    if os.environ.get("CACHE_URL"):
        return os.environ["CACHE_URL"]
    import redis

    try:
        redis.Redis.from_url(BENCH_CACHE_URL, socket_connect_timeout=1).flushdb()
    except redis.RedisError as error:
        message = f"Redis at {BENCH_CACHE_URL} is needed (or set CACHE_URL): {error}"
        raise RuntimeError(message) from error
    return BENCH_CACHE_URL


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def write_settings_shim(folder: Path, static_root: Path) -> str:
    """Production settings with STATIC_ROOT in the temporary folder (base.py fixes it under
    var/, and the bench must not overwrite a deployment's collected files)."""
    (folder / "bench_pages_settings.py").write_text(
        "from smartprov.settings.production import *  # noqa: F403\n"
        f"STATIC_ROOT = {str(static_root)!r}\n"
    )
    (folder / "bench_pages_stack_settings.py").write_text(
        "from bench_pages_settings import *  # noqa: F403\nROOT_URLCONF = 'bench.minimal_urls'\n"
    )
    return "bench_pages_settings"


# --------------------------------------------------------------------------- servers


def start_gunicorn(app: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    command = [
        str(BIN / "gunicorn"),
        app,
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(WORKERS),
        "--log-level",
        "warning",
        "--error-logfile",
        str(log),
        "--chdir",
        str(ROOT),
    ]
    # A session of its own: the whole group (master and workers) is stopped together.
    return subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


def get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_until_up(port: int, path: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({process.returncode}); see {log}")
        try:
            get(port, path)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn on port {port} did not answer within 60 s; see {log}")


# --------------------------------------------------------------------------- load


def ensure_wrk() -> str | None:
    """The wrk binary, installed from Debian's package when missing and running as root."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("  installing wrk (apt-get install wrk)")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "timeout": 300}
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env, **quiet).returncode:
        subprocess.run(["apt-get", "update", "-q"], env=env, **quiet)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env, **quiet)
    return shutil.which("wrk")


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS_MS[unit]


def run_wrk(wrk: str, port: int, path: str, duration: int) -> dict:
    url = f"http://{HOST}:{port}{path}"
    # A generous timeout: a slow response is measured, not dropped from the percentiles.
    load = [f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{duration}s", "--timeout", "10s"]
    command = [wrk, *load, "--latency", url]
    output = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=duration + 30
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output):
        errors += int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        errors += sum(int(n) for n in match.groups())
    return {"rps": rps, "p50": p50, "p99": p99, "requests": requests, "errors": errors}


def run_python_load(port: int, path: str, duration: int) -> dict:
    """Stand-in for wrk: CONNECTIONS threads, each with a keep-alive connection, for
    `duration` seconds. Bound by the GIL, so it understates what the server can do."""
    latencies: list[list[float]] = [[] for _ in range(CONNECTIONS)]
    errors = [0] * CONNECTIONS
    stop_at = time.perf_counter() + duration

    def client(slot: int) -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=10)
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                if response.status >= 400:
                    errors[slot] += 1
                if response.will_close:
                    connection.close()
            except (OSError, http.client.HTTPException):
                errors[slot] += 1
                connection.close()
                continue
            latencies[slot].append((time.perf_counter() - started) * 1000)
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration + 30)
    elapsed = time.perf_counter() - started
    samples = sorted(x for slot in latencies for x in slot)
    if not samples:
        raise RuntimeError(f"no request to {path} succeeded")
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {
        "rps": len(samples) / elapsed,
        "p50": cuts[49],
        "p99": cuts[98],
        "requests": len(samples),
        "errors": sum(errors),
    }


def measure(name: str, port: int, path: str, wrk: str | None) -> Result:
    def load(duration: int) -> dict:
        if wrk:
            return run_wrk(wrk, port, path, duration)
        return run_python_load(port, path, duration)

    load(WARMUP_S)
    figures = load(DURATION_S)
    result = Result(
        name=name,
        path=path,
        rps=figures["rps"],
        p50_ms=figures["p50"],
        p99_ms=figures["p99"],
        requests=figures["requests"],
        errors=figures["errors"],
    )
    print(
        f"  {name:<12} {path:<16} {result.rps:9.1f} req/s   p50 {result.p50_ms:7.2f} ms   "
        f"p99 {result.p99_ms:7.2f} ms   ({result.requests} requests, {result.errors} errors)"
    )
    return result


# --------------------------------------------------------------------------- main


def _on_alarm(signum, frame):
    raise BenchTimeout(f"the benchmark exceeded its {TOTAL_BUDGET_S} s budget")


def main() -> int:
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(TOTAL_BUDGET_S)
    processes: list[subprocess.Popen] = []
    try:
        print(f"database: {DATABASE_URL}")
        ensure_database(DATABASE_URL)
        env = local_env()
        manage("migrate", "--noinput", "-v", "0", env=env, timeout=SETUP_TIMEOUT_S)
        manage("seed_reference", env=env, timeout=SETUP_TIMEOUT_S)
        manage("seed_demo", env=env, timeout=SETUP_TIMEOUT_S)
        print(f"  snapshots published by the bench: {publish_snapshots()}")

        with tempfile.TemporaryDirectory(prefix="bench-pages-") as folder:
            tmp = Path(folder)
            settings_module = write_settings_shim(tmp, tmp / "static")
            cache = cache_url()
            server_env = {
                key: value
                for key, value in os.environ.items()
                if not key.startswith(("DJANGO_", "CELERY_"))
            }
            server_env.update(
                {
                    "DJANGO_SETTINGS_MODULE": settings_module,
                    "PYTHONPATH": f"{tmp}{os.pathsep}{ROOT}",
                    "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
                    "DJANGO_ALLOWED_HOSTS": HOST,
                    "DJANGO_SECURE_SSL_REDIRECT": "false",
                    "DATABASE_URL": DATABASE_URL,
                    "CACHE_URL": cache,
                    "LOG_LEVEL": "WARNING",
                }
            )
            manage("collectstatic", "--noinput", "-v", "0", env=server_env, timeout=300)

            portal_port, minimal_port = free_port(), free_port()
            portal_log, minimal_log = tmp / "gunicorn-portal.log", tmp / "gunicorn-minimal.log"
            processes.append(start_gunicorn("smartprov.wsgi", portal_port, server_env, portal_log))
            processes.append(
                start_gunicorn("bench.minimal_wsgi", minimal_port, server_env, minimal_log)
            )
            stack_port, stack_log = free_port(), tmp / "gunicorn-stack.log"
            stack_env = dict(server_env, DJANGO_SETTINGS_MODULE="bench_pages_stack_settings")
            processes.append(start_gunicorn("smartprov.wsgi", stack_port, stack_env, stack_log))
            wait_until_up(portal_port, HOME_PATH, processes[0], portal_log)
            wait_until_up(minimal_port, "/", processes[1], minimal_log)
            wait_until_up(stack_port, "/", processes[2], stack_log)

            home_status, _body = get(portal_port, HOME_PATH)
            region_status, _body = get(portal_port, REGION_PATH)
            minimal_status, _body = get(minimal_port, "/")
            stack_status, _body = get(stack_port, "/")
            if home_status != 200 or minimal_status != 200 or stack_status != 200:
                raise RuntimeError(
                    f"home answered {home_status}, minimal view {minimal_status}, minimal view "
                    f"through the portal stack {stack_status}: expected 200; see {portal_log}, "
                    f"{minimal_log} and {stack_log}"
                )
            region_path = REGION_PATH
            if region_status not in (200, 404):
                raise RuntimeError(f"{REGION_PATH} answered {region_status}; see {portal_log}")
            if region_status == 404:
                print(
                    f"NOTE: {REGION_PATH} answered {region_status}: the region page is benched "
                    f"as the home page ({HOME_PATH}) instead."
                )
                region_path = HOME_PATH

            wrk = ensure_wrk()
            generator = (
                f"wrk -t{THREADS} -c{CONNECTIONS} -d{DURATION_S}s --timeout 10s --latency"
                if wrk
                else f"Python threads ({CONNECTIONS} keep-alive clients): wrk unavailable"
            )
            print(
                f"gunicorn: {WORKERS} sync workers each, {HOST}; cache {cache.split('://')[0]}; "
                f"load: {generator}, after a {WARMUP_S} s warm-up; {os.cpu_count()} CPUs, "
                f"load average {os.getloadavg()[0]:.2f} before the run"
            )
            region = measure("region page", portal_port, region_path, wrk)
            home = measure("home page", portal_port, HOME_PATH, wrk)
            minimal = measure("minimal view", minimal_port, "/", wrk)
            stack = measure("minimal view, portal stack", stack_port, "/", wrk)
    except (BenchTimeout, RuntimeError, subprocess.SubprocessError) as error:
        print(f"bench_pages: failed: {error}", file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
        for process in processes:
            stop(process)

    ratio = region.rps / minimal.rps
    stack_ratio = region.rps / stack.rps
    print(
        f"region page against the minimal view through the portal's own middleware stack: "
        f"{stack_ratio:.2f} (that view alone reaches {stack.rps / minimal.rps:.2f} of the bare one)"
    )
    home_ratio = home.rps / minimal.rps
    print(
        f"ratios to the minimal view: region page {ratio:.2f}, home page {home_ratio:.2f}; "
        f"p99 region {region.p99_ms:.1f} ms, home {home.p99_ms:.1f} ms, "
        f"minimal {minimal.p99_ms:.1f} ms"
    )
    met = all(
        r.rps >= GOAL_RATIO * minimal.rps and r.p99_ms < GOAL_P99_MS and not r.errors
        for r in (region, home, minimal)
    )
    errors = region.errors + home.errors + minimal.errors + stack.errors
    print(
        f"goal (>= {GOAL_RATIO:.0%} of the minimal view's req/s, p99 < {GOAL_P99_MS:.0f} ms "
        f"at {CONNECTIONS} clients): {'met' if met else 'NOT met'}"
        + (f"; {errors} failed requests" if errors else "")
    )
    print(
        f"bench: pages: page_rps={region.rps:.1f} minimal_rps={minimal.rps:.1f} "
        f"ratio={ratio:.2f} p99_ms={region.p99_ms:.1f} "
        f"stack_rps={stack.rps:.1f} stack_ratio={stack_ratio:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
