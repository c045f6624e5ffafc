"""The project's front door: settings per environment, deploy checks, migrations, pages."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
DB_EXPRESSION = "s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME']"


def settings_value(module: str, expression: str, **env: str) -> str:
    """Evaluate an expression on a settings module in a fresh interpreter with a clean env."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_", "CACHE_"))
    }
    clean.update(env)
    clean["DJANGO_SETTINGS_MODULE"] = module
    code = (
        f"import django; django.setup(); from django.conf import settings as s; print({expression})"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_without_database_url_the_embedded_default_is_sqlite_under_var():
    engine = settings_value(
        "smartprov.settings.local",
        DB_EXPRESSION,
    )
    assert "sqlite3" in engine and "/var/" in engine


def test_with_database_url_it_runs_on_postgresql():
    engine = settings_value(
        "smartprov.settings.local",
        DB_EXPRESSION,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/smartprov_x",
    )
    assert "postgresql" in engine and "smartprov_x" in engine


def test_without_broker_tasks_run_in_process_and_with_one_they_go_to_redis():
    assert settings_value("smartprov.settings.local", "s.CELERY_TASK_ALWAYS_EAGER") == "True"
    out = settings_value(
        "smartprov.settings.local",
        "s.CELERY_TASK_ALWAYS_EAGER, s.CELERY_BROKER_URL",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
    )
    assert out == "False redis://127.0.0.1:6379/0"


PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "x" * 20 + "-production-secret-for-the-check-only-0123456789",
    "DJANGO_ALLOWED_HOSTS": "smartprov.jatengprov.go.id",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/smartprov",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
}


def production_check(*args: str, **env_changes: str | None) -> subprocess.CompletedProcess:
    """`manage.py check <args>` under production settings, in a clean environment with
    PRODUCTION_ENV changed by `env_changes` (None removes a variable)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update(PRODUCTION_ENV, DJANGO_SETTINGS_MODULE="smartprov.settings.production")
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "manage.py", "check", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_settings_refuse_to_start_without_a_secret():
    result = production_check(DJANGO_SECRET_KEY=None, DJANGO_ALLOWED_HOSTS="x")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_settings_refuse_a_cache_of_each_process_its_own():
    result = production_check(CACHE_URL=None)
    assert result.returncode != 0
    assert "CACHE_URL must name a cache the web workers share" in result.stderr


def test_production_settings_pass_the_deploy_check_without_warnings():
    result = production_check("--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_models_and_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_the_default_language_is_indonesian(settings):
    assert settings.LANGUAGE_CODE == "id"


@pytest.mark.django_db
def test_home_is_indonesian_by_default_even_for_an_english_browser(client, reference_data):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="id">' in html
    assert "Enam dimensi" in html
    for name in [
        "Tata Kelola Cerdas",
        "Kota Semarang",
        "Kabupaten Semarang",
        "Kabupaten Demak",
        "Kabupaten Kendal",
    ]:
        assert name in html


@pytest.mark.django_db
def test_home_in_english_under_the_en_prefix(client, reference_data):
    html = client.get("/en/").content.decode()
    assert '<html lang="en">' in html
    assert "Six dimensions" in html and "Smart Governance" in html


@pytest.mark.django_db
def test_the_language_switcher_links_to_the_same_page_in_each_language(client, reference_data):
    html = client.get("/").content.decode()
    assert 'href="/en/"' in html and 'hreflang="en"' in html
    assert 'href="/" lang="id" hreflang="id" aria-current="true"' in html
    html = client.get("/en/methodology/").content.decode()
    assert 'href="/methodology/" lang="id"' in html


@pytest.mark.django_db
def test_public_pages_carry_no_per_visitor_token_for_anonymous_visitors(client, reference_data):
    html = client.get("/").content.decode()
    assert "csrfmiddlewaretoken" not in html and "X-CSRFToken" not in html


@pytest.mark.django_db
def test_healthz_reports_each_service(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = json.loads(response.content)
    assert body["database"] == "ok" and body["cache"] == "ok" and "broker" in body


@pytest.mark.django_db
def test_healthz_answers_503_when_the_database_fails(client, monkeypatch):
    from smartprov import views

    monkeypatch.setattr(views, "_check_database", lambda: "error: OperationalError")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.content)["database"].startswith("error")


@pytest.mark.django_db
def test_login_page_and_admin_answer(client):
    assert client.get(reverse("login")).status_code == 200
    assert client.get("/admin/").status_code == 302
