"""Fixtures of the fault tests: throwaway services that a test may break at will.

The machine's own Redis (127.0.0.1:6379) and PostgreSQL cluster serve CI and every other test,
so a fault test never stops them. It starts what it breaks itself, on a free loopback port:

- `private_redis`: a `redis-server` of its own (no persistence), which the test kills and
  starts again on the same port;
- `start_worker`: real Celery workers (`--pool solo`, on a queue of their own) against the
  *test* database and a given broker, with settings written for the test (e.g. a short Redis
  visibility timeout), which the test may SIGKILL;
- `use_broker`: points this process's Celery app at that broker and queue, not eager;
- `throwaway_postgres`: a PostgreSQL cluster of its own (initdb into a temporary folder, as
  the `postgres` user when running as root), which the test stops and starts.

Everything is stopped and removed at teardown, whatever the test did.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection

from reports import services as report_services
from smartprov.celery import app

# The report pipeline's fixtures (framework, cycle, fill_region, approve_region), shared here.
from tests.reports.conftest import approve_region, cycle, fill_region, framework  # noqa: F401

HOST = "127.0.0.1"
ROOT = Path(django_settings.BASE_DIR)
READY_TIMEOUT_S = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_until(condition, *, timeout: float, what: str, interval: float = 0.1, on_fail=None):
    """Poll `condition()` until it returns something truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(interval)
    detail = f"\n{on_fail()}" if on_fail else ""
    pytest.fail(f"Timed out after {timeout:.0f} s waiting for {what}{detail}")


def log_tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return f"(no log at {path})"


def kill_group(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Signal a process started in a session of its own, and all its children."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def test_database_url() -> str:
    """The test database as a URL, for the processes a test starts (workers)."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host, port = db.get("HOST") or HOST, db.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


# --------------------------------------------------------------------------- Redis


@dataclass
class RedisServer:
    """A redis-server of the test's own on `port`, without persistence: killing it loses
    everything queued in it, as a crashed broker without AOF would."""

    port: int
    log: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        command = [
            shutil.which("redis-server") or "redis-server",
            "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--protected-mode", "yes",
        ]  # fmt: skip
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our arguments
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        client = redis.Redis(host=HOST, port=self.port, socket_connect_timeout=0.5)

        def answers() -> bool:
            if self.process.poll() is not None:
                pytest.fail(f"redis-server exited:\n{log_tail(self.log)}")
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_until(answers, timeout=READY_TIMEOUT_S, what=f"redis-server on port {self.port}")
        client.close()

    def kill(self) -> None:
        """SIGKILL: the broker disappears at once, as in a crash."""
        if self.process is not None:
            kill_group(self.process, signal.SIGKILL)

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@pytest.fixture
def private_redis(tmp_path) -> Iterator[RedisServer]:
    if not shutil.which("redis-server"):
        pytest.fail("The fault tests need redis-server (Debian package redis-server).")
    server = RedisServer(port=free_port(), log=tmp_path / "redis.log")
    server.start()
    try:
        yield server
    finally:
        server.kill()


# --------------------------------------------------------------------------- Celery


@dataclass
class Worker:
    process: subprocess.Popen
    log: Path
    queue: str

    def kill(self) -> None:
        """SIGKILL the worker and its children: no warm shutdown, nothing acknowledged."""
        kill_group(self.process, signal.SIGKILL)

    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass
class WorkerFactory:
    tmp: Path
    started: list[Worker] = field(default_factory=list)

    def __call__(self, *, broker: str, queue: str, transport_options: dict | None = None) -> Worker:
        """Start a real worker on `queue` of `broker` against the test database and wait until
        it is ready. It runs the local settings (not eager with a broker), plus
        `transport_options` for the broker when given, through a settings module written here."""
        if connection.vendor != "postgresql":
            pytest.fail("The fault tests need PostgreSQL: set DATABASE_URL.")
        number = len(self.started) + 1
        module = f"fault_worker_settings_{uuid.uuid4().hex[:8]}"
        lines = ["from smartprov.settings.local import *  # noqa: F403"]
        if transport_options:
            lines.append(f"CELERY_BROKER_TRANSPORT_OPTIONS = {transport_options!r}")
        (self.tmp / f"{module}.py").write_text("\n".join(lines) + "\n")
        log_path = self.tmp / f"worker-{number}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": module,
            "PYTHONPATH": os.pathsep.join([str(self.tmp), str(ROOT)]),
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": broker,
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
        }
        command = [
            sys.executable, "-m", "celery", "-A", "smartprov", "worker",
            "--pool", "solo", "-Q", queue, "-n", f"{queue}-{number}@%h", "--loglevel", "INFO",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        with open(log_path, "wb") as log:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                command,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: killed with its children
            )
        worker = Worker(process=process, log=log_path, queue=queue)
        self.started.append(worker)

        def ready() -> bool:
            if process.poll() is not None:
                pytest.fail(f"The worker exited ({process.returncode}):\n{log_tail(log_path)}")
            return " ready." in log_path.read_text(errors="replace")

        wait_until(
            ready,
            timeout=READY_TIMEOUT_S,
            what="the Celery worker to be ready",
            interval=0.2,
            on_fail=lambda: log_tail(log_path),
        )
        return worker

    def stop_all(self) -> None:
        for worker in self.started:
            if worker.alive():
                kill_group(worker.process, signal.SIGTERM)


@pytest.fixture
def start_worker(tmp_path) -> Iterator[WorkerFactory]:
    folder = tmp_path / "workers"
    folder.mkdir()
    factory = WorkerFactory(tmp=folder)
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture
def use_broker(settings, monkeypatch):
    """use_broker(url, queue, transport_options=None): this process sends its tasks (outbox
    messages, report builds, e-mails) to `queue` on `url`, not eagerly. Restored afterwards.

    Celery reads the CELERY_BROKER_URL environment variable before its configuration (CI sets
    it to the shared Redis), so the variable is pointed at `url` too."""
    conf = app.conf
    keys = ("task_always_eager", "broker_url", "task_routes", "broker_transport_options")
    saved = {key: conf[key] for key in keys}

    def configure(**values) -> None:
        # Connection pools are made for one broker and its options: new ones for new values.
        app._pool = None
        app.amqp._producer_pool = None
        for key, value in values.items():
            conf[key] = value
        app.amqp.flush_routes()
        app.amqp.__dict__.pop("router", None)  # the router caches the routes it was built with
        report_services._fault_redis.cache_clear()

    def use(url: str, queue: str, transport_options: dict | None = None) -> None:
        monkeypatch.setenv("CELERY_BROKER_URL", url)
        monkeypatch.delenv("CELERY_BROKER_WRITE_URL", raising=False)
        settings.CELERY_TASK_ALWAYS_EAGER = False  # read by the outbox dispatcher
        settings.CELERY_BROKER_URL = url  # read by the fault-injection hooks
        configure(
            task_always_eager=False,
            broker_url=url,
            task_routes={"*": {"queue": queue}},
            broker_transport_options=transport_options or {},
        )
        with app.connection_for_write() as conn:  # never the shared Redis by mistake
            assert conn.as_uri().endswith(url.split("@")[-1].split("//")[-1]), conn.as_uri()

    try:
        yield use
    finally:
        configure(**saved)


@pytest.fixture
def queue_name() -> str:
    return f"smartprov-fault-{uuid.uuid4().hex[:12]}"


# --------------------------------------------------------------------------- PostgreSQL


def _postgres_bin(name: str) -> str:
    found = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda path: int(Path(path).parts[-3]),
    )
    if found:
        return found[-1]
    return shutil.which(name) or pytest.fail(f"The fault tests need PostgreSQL's {name}.")


@dataclass
class PostgresServer:
    """A PostgreSQL cluster of the test's own in `folder`, on `port` (loopback only)."""

    folder: Path
    port: int
    as_postgres: bool  # running as root: initdb and the server run as the postgres user

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def url(self, database: str) -> str:
        return f"postgres://postgres@{HOST}:{self.port}/{database}"

    def _run(self, *command: str, timeout: float = 60) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        result = subprocess.run(  # noqa: S603 - PostgreSQL's own tools, our arguments
            [*prefix, *command], capture_output=True, text=True, timeout=timeout, cwd=self.folder
        )
        if result.returncode:
            pytest.fail(
                f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n"
                f"{result.stderr}\n{log_tail(self.log)}"
            )
        return result

    def init(self) -> None:
        self._run(
            _postgres_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale", "C.UTF-8", "--no-sync", "--no-instructions",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses={HOST} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            _postgres_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log),
            "-o", options, "-w", "-t", "30", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def create_database(self, name: str) -> None:
        import psycopg2

        with contextlib.closing(psycopg2.connect(self.url("postgres"))) as conn:
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')


@pytest.fixture
def throwaway_postgres() -> Iterator[PostgresServer]:
    as_postgres = os.geteuid() == 0
    # Not under pytest's tmp_path: as root that folder is closed to the postgres user.
    folder = Path(tempfile.mkdtemp(prefix="smartprov-fault-pg-"))
    if as_postgres:
        shutil.chown(folder, user="postgres", group="postgres")
    folder.chmod(0o700)
    server = PostgresServer(folder=folder, port=free_port(), as_postgres=as_postgres)
    try:
        server.init()
        server.start()
        yield server
    finally:
        if server.running():
            with contextlib.suppress(BaseException):
                server.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)
