"""Project-level views: the public home page and the health check."""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dimensions.selectors import current_framework
from regions.selectors import home_regions
from reports.views_public import home_context

from .public_cache import public_page


@require_GET
@public_page
def home(request: HttpRequest) -> HttpResponse:
    """The public front page: Semarang Raya's published results at a glance (from the cached
    public page data), then the framework's six dimensions and the participating regions."""
    framework = current_framework()
    dimensions = framework.dimensions.prefetch_related("elements") if framework else []
    province, members = home_regions()
    return render(
        request,
        "home.html",
        {
            **home_context(request),
            "framework": framework,
            "dimensions": dimensions,
            "province": province,
            "members": members,
        },
    )


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"
    return "ok"


def _check_cache() -> str:
    try:
        cache.set("healthz", "ok", 5)
        if cache.get("healthz") != "ok":
            return "error: value not stored"
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"
    return "ok"


def _check_broker() -> str:
    from django.conf import settings

    from smartprov.celery import app

    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "ok"  # tasks run in-process: there is no broker to be down
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"
    return "ok"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: 200 while the database answers; cache and broker are reported, not required."""
    checks = {"database": _check_database(), "cache": _check_cache(), "broker": _check_broker()}
    status = 200 if checks["database"] == "ok" else 503
    return JsonResponse(checks, status=status)
