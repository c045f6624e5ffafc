"""Whole-page cache of the public pages for anonymous visitors, served before the middleware
stack.

Public pages (home, region, dimension, map, methodology, role map, embeds) carry nothing
personal for an anonymous visitor: no CSRF token (the language switch is a link), no user
name, no messages. So their finished responses (body and every header the stack added:
CSP, X-Frame-Options, Content-Language, Vary) are stored and replayed to the next anonymous
visitor without running sessions, authentication, locale, CSRF or the view.

Why not Django's own cache middleware: it keys on the URL and the Vary headers, so it cannot
be invalidated the moment a snapshot is published, and it would cache any page whose view
forgot a header. Here a view opts in (`public_page`), and the key holds a *generation* token
kept in the shared cache, which every change to what public pages show replaces
(`bump_generation`, connected to the models' save and delete signals in `SmartprovConfig`):
publishing or unpublishing a snapshot, and edits of regions, agencies, their roles, the
cluster, cycles and the framework. The process that makes the change sees the new token at
once; the others read it from the shared cache at most `PUBLIC_CACHE_GENERATION_SECONDS`
later (1 s by default: a cache round trip on every request would cost a third of a cached
page's time). The pages themselves are kept in a small in-process LRU in front of the shared
cache.

Who is served from here: a GET without a session cookie (anyone logged in has one), without a
messages cookie and not from htmx. Anything else, and any response that sets a cookie or is
not a plain 200, goes through the whole stack as usual.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response

logger = logging.getLogger(__name__)

#: Bump when the shape of a stored entry changes, so old entries are never read.
FORMAT = 2
GENERATION_KEY = "public-page:generation"
#: Pages also expire, so an edit no signal sees (a bulk update, raw SQL) shows within this.
TIMEOUT_SECONDS = 6 * 3600
#: Pages kept in each worker's memory (a region page with its charts is 50-150 kB).
LOCAL_ENTRIES = 256
#: The only query strings served from or stored in the cache: none, or one cycle id written
#: plainly. `?cycle=01`, `?cycle=1&` and the like run the view, so that the many spellings of
#: one URL cannot each fill an entry.
CANONICAL_QUERY = re.compile(r"(?:cycle=[1-9][0-9]{0,9})?")
#: Bytes of pages kept in each worker's memory (besides the entry count).
LOCAL_BYTES = 32 * 1024 * 1024
#: Response attribute by which a view opts in (set by `public_page`).
MARK = "smartprov_public_page"


#: This process's copy of the token, until when (by `_clock`) it is trusted, and whether a
#: replacement could not be written (the cache was down) and must be written first.
_known = {"token": None, "until": 0.0, "pending": False}
_clock = time.monotonic


def generation() -> str | None:
    """The current generation token (created on first use), read from the shared cache at
    most every PUBLIC_CACHE_GENERATION_SECONDS. None when the cache keeps nothing (a dummy
    backend): then nothing is cached. Raises when the cache is unreachable."""
    now = _clock()
    token = _known["token"]
    if token is not None and now < _known["until"] and not _known["pending"]:
        return token
    if _known["pending"]:
        # A change was saved while the cache was down: its pages must not come back with it.
        cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
        _known["pending"] = False
    token = cache.get(GENERATION_KEY)
    if token is None:
        cache.add(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
        token = cache.get(GENERATION_KEY)
    _known.update(token=token, until=now + settings.PUBLIC_CACHE_GENERATION_SECONDS)
    return token


def forget_generation() -> None:
    """Read the token from the shared cache on the next request (tests, after a restore)."""
    _known.update(token=None, until=0.0, pending=False)


def _replace_generation() -> None:
    token = uuid.uuid4().hex
    _known.update(token=token, until=_clock() + settings.PUBLIC_CACHE_GENERATION_SECONDS)
    try:
        cache.set(GENERATION_KEY, token, timeout=None)
    except Exception:  # the cache is down: write a new token as soon as it is back
        _known["pending"] = True
        logger.warning("public page cache: could not replace the generation", exc_info=True)


def bump_generation() -> None:
    """Make every cached public page stale: now, and again once the current transaction
    commits (a page rendered from the old data in between must not outlive the commit)."""
    _replace_generation()
    transaction.on_commit(_replace_generation)


def public_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Mark a public view's anonymous 200 responses as cacheable by `PublicPageCacheMiddleware`."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        # Which URLs may be stored (query strings included) is the middleware's rule.
        if not request.user.is_authenticated:
            setattr(response, MARK, True)
        return response

    return wrapped


class _LocalPages:
    """A small thread-safe LRU of entries (gthread workers share it between threads), bounded
    by count and bytes; an entry also expires, as it does in the shared cache."""

    def __init__(self, size: int, max_bytes: int) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self.bytes = 0
        self.entries: OrderedDict[str, tuple[tuple, float]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> tuple | None:
        with self.lock:
            found = self.entries.get(key)
            if found is None:
                return None
            entry, expires = found
            if _clock() >= expires:
                self._drop(key)
                return None
            self.entries.move_to_end(key)
            return entry

    def put(self, key: str, entry: tuple) -> None:
        with self.lock:
            if key in self.entries:
                self._drop(key)
            self.entries[key] = (entry, _clock() + TIMEOUT_SECONDS)
            self.bytes += len(entry[0])
            while len(self.entries) > self.size or self.bytes > self.max_bytes:
                self._drop(next(iter(self.entries)))

    def _drop(self, key: str) -> None:
        entry, _expires = self.entries.pop(key)
        self.bytes -= len(entry[0])

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.bytes = 0


local_pages = _LocalPages(LOCAL_ENTRIES, LOCAL_BYTES)


class PublicPageCacheMiddleware:
    """Replay cached public pages to anonymous visitors; store the ones views mark.

    Sits right after SecurityMiddleware and WhiteNoise: HTTPS redirects and static files come
    first; sessions, locale, CSRF, authentication and the view run only on a miss.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.skip_cookies = (settings.SESSION_COOKIE_NAME, CookieStorage.cookie_name)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self._eligible(request):
            return self.get_response(request)
        try:
            key = self._key(request)
        except DisallowedHost:
            return self.get_response(request)  # which answers 400, as for any page
        except Exception:  # a cache outage costs speed, never the page
            logger.warning("public page cache unavailable", exc_info=True)
            return self.get_response(request)
        if key is None:  # a cache that keeps nothing
            return self.get_response(request)
        try:
            entry = local_pages.get(key)
            if entry is None:
                entry = cache.get(key)
                if entry is not None:
                    local_pages.put(key, entry)
        except Exception:  # a cache outage costs speed, never the page
            logger.warning("public page cache unavailable", exc_info=True)
            return self.get_response(request)
        if entry is not None:
            return self._replay(request, entry)
        response = self.get_response(request)
        if self._storable(response):
            entry = self._entry(response)
            try:
                cache.set(key, entry, TIMEOUT_SECONDS)
            except Exception:
                logger.warning("public page cache: could not store a page", exc_info=True)
            local_pages.put(key, entry)
            response["ETag"] = entry[2]
        return response

    def _eligible(self, request: HttpRequest) -> bool:
        return (
            request.method == "GET"
            and not any(name in request.COOKIES for name in self.skip_cookies)
            and "HTTP_HX_REQUEST" not in request.META
            and CANONICAL_QUERY.fullmatch(request.META.get("QUERY_STRING", "")) is not None
        )

    @staticmethod
    def _key(request: HttpRequest) -> str | None:
        # Scheme and host are part of it: a page may print absolute links (embed codes).
        url = request.build_absolute_uri()
        token = generation()
        if token is None:
            return None
        digest = hashlib.sha256(url.encode()).hexdigest()
        return f"public-page:{FORMAT}:{token}:{digest}"

    @staticmethod
    def _storable(response: HttpResponse) -> bool:
        return (
            getattr(response, MARK, False)
            and response.status_code == 200
            and not response.streaming
            and not response.cookies
        )

    @staticmethod
    def _entry(response: HttpResponse) -> tuple[bytes, list[tuple[str, str]], str]:
        content = response.content
        etag = '"' + hashlib.sha256(content).hexdigest()[:32] + '"'
        headers = [(name, value) for name, value in response.items() if name.lower() != "etag"]
        return content, headers, etag

    @staticmethod
    def _replay(request: HttpRequest, entry: tuple) -> HttpResponse:
        content, headers, etag = entry
        response = HttpResponse(content)
        for name, value in headers:
            response[name] = value
        response["ETag"] = etag
        # A visitor who has this version gets 304 Not Modified and no body.
        return get_conditional_response(request, etag=etag, response=response)
