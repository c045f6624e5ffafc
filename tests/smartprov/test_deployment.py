"""docker-compose.yml stays consistent with the settings (no Docker engine runs here)."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_production_services_with_health_checks_and_named_volumes():
    services = compose()["services"]
    assert {"db", "redis", "web", "worker", "beat"} <= set(services)
    for name in ("db", "redis", "web"):
        assert "healthcheck" in services[name], name
    assert {"pgdata", "redisdata", "evidence"} <= set(compose()["volumes"])
    assert "gunicorn" in services["web"]["command"]
    assert services["worker"]["command"][:3] == ["celery", "-A", "smartprov"]
    assert "beat" in services["beat"]["command"]


def test_compose_uses_production_settings_and_only_documented_variables():
    documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    for name, service in compose()["services"].items():
        env = service.get("environment", {})
        if name in {"db", "redis"}:
            continue
        assert env["DJANGO_SETTINGS_MODULE"] == "smartprov.settings.production"
        assert set(env) <= documented, set(env) - documented
