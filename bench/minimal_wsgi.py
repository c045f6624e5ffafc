"""Baseline of bench/bench_pages.py: the smallest Django site, one view returning a small page.

Served by gunicorn exactly like the portal (same Django, same worker count, same loopback), it
shows what the machine, gunicorn and Django's request cycle cost on their own; the portal's
page throughput is reported as a ratio of this one's. No database, no middleware, no templates.
"""

from __future__ import annotations

import os

from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY=os.environ["DJANGO_SECRET_KEY"],
    ALLOWED_HOSTS=os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1").split(","),
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    USE_I18N=False,
)

from django.core.wsgi import get_wsgi_application  # noqa: E402 - after settings.configure
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402

from bench.minimal_page import PAGE  # noqa: E402


def minimal(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE, content_type="text/html; charset=utf-8")


urlpatterns = [path("", minimal)]
application = get_wsgi_application()
