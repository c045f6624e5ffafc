"""`make backup` and `make restore` (scripts/backup.sh, scripts/restore.sh) end to end.

A database of its own (never the pytest test database) is migrated and filled with reference
data, a cycle and two evidence files; the backup script dumps it; the restore script restores it
into a second, empty database and a new evidence folder. Every table must then hold as many
rows as in the original, and every evidence file the same bytes. Both databases are dropped at
the end. The same round trip runs on SQLite, the laptop's database.

The scripts are run as an operator would, in a subprocess with the environment they read.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import psycopg2
import pytest
from django.conf import settings
from psycopg2 import sql

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BACKUP = ROOT / "scripts" / "backup.sh"
RESTORE = ROOT / "scripts" / "restore.sh"
TIMEOUT_S = 300


# --------------------------------------------------------------------------- helpers


def server() -> dict:
    """Where the test database lives: the backup databases are created beside it."""
    db = settings.DATABASES["default"]
    assert db["ENGINE"] == "django.db.backends.postgresql", "run the tests on PostgreSQL"
    return {
        "host": db.get("HOST") or "127.0.0.1",
        "port": int(db.get("PORT") or 5432),
        "user": db.get("USER") or "postgres",
        "password": db.get("PASSWORD") or "",
    }


def url_of(name: str) -> str:
    s = server()
    secret = f":{s['password']}" if s["password"] else ""
    return f"postgres://{s['user']}{secret}@{s['host']}:{s['port']}/{name}"


def admin_execute(statement: sql.Composable) -> None:
    connection = psycopg2.connect(dbname="postgres", **server())
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def run(command: list, env: dict, *, check: bool = True) -> subprocess.CompletedProcess:
    """Run a script or manage.py with the portal's environment variables set to `env`."""
    full_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "smartprov.settings.local",
        "CELERY_BROKER_URL": "",  # in-process tasks: the sample data must not reach a broker
        "PYTHONPATH": str(ROOT),
        **env,
    }
    result = subprocess.run(  # noqa: S603 - our scripts and interpreter, our arguments
        [str(part) for part in command],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    if check:
        assert result.returncode == 0, f"{command}: {result.stdout}\n{result.stderr}"
    return result


def prepare_source(env: dict) -> None:
    """Migrate the source database and fill it (reference data, a cycle, evidence)."""
    run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env)
    run([sys.executable, "-m", "tests.hardening.backup_sample_data"], env)


def pg_row_counts(name: str) -> dict[str, int]:
    """Rows of every table of the database (all schemas but PostgreSQL's own)."""
    connection = psycopg2.connect(dbname=name, **server())
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_type = 'BASE TABLE' "
                "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
            )
            tables = sorted(cursor.fetchall())
            counts = {}
            for schema, table in tables:
                cursor.execute(
                    sql.SQL("SELECT count(*) FROM {}.{}").format(
                        sql.Identifier(schema), sql.Identifier(table)
                    )
                )
                counts[f"{schema}.{table}"] = cursor.fetchone()[0]
            return counts
    finally:
        connection.close()


def sqlite_row_counts(path: Path) -> dict[str, int]:
    import sqlite3

    connection = sqlite3.connect(path)
    try:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "ORDER BY name"
            )
        ]
        return {
            table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # noqa: S608
            for table in tables
        }
    finally:
        connection.close()


def evidence_rows_pg(name: str) -> list[tuple[str, str]]:
    connection = psycopg2.connect(dbname=name, **server())
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT file, sha256 FROM assessments_evidence ORDER BY id")
            return cursor.fetchall()
    finally:
        connection.close()


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def check_manifest(backup_dir: Path, *, engine: str, database_file: str, source_files: dict):
    manifest = json.loads((backup_dir / "manifest.json").read_text())
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert manifest["app"]["version"] == version
    assert manifest["database"] == {"engine": engine, "file": database_file}
    assert set(manifest["files"]) == {database_file, "evidence.tar.gz"}
    for name, entry in manifest["files"].items():
        content = (backup_dir / name).read_bytes()
        assert entry == {"sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}
    assert manifest["evidence"]["files"] == {
        name: hashlib.sha256(content).hexdigest() for name, content in source_files.items()
    }
    applied = manifest["migrations"]["applied"]
    assert "assessments.0001_initial" in applied and manifest["migrations"]["count"] == len(applied)
    assert manifest["migrations"]["latest"]["assessments"] == applied_latest(applied, "assessments")
    return manifest


def applied_latest(applied: list[str], app: str) -> str:
    return [entry.split(".", 1)[1] for entry in applied if entry.startswith(f"{app}.")][-1]


# --------------------------------------------------------------------------- fixtures


def create_database(name: str) -> None:
    admin_execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(name: str) -> None:
    admin_execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Iterator[SimpleNamespace]:
    """A filled source database and evidence folder, backed up once for the module's tests;
    the database is dropped at the end whatever happened."""
    name = f"smartprov_backup_src_{os.getpid()}"
    folder = tmp_path_factory.mktemp("source")
    env = {"DATABASE_URL": url_of(name), "PRIVATE_STORAGE_ROOT": str(folder / "evidence")}
    drop_database(name)  # left over by an interrupted run of this process id
    create_database(name)
    try:
        prepare_source(env)
        backup_dir = folder / "backup"
        run(["bash", BACKUP], {**env, "BACKUP_DIR": str(backup_dir)})
        yield SimpleNamespace(
            name=name,
            env=env,
            files=files_of(folder / "evidence"),
            rows=pg_row_counts(name),
            backup_dir=backup_dir,
        )
    finally:
        drop_database(name)


@pytest.fixture
def target_db() -> Iterator[str]:
    """A new, empty database to restore into, dropped at the end."""
    name = f"smartprov_backup_dst_{os.getpid()}"
    drop_database(name)
    create_database(name)
    yield name
    drop_database(name)


# --------------------------------------------------------------------------- tests


def test_the_manifest_lists_checksums_migrations_and_version(source):
    check_manifest(
        source.backup_dir,
        engine="postgresql",
        database_file="database.dump",
        source_files=source.files,
    )
    sums = (source.backup_dir / "SHA256SUMS").read_text()
    checked = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"],  # noqa: S607
        cwd=source.backup_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0 and sums.count("\n") == 2, checked.stdout + checked.stderr


def test_a_postgresql_backup_restores_every_row_and_every_evidence_file(
    source, target_db, tmp_path
):
    target = {"DATABASE_URL": url_of(target_db), "PRIVATE_STORAGE_ROOT": str(tmp_path / "dst")}

    run(["bash", RESTORE, source.backup_dir], target)

    assert source.rows["public.assessments_answer"] > 0
    assert source.rows["public.dimensions_indicator"] > 0
    assert source.rows["public.assessments_evidence"] == 2 and len(source.files) == 2
    assert pg_row_counts(target_db) == source.rows
    assert files_of(tmp_path / "dst") == source.files
    # The restored rows point at the restored files, whose bytes still match their checksums.
    for file_name, digest in evidence_rows_pg(target_db):
        assert hashlib.sha256((tmp_path / "dst" / file_name).read_bytes()).hexdigest() == digest


def test_restore_refuses_a_non_empty_target_unless_forced(source, target_db, tmp_path):
    target = {"DATABASE_URL": url_of(target_db), "PRIVATE_STORAGE_ROOT": str(tmp_path / "dst")}
    run(["bash", RESTORE, source.backup_dir], target)
    (tmp_path / "dst" / "stray.txt").write_text("written after the restore")

    # A database in use, with a new evidence folder: refused, nothing touched.
    refused = run(
        ["bash", RESTORE, source.backup_dir],
        {**target, "PRIVATE_STORAGE_ROOT": str(tmp_path / "fresh")},
        check=False,
    )
    assert refused.returncode != 0
    assert "the target database is not empty" in refused.stderr
    assert "nothing was restored" in refused.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dst"]  # no staging folder left

    # An evidence folder in use: refused before the database is looked at.
    refused = run(["bash", RESTORE, source.backup_dir], target, check=False)
    assert refused.returncode != 0 and "dst is not empty" in refused.stderr
    assert (tmp_path / "dst" / "stray.txt").exists()

    # --force: the database's contents are replaced, the old folder is moved aside, not lost.
    forced = run(["bash", RESTORE, source.backup_dir, "--force"], target)
    assert "--force" in forced.stdout
    assert pg_row_counts(target_db) == source.rows
    assert files_of(tmp_path / "dst") == source.files
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("dst.before-restore-")]
    assert len(kept) == 1 and (kept[0] / "stray.txt").exists()


def test_restore_refuses_a_damaged_backup(source, target_db, tmp_path):
    damaged_dir = tmp_path / "damaged"
    shutil.copytree(source.backup_dir, damaged_dir)
    archive = damaged_dir / "evidence.tar.gz"
    damaged = bytearray(archive.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    archive.write_bytes(bytes(damaged))
    target = {"DATABASE_URL": url_of(target_db), "PRIVATE_STORAGE_ROOT": str(tmp_path / "dst")}

    refused = run(["bash", RESTORE, damaged_dir, "--force"], target, check=False)

    assert refused.returncode != 0
    assert "evidence.tar.gz: sha256" in refused.stderr and "does not match" in refused.stderr
    assert pg_row_counts(target_db) == {} and not (tmp_path / "dst").exists()


def test_backup_refuses_to_write_into_a_folder_in_use(tmp_path):
    backup_dir = tmp_path / "backup"
    backup_dir.mkdir()
    (backup_dir / "manifest.json").write_text("{}")

    refused = run(
        ["bash", BACKUP],
        {
            "DATABASE_URL": url_of("smartprov_backup_never_created"),
            "PRIVATE_STORAGE_ROOT": str(tmp_path / "evidence"),
            "BACKUP_DIR": str(backup_dir),
        },
        check=False,
    )

    assert refused.returncode != 0 and "is not empty" in refused.stderr
    assert [p.name for p in backup_dir.iterdir()] == ["manifest.json"]


def test_an_sqlite_backup_restores_every_row_and_every_evidence_file(tmp_path):
    source = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'src.sqlite3'}",
        "PRIVATE_STORAGE_ROOT": str(tmp_path / "src"),
    }
    target = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'restored' / 'dst.sqlite3'}",
        "PRIVATE_STORAGE_ROOT": str(tmp_path / "restored" / "evidence"),
    }
    prepare_source(source)
    source_files = files_of(tmp_path / "src")
    backup_dir = tmp_path / "backup"

    run(["bash", BACKUP], {**source, "BACKUP_DIR": str(backup_dir)})
    check_manifest(
        backup_dir, engine="sqlite", database_file="database.sqlite3", source_files=source_files
    )
    run(["bash", RESTORE, backup_dir], target)

    expected = sqlite_row_counts(tmp_path / "src.sqlite3")
    assert expected["assessments_evidence"] == 2 and len(source_files) == 2
    assert sqlite_row_counts(tmp_path / "restored" / "dst.sqlite3") == expected
    assert files_of(tmp_path / "restored" / "evidence") == source_files
    refused = run(
        ["bash", RESTORE, backup_dir],
        {**target, "PRIVATE_STORAGE_ROOT": str(tmp_path / "x")},
        check=False,
    )
    assert refused.returncode != 0 and "exists and is not empty" in refused.stderr

    # A PostgreSQL target is refused for an SQLite backup, before anything is touched.
    refused = run(
        ["bash", RESTORE, backup_dir],
        {
            "DATABASE_URL": url_of("smartprov_backup_never_created"),
            "PRIVATE_STORAGE_ROOT": str(tmp_path / "y"),
        },
        check=False,
    )
    assert refused.returncode != 0 and "this is a sqlite backup" in refused.stderr
    assert not (tmp_path / "y").exists()
