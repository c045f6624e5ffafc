"""The whole-page cache of public pages (smartprov/public_cache.py): who is served from it,
what invalidates it, and that a cache outage costs speed but never the page."""

from __future__ import annotations

import io

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from reports import services
from reports.models import MaturityReport
from smartprov import public_cache
from tests.reports.test_public_pages import make_cycle, store_snapshots

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(cast, framework):
    """Kota Semarang and Demak with a published 2024 cycle."""
    regions = [cast.region_a, cast.region_b]
    store_snapshots(make_cycle(framework, 2024), regions)
    return regions


def region_url(code: str = "3374", lang: str = "en") -> str:
    with translation.override(lang):
        return reverse("public:region", args=[code])


def test_a_repeat_anonymous_visit_replays_every_header(
    client, published, django_assert_num_queries
):
    first = client.get(region_url())
    assert first.status_code == 200
    with django_assert_num_queries(0):
        again = client.get(region_url())
    assert again.content == first.content
    for header in ("Content-Security-Policy", "X-Frame-Options", "Content-Language"):
        assert again[header] == first[header]
    assert again["Content-Language"] == "en"
    assert again["ETag"] == first["ETag"]


def test_each_language_has_its_own_page(client, published):
    english = client.get(region_url(lang="en"))
    indonesian = client.get(region_url(lang="id"))
    assert english["Content-Language"] == "en" and indonesian["Content-Language"] == "id"
    assert client.get(region_url(lang="id")).content == indonesian.content
    assert indonesian.content != english.content


def test_a_visitor_with_the_current_version_gets_304(client, published):
    etag = client.get(region_url())["ETag"]
    response = client.get(region_url(), HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert response.content == b""
    assert client.get(region_url(), HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_a_logged_in_user_never_gets_the_anonymous_page_nor_leaves_theirs(client, cast, published):
    anonymous = client.get(region_url()).content.decode()
    client.force_login(cast.coordinator_a)
    personal = client.get(region_url()).content.decode()
    assert cast.coordinator_a.username in personal
    assert cast.coordinator_a.username not in anonymous
    client.logout()
    # The logged-in page was not stored: anonymous visitors still get the anonymous one.
    assert cast.coordinator_a.username not in client.get(region_url()).content.decode()


def test_publishing_a_snapshot_through_the_service_shows_at_once(
    client, cast, framework, published
):
    before = client.get(region_url()).content.decode()
    assert "Penilaian 2025" not in before
    reports = store_snapshots(make_cycle(framework, 2025), published, publish=False)
    # An unpublished (draft) snapshot changes nothing: the cached page is still served.
    assert client.get(region_url()).content.decode() == before
    services.report_publish(actor=cast.admin, report=reports[cast.region_a.code])
    assert "Penilaian 2025" in client.get(region_url()).content.decode()


def test_editing_reference_data_shows_at_once(client, cast, published):
    assert "Kota Semarang" in client.get(region_url()).content.decode()
    cast.region_a.name = "Kota Semarang Hebat"
    cast.region_a.save()
    assert "Kota Semarang Hebat" in client.get(region_url()).content.decode()


def test_another_worker_publishing_shows_here_within_the_generation_interval(
    client, published, monkeypatch, settings
):
    settings.PUBLIC_CACHE_GENERATION_SECONDS = 1.0
    now = [1000.0]
    monkeypatch.setattr(public_cache, "_clock", lambda: now[0])
    public_cache.forget_generation()  # the fixture's saves stamped it by the real clock
    first = client.get(region_url()).content
    assert len(public_cache.local_pages.entries) == 1
    # What a publication in another process does: a new generation in the shared cache.
    cache.set(public_cache.GENERATION_KEY, "from-another-worker")
    now[0] += 0.5  # within the interval this worker still trusts its copy of the token
    with CaptureQueriesContext(connection) as queries:
        assert client.get(region_url()).content == first
    assert not queries.captured_queries
    now[0] += 0.6  # past it: the token is read again, the page rendered afresh
    with CaptureQueriesContext(connection) as queries:
        assert client.get(region_url()).status_code == 200
    assert queries.captured_queries


@pytest.mark.parametrize(
    "extra",
    [
        {"QUERY_STRING": "utm=1"},  # an unknown parameter: not stored, so no cache flooding
        {"HTTP_HX_REQUEST": "true"},  # htmx asks for fragments
    ],
)
def test_requests_that_are_not_plain_page_views_run_the_view(client, published, extra):
    client.get(region_url(), **extra)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(region_url(), **extra).status_code == 200
    assert queries.captured_queries


def test_a_page_for_a_draft_is_never_stored(client, cast, framework, published):
    reports = store_snapshots(make_cycle(framework, 2026), published, publish=False)
    draft_cycle = reports[cast.region_a.code].cycle_id
    assert client.get(region_url() + f"?cycle={draft_cycle}").status_code == 404
    assert not public_cache.local_pages.entries


def test_a_cache_outage_costs_speed_never_the_page(client, published, monkeypatch):
    expected = client.get(region_url()).content

    class Down:
        def __getattr__(self, name):
            def fail(*args, **kwargs):
                raise ConnectionError("cache down")

            return fail

    public_cache.local_pages.clear()
    monkeypatch.setattr(public_cache, "cache", Down())
    response = client.get(region_url())
    assert response.status_code == 200
    assert response.content == expected


def test_embeds_keep_their_frame_policy_when_replayed(client, published):
    with translation.override("en"):
        path = reverse("public:embed", args=["region", "3374", "radar"])
    first = client.get(path)
    again = client.get(path)
    assert again.status_code == 200 and again.content == first.content
    assert "frame-ancestors *" in again["Content-Security-Policy"]
    assert "X-Frame-Options" not in again


def test_the_clear_command_makes_every_cached_page_stale(client, published):
    client.get(region_url())
    out = io.StringIO()
    call_command("clear_public_cache", stdout=out)
    assert out.getvalue().strip()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(region_url()).status_code == 200
    assert queries.captured_queries  # rendered afresh


@pytest.mark.parametrize("query", ["cycle=01", "cycle=%201", "cycle=1&", "%63ycle=1", "cycle=+1"])
def test_other_spellings_of_a_cycle_run_the_view_and_are_not_stored(
    client, cast, framework, published, query
):
    cycle = MaturityReport.objects.filter(published=True).first().cycle_id
    canonical = f"{region_url()}?cycle={cycle}"
    assert client.get(canonical).status_code == 200
    stored = len(public_cache.local_pages.entries)
    response = client.get(f"{region_url()}?{query.replace('1', str(cycle), 1)}")
    assert response.status_code in (200, 404)
    assert len(public_cache.local_pages.entries) == stored


def test_worker_memory_is_bounded_in_bytes_and_entries_expire(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(public_cache, "_clock", lambda: now[0])
    pages = public_cache._LocalPages(size=10, max_bytes=250)
    for n in range(3):
        pages.put(f"k{n}", (b"x" * 100, [], '"e"'))
    assert list(pages.entries) == ["k1", "k2"] and pages.bytes == 200  # k0 made room
    now[0] += public_cache.TIMEOUT_SECONDS + 1
    assert pages.get("k2") is None and pages.bytes == 100


def test_unpublishing_with_a_queryset_update_invalidates_too(client, published):
    assert "Penilaian 2024" in client.get(region_url()).content.decode()
    MaturityReport.objects.filter(published=True).update(published=False)
    assert "Penilaian 2024" not in client.get(region_url()).content.decode()


def test_a_change_saved_while_the_cache_was_down_is_not_undone_when_it_returns(
    client, published, monkeypatch
):
    first = client.get(region_url()).content

    class WritesFail:
        def set(self, *args, **kwargs):
            raise ConnectionError("cache down")

        def __getattr__(self, name):
            return getattr(cache, name)

    monkeypatch.setattr(public_cache, "cache", WritesFail())
    public_cache.bump_generation()  # a publication while the cache is down
    monkeypatch.setattr(public_cache, "cache", cache)  # back
    public_cache._known["until"] = 0.0  # the next request reads the token again
    with CaptureQueriesContext(connection) as queries:
        assert client.get(region_url()).content == first
    assert queries.captured_queries  # rendered afresh, not the page from before the change


def test_page_data_survive_a_cache_outage_without_an_error(client, published, monkeypatch):
    class Down:
        def __getattr__(self, name):
            def fail(*args, **kwargs):
                raise ConnectionError("cache down")

            return fail

    from reports import views_public

    monkeypatch.setattr(public_cache, "cache", Down())
    monkeypatch.setattr(views_public, "cache", Down())
    public_cache.forget_generation()
    assert client.get(region_url()).status_code == 200
    assert client.get(reverse("public:map")).status_code == 200


def test_a_foreign_host_gets_400_and_no_entry(client, published):
    response = client.get(region_url(), HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert not public_cache.local_pages.entries
