# SmartProv front door: make run, make test, make lint, make bench (shared/contracts.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8000
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help venv deps dev-deps messages migrate seed run test lint format bench lock clean audit makemessages backup restore

help:
	@echo "make run    - install, migrate, seed, serve http://127.0.0.1:$(PORT)"
	@echo "make test   - install test tools and run the whole suite"
	@echo "make lint   - ruff, manage.py check, makemigrations --check"
	@echo "make bench  - run the benchmarks in bench/"

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Installs are stamped with the lock file they came from, so a changed lock re-installs.
$(VENV)/.base-installed: requirements/base.txt | $(VENV)/bin/python
	$(PIP) install --quiet -r requirements/base.txt
	touch $@

$(VENV)/.dev-installed: requirements/dev.txt | $(VENV)/bin/python
	$(PIP) install --quiet -r requirements/dev.txt
	touch $@ $(VENV)/.base-installed

deps: $(VENV)/.base-installed
dev-deps: $(VENV)/.dev-installed

# Catalogues are compiled with Babel (pure Python), so no GNU gettext is needed to run.
messages: $(VENV)/.base-installed
	$(VENV)/bin/pybabel compile -d locale -D django --statistics 2>&1 | tail -n 2
	@if [ -f locale/id/LC_MESSAGES/djangojs.po ]; then $(VENV)/bin/pybabel compile -d locale -D djangojs; fi

migrate: deps
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_reference
	$(PY) manage.py seed_demo

run: deps messages seed
	@echo "SmartProv: http://127.0.0.1:$(PORT)/  (demo accounts: see README)"
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

test: dev-deps messages
	DJANGO_SETTINGS_MODULE=smartprov.settings.test $(PY) -m pytest $(PYTEST_ARGS)

lint: dev-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/bandit -q -r accounts assessments dimensions regions reports smartprov -x '*/migrations/*' -ll

# Dependency audit: needs the vulnerability database online (pip-audit asks PyPI/OSV); on
# machines without that access it says so per package instead of failing silently.
audit: dev-deps
	$(VENV)/bin/pip-audit -r requirements/base.txt || true

format: dev-deps
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: dev-deps
	@for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

# Regenerate the lock files after changing dependencies in pyproject.toml.
lock: dev-deps
	$(VENV)/bin/pip-compile --quiet --strip-extras --no-header --no-emit-index-url --no-emit-find-links pyproject.toml -o requirements/base.txt
	$(VENV)/bin/pip-compile --quiet --strip-extras --no-header --no-emit-index-url --no-emit-find-links --extra dev pyproject.toml -o requirements/dev.txt

makemessages: dev-deps
	$(PY) manage.py makemessages -l id -l en --no-obsolete --ignore '.venv/*' --ignore 'var/*'

# Backups (docs/operations.md, "Backups and restore"): database + evidence files + manifest.
backup:
	bash scripts/backup.sh

restore:
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=var/backups/<timestamp> [FORCE=1]" >&2; exit 2; }
	bash scripts/restore.sh "$(BACKUP)" $(if $(FORCE),--force)

clean:
	rm -rf $(VENV) var/staticfiles .pytest_cache .ruff_cache
