#!/usr/bin/env bash
# Restore a SmartProv backup made by scripts/backup.sh.
#
#   scripts/restore.sh BACKUP_DIR [--force]      (or: make restore BACKUP=... [FORCE=1])
#
# Restores into DATABASE_URL and PRIVATE_STORAGE_ROOT (read like the portal does, .env
# included). In order:
#
#   1. checks the sha256 of every backup file against manifest.json (a damaged or changed
#      backup is refused before anything is touched);
#   2. unpacks the evidence into a staging folder beside PRIVATE_STORAGE_ROOT and checks the
#      sha256 of every file against the manifest;
#   3. restores the database. PostgreSQL: the database must exist (createdb) and be empty;
#      SQLite: the file must not exist or be empty. A non-empty target is refused unless
#      --force is given: PostgreSQL objects of the backup are then dropped and recreated
#      (pg_restore --clean), a SQLite file is moved aside;
#   4. checks that the restored database records the backup's migrations;
#   5. moves the evidence into PRIVATE_STORAGE_ROOT. A non-empty folder is refused unless
#      --force is given, and is then moved aside (<folder>.before-restore-<timestamp>), never
#      deleted.
#
# Afterwards run `python manage.py migrate` if the code is newer than the backup.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOL="$ROOT/scripts/backup_tool.py"

die() { printf 'restore: %s\n' "$*" >&2; exit 1; }
usage() { echo "usage: scripts/restore.sh BACKUP_DIR [--force]" >&2; exit 2; }

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

backup="" force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) usage ;;
    -*) echo "restore: unknown option $arg" >&2; usage ;;
    *) [ -z "$backup" ] || usage; backup="$arg" ;;
  esac
done
[ -n "$backup" ] || usage
[ -d "$backup" ] || die "no such backup folder: $backup"
backup="$(cd "$backup" && pwd)"

from_dotenv DATABASE_URL
from_dotenv PRIVATE_STORAGE_ROOT
DATABASE_URL="${DATABASE_URL:-sqlite:///$ROOT/var/smartprov.sqlite3}"
PRIVATE_STORAGE_ROOT="${PRIVATE_STORAGE_ROOT:-$ROOT/var/private}"
PYTHON="${PYTHON:-$(python_bin)}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"

# 1. the backup is whole, and of the target's kind
"$PYTHON" "$TOOL" verify "$backup"
engine="$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["database"]["engine"])' "$backup/manifest.json")"
case "$DATABASE_URL" in
  postgres://*|postgresql://*|pgsql://*|psql://*|postgis://*) target_engine=postgresql ;;
  sqlite://*) target_engine=sqlite ;;
  *) die "unsupported DATABASE_URL scheme: ${DATABASE_URL%%://*} (PostgreSQL or SQLite only)" ;;
esac
[ "$engine" = "$target_engine" ] || die "this is a $engine backup; DATABASE_URL is $target_engine"

work="$(mktemp -d)"
storage="${PRIVATE_STORAGE_ROOT%/}"
staging="$storage.restore-$stamp"
cleanup() { rm -rf "$work"; [ -z "${staging:-}" ] || rm -rf "$staging"; }
trap cleanup EXIT

storage_in_use() { [ -d "$storage" ] && [ -n "$(ls -A "$storage")" ]; }
if storage_in_use && [ "$force" -ne 1 ]; then
  die "$storage is not empty; nothing was restored (use --force to move it aside)"
fi

# 2. the evidence, unpacked and checked before the database is touched
mkdir -p "$(dirname "$storage")"
"$PYTHON" "$TOOL" extract-evidence "$backup" "$staging"

# 3. the database
case "$target_engine" in
  postgresql)
    pg_url="postgresql://${DATABASE_URL#*://}"
    command -v pg_restore >/dev/null || die "pg_restore not found (Debian: apt-get install postgresql-client)"
    objects="$(psql --no-psqlrc --tuples-only --no-align --dbname="$pg_url" --command="
      SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
        AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'")" \
      || die "cannot connect to the target database (create it first: createdb NAME)"
    clean=()
    if [ "$objects" -gt 0 ]; then
      [ "$force" -eq 1 ] || die "the target database is not empty ($objects tables, views or sequences); nothing was restored (use --force to replace its contents)"
      echo "restore: --force: replacing the objects of the backup in a non-empty database"
      clean=(--clean --if-exists)
    fi
    echo "restore: restoring the PostgreSQL database"
    pg_restore --no-owner --no-privileges --exit-on-error --single-transaction "${clean[@]}" \
      --dbname="$pg_url" "$backup/database.dump"
    psql --no-psqlrc --tuples-only --no-align --dbname="$pg_url" \
      --command="SELECT coalesce(json_agg(app || '.' || name ORDER BY id), '[]') FROM django_migrations" \
      > "$work/migrations.json"
    ;;
  sqlite)
    sqlite_path="${DATABASE_URL#sqlite://}"; sqlite_path="${sqlite_path#/}"; sqlite_path="${sqlite_path%%\?*}"
    if [ -z "$sqlite_path" ] || [ "$sqlite_path" = ":memory:" ]; then
      die "cannot restore into an in-memory database"
    fi
    if [ -s "$sqlite_path" ]; then
      [ "$force" -eq 1 ] || die "$sqlite_path exists and is not empty; nothing was restored (use --force to move it aside)"
      mv "$sqlite_path" "$sqlite_path.before-restore-$stamp"
      echo "restore: --force: the old database is now $sqlite_path.before-restore-$stamp"
    fi
    mkdir -p "$(dirname "$sqlite_path")"
    echo "restore: restoring the SQLite database $sqlite_path"
    "$PYTHON" "$TOOL" sqlite-copy "$backup/database.sqlite3" "$sqlite_path.restoring"
    mv "$sqlite_path.restoring" "$sqlite_path"
    "$PYTHON" "$TOOL" migrations-sqlite "$sqlite_path" > "$work/migrations.json"
    ;;
esac

# 4. the database is whole
"$PYTHON" "$TOOL" check-migrations "$backup" "$work/migrations.json"

# 5. the evidence, moved into place
if storage_in_use; then
  mv "$storage" "$storage.before-restore-$stamp"
  echo "restore: --force: the old evidence folder is now $storage.before-restore-$stamp"
elif [ -d "$storage" ]; then
  rmdir "$storage"
fi
mv "$staging" "$storage"
staging=""
chmod 700 "$storage"
echo "restore: done: database and evidence restored from $backup"
