#!/usr/bin/env python3
"""The parts of scripts/backup.sh and scripts/restore.sh that are easier in Python.

Standard library only (Python 3.11+), so that a backup can be taken and restored on a machine
that has the project's files but not its virtualenv. Subcommands:

    sqlite-copy SRC DST             consistent copy of a live SQLite database (backup API)
    migrations-pg DUMP              applied migrations recorded in a pg_dump custom archive
    migrations-sqlite FILE          applied migrations recorded in an SQLite database
    manifest DIR --engine E --database-file F --migrations JSON --root ROOT
                                    write DIR/manifest.json and DIR/SHA256SUMS
    verify DIR                      check the sha256 of every file the manifest lists
    extract-evidence DIR TARGET     unpack the evidence archive into TARGET (a new folder) and
                                    check every file against the manifest
    check-migrations DIR JSON       compare a restored database's migrations with the manifest

Exit status 0 on success, 1 with a message on stderr otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
EVIDENCE_ARCHIVE = "evidence.tar.gz"
FORMAT = 1
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A refusal with a message for the operator."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- database


def sqlite_copy(source: Path, target: Path) -> None:
    """Copy with SQLite's online backup API: consistent even while the portal writes."""
    if not source.is_file():
        raise BackupError(f"SQLite database not found: {source}")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def migrations_from_pg_dump(dump: Path) -> list[str]:
    """Read django_migrations from the archive itself, so the state matches the dump exactly."""
    output = subprocess.run(  # noqa: S603 - PostgreSQL's own tool, our arguments
        ["pg_restore", "--data-only", "--table=django_migrations", "--file=-", str(dump)],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    applied, inside, columns = [], False, []
    for line in output.splitlines():
        if line.startswith("COPY ") and "django_migrations" in line:
            columns = [c.strip() for c in line[line.index("(") + 1 : line.index(")")].split(",")]
            inside = True
            continue
        if inside:
            if line == "\\.":
                break
            row = dict(zip(columns, line.split("\t"), strict=False))
            applied.append((int(row["id"]), f"{row['app']}.{row['name']}"))
    return [name for _id, name in sorted(applied)]


def migrations_from_sqlite(path: Path) -> list[str]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT app, name FROM django_migrations ORDER BY id").fetchall()
    except sqlite3.OperationalError:
        rows = []  # an empty database: nothing migrated yet
    finally:
        connection.close()
    return [f"{app}.{name}" for app, name in rows]


def migration_state(applied: list[str]) -> dict:
    latest: dict[str, str] = {}
    for entry in applied:
        app, name = entry.split(".", 1)
        latest[app] = name  # applied in id order: the last one wins
    return {"count": len(applied), "latest": dict(sorted(latest.items())), "applied": applied}


# --------------------------------------------------------------------------- manifest


def app_version(root: Path) -> dict:
    version = None
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        version = tomllib.loads(pyproject.read_text()).get("project", {}).get("version")
    commit = None
    # A deployment without the git history (or without git) records no commit.
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        commit = subprocess.run(  # noqa: S603 - our arguments
            ["git", "-C", str(root), "rev-parse", "HEAD"],  # noqa: S607
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    return {"name": "smartprov", "version": version, "commit": commit}


def evidence_index(archive: Path) -> dict:
    """Each regular file in the evidence archive: its path and sha256 (read from the archive,
    so the index is exactly what was saved, whatever was uploaded meanwhile)."""
    files, total = {}, 0
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            if not member.isfile():
                continue
            digest = hashlib.sha256()
            handle = tar.extractfile(member)
            for chunk in iter(lambda h=handle: h.read(CHUNK), b""):
                digest.update(chunk)
            files[os.path.normpath(member.name)] = digest.hexdigest()
            total += member.size
    return {"count": len(files), "bytes": total, "files": dict(sorted(files.items()))}


def write_manifest(
    directory: Path, *, engine: str, database_file: str, migrations: list[str], root: Path
) -> dict:
    artefacts = [database_file, EVIDENCE_ARCHIVE]
    manifest = {
        "format": FORMAT,
        "created_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "app": app_version(root),
        "database": {"engine": engine, "file": database_file},
        "migrations": migration_state(migrations),
        "files": {
            name: {"sha256": sha256_of(directory / name), "size": (directory / name).stat().st_size}
            for name in artefacts
        },
        "evidence": evidence_index(directory / EVIDENCE_ARCHIVE),
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    # The same checksums in `sha256sum -c` form, for a check without this tool.
    sums = [f"{manifest['files'][name]['sha256']}  {name}\n" for name in artefacts]
    (directory / SUMS).write_text("".join(sums))
    return manifest


def read_manifest(directory: Path) -> dict:
    path = directory / MANIFEST
    if not path.is_file():
        raise BackupError(f"No {MANIFEST} in {directory}: not a SmartProv backup.")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"Unknown backup format {manifest.get('format')!r}.")
    return manifest


def verify(directory: Path) -> dict:
    manifest = read_manifest(directory)
    for name, expected in manifest["files"].items():
        path = directory / name
        if not path.is_file():
            raise BackupError(f"{name} is missing from the backup.")
        actual = sha256_of(path)
        if actual != expected["sha256"]:
            raise BackupError(
                f"{name}: sha256 {actual} does not match the manifest ({expected['sha256']}); "
                "the backup is damaged or was changed."
            )
    return manifest


# --------------------------------------------------------------------------- evidence


def extract_evidence(directory: Path, target: Path) -> int:
    """Unpack into `target` (which must not exist yet) and check each file's sha256.

    The "data" filter refuses absolute paths, `..`, links out of the folder and device files,
    so a tampered archive cannot write outside `target`.
    """
    manifest = read_manifest(directory)
    if target.exists():
        raise BackupError(f"{target} already exists.")
    target.mkdir(parents=True)
    with tarfile.open(directory / EVIDENCE_ARCHIVE, "r:gz") as tar:
        tar.extractall(target, filter="data")
    expected = manifest["evidence"]["files"]
    found = {
        os.path.normpath(str(path.relative_to(target))): sha256_of(path)
        for path in target.rglob("*")
        if path.is_file()
    }
    if set(found) != set(expected):
        missing, extra = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
        raise BackupError(
            f"Evidence files differ from the manifest: missing {missing}, extra {extra}"
        )
    damaged = sorted(name for name, digest in found.items() if expected[name] != digest)
    if damaged:
        raise BackupError(f"Evidence files with a wrong sha256: {damaged}")
    return len(found)


def check_migrations(directory: Path, applied: list[str]) -> None:
    expected = read_manifest(directory)["migrations"]["applied"]
    if applied != expected:
        raise BackupError(
            f"The restored database records {len(applied)} migrations, the backup "
            f"{len(expected)}: the restore is incomplete."
        )


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    copy = commands.add_parser("sqlite-copy")
    copy.add_argument("source", type=Path)
    copy.add_argument("target", type=Path)
    pg = commands.add_parser("migrations-pg")
    pg.add_argument("dump", type=Path)
    lite = commands.add_parser("migrations-sqlite")
    lite.add_argument("file", type=Path)
    make = commands.add_parser("manifest")
    make.add_argument("directory", type=Path)
    make.add_argument("--engine", required=True, choices=["postgresql", "sqlite"])
    make.add_argument("--database-file", required=True)
    make.add_argument("--migrations", required=True, type=Path, help="JSON list from migrations-*")
    make.add_argument("--root", required=True, type=Path)
    check = commands.add_parser("verify")
    check.add_argument("directory", type=Path)
    unpack = commands.add_parser("extract-evidence")
    unpack.add_argument("directory", type=Path)
    unpack.add_argument("target", type=Path)
    compare = commands.add_parser("check-migrations")
    compare.add_argument("directory", type=Path)
    compare.add_argument("migrations", type=Path, help="JSON list from migrations-*")
    args = parser.parse_args(argv)

    try:
        if args.command == "sqlite-copy":
            sqlite_copy(args.source, args.target)
        elif args.command == "migrations-pg":
            print(json.dumps(migrations_from_pg_dump(args.dump)))
        elif args.command == "migrations-sqlite":
            print(json.dumps(migrations_from_sqlite(args.file)))
        elif args.command == "manifest":
            manifest = write_manifest(
                args.directory,
                engine=args.engine,
                database_file=args.database_file,
                migrations=json.loads(args.migrations.read_text()),
                root=args.root,
            )
            print(
                f"manifest: {manifest['migrations']['count']} migrations, "
                f"{manifest['evidence']['count']} evidence files"
            )
        elif args.command == "verify":
            manifest = verify(args.directory)
            print(f"checksums ok: {', '.join(manifest['files'])}")
        elif args.command == "extract-evidence":
            count = extract_evidence(args.directory, args.target)
            print(f"evidence files restored and checked: {count}")
        elif args.command == "check-migrations":
            check_migrations(args.directory, json.loads(args.migrations.read_text()))
            print("migration state matches the backup")
    except (
        BackupError,
        OSError,
        sqlite3.Error,
        tarfile.TarError,
        subprocess.CalledProcessError,
    ) as error:
        detail = getattr(error, "stderr", None)
        print(f"error: {error}{': ' + detail.strip() if detail else ''}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
