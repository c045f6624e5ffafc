#!/usr/bin/env bash
# Back up SmartProv: the database and the evidence files, with a manifest.
#
#   scripts/backup.sh            (or: make backup)
#
# Reads, like the portal: DATABASE_URL (default: the SQLite file var/smartprov.sqlite3) and
# PRIVATE_STORAGE_ROOT (default: var/private); values in .env are used when the environment
# has none. Writes into BACKUP_DIR (default: var/backups/<UTC timestamp>/), which must not
# exist or be empty:
#
#   database.dump      PostgreSQL: pg_dump custom format (restore with pg_restore)
#   database.sqlite3   SQLite: a consistent copy made with SQLite's backup API
#   evidence.tar.gz    every file under PRIVATE_STORAGE_ROOT
#   manifest.json      sha256 and size of each file above, the sha256 of every evidence file,
#                      the applied Django migrations, the app version and commit
#   SHA256SUMS         the same checksums for `sha256sum -c SHA256SUMS`
#
# Restore with scripts/restore.sh (docs/operations.md, "Backups and restore").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOL="$ROOT/scripts/backup_tool.py"

die() { printf 'backup: %s\n' "$*" >&2; exit 1; }

# A value from .env when the environment has none (the settings read .env the same way).
from_dotenv() {
  local name="$1" line
  [ -n "${!name:-}" ] && return 0
  [ -f "$ROOT/.env" ] || return 0
  line="$(grep -E "^[[:space:]]*(export[[:space:]]+)?${name}=" "$ROOT/.env" | tail -n 1 || true)"
  [ -n "$line" ] || return 0
  line="${line#*=}"; line="${line%\"}"; line="${line#\"}"; line="${line%\'}"; line="${line#\'}"
  printf -v "$name" '%s' "$line"
}

python_bin() {
  if [ -x "$ROOT/.venv/bin/python" ]; then echo "$ROOT/.venv/bin/python"; else echo python3; fi
}

from_dotenv DATABASE_URL
from_dotenv PRIVATE_STORAGE_ROOT
DATABASE_URL="${DATABASE_URL:-sqlite:///$ROOT/var/smartprov.sqlite3}"
PRIVATE_STORAGE_ROOT="${PRIVATE_STORAGE_ROOT:-$ROOT/var/private}"
BACKUP_DIR="${BACKUP_DIR:-$ROOT/var/backups/$(date -u +%Y%m%dT%H%M%SZ)}"
PYTHON="${PYTHON:-$(python_bin)}"

if [ -e "$BACKUP_DIR" ] && [ -n "$(ls -A "$BACKUP_DIR")" ]; then
  die "$BACKUP_DIR is not empty; choose another BACKUP_DIR"
fi
mkdir -p "$BACKUP_DIR"
chmod 700 "$BACKUP_DIR"  # evidence and personal data: readable by the operator only
umask 077
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

case "$DATABASE_URL" in
  postgres://*|postgresql://*|pgsql://*|psql://*|postgis://*)
    engine=postgresql
    database_file=database.dump
    # libpq understands postgresql:// only; django-environ accepts the other spellings too.
    pg_url="postgresql://${DATABASE_URL#*://}"
    command -v pg_dump >/dev/null || die "pg_dump not found (Debian: apt-get install postgresql-client)"
    echo "backup: dumping the PostgreSQL database"
    pg_dump --format=custom --no-owner --no-privileges --file="$BACKUP_DIR/$database_file" \
      --dbname="$pg_url"
    "$PYTHON" "$TOOL" migrations-pg "$BACKUP_DIR/$database_file" > "$work/migrations.json"
    ;;
  sqlite://*)
    engine=sqlite
    database_file=database.sqlite3
    # sqlite:////abs/path → /abs/path; sqlite:///rel/path → rel/path (as django-environ reads it)
    sqlite_path="${DATABASE_URL#sqlite://}"; sqlite_path="${sqlite_path#/}"; sqlite_path="${sqlite_path%%\?*}"
    if [ -z "$sqlite_path" ] || [ "$sqlite_path" = ":memory:" ]; then
      die "an in-memory database cannot be backed up"
    fi
    echo "backup: copying the SQLite database $sqlite_path"
    "$PYTHON" "$TOOL" sqlite-copy "$sqlite_path" "$BACKUP_DIR/$database_file"
    "$PYTHON" "$TOOL" migrations-sqlite "$BACKUP_DIR/$database_file" > "$work/migrations.json"
    ;;
  *)
    die "unsupported DATABASE_URL scheme: ${DATABASE_URL%%://*} (PostgreSQL or SQLite only)"
    ;;
esac

echo "backup: archiving the evidence files in $PRIVATE_STORAGE_ROOT"
if [ -d "$PRIVATE_STORAGE_ROOT" ]; then
  tar --create --gzip --file="$BACKUP_DIR/evidence.tar.gz" --directory="$PRIVATE_STORAGE_ROOT" .
else
  echo "backup: (no such folder: the archive is empty)"
  tar --create --gzip --file="$BACKUP_DIR/evidence.tar.gz" --files-from=/dev/null
fi

"$PYTHON" "$TOOL" manifest "$BACKUP_DIR" --engine="$engine" --database-file="$database_file" \
  --migrations="$work/migrations.json" --root="$ROOT"
echo "backup: done: $BACKUP_DIR"
