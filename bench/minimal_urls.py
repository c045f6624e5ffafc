"""Second baseline of bench/bench_pages.py: a minimal view served through the portal's own
settings and middleware stack (sessions, auth, locale, CSRF, CSP, axes, messages), so the
benchmark can tell the cost of that stack from the cost of the page itself. (It must not import
bench.minimal_wsgi, which configures settings of its own: every request would fail.)"""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from bench.minimal_page import PAGE


def minimal(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE, content_type="text/html; charset=utf-8")


urlpatterns = [path("", minimal)]
