"""End-to-end tests in Debian's headless Chromium, driven by Playwright for Python.

The browser is the system one (/usr/bin/chromium): a test tool's own browser download does not
work on these machines. Every test records the requests its pages make and fails if one leaves
localhost, and saves screenshots under test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"

# Playwright's sync API runs an event loop in this thread; the live server and the test's
# own ORM calls are ordinary synchronous Django code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium package")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "en-US", "viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


class PageWatch:
    """Console errors and requests that leave localhost, collected while a page is used."""

    def __init__(self, page):
        self.console_errors: list[str] = []
        self.external_requests: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console_errors.append(str(error)))
        page.on("request", self._request)

    def _console(self, message):
        if message.type == "error":
            self.console_errors.append(message.text)

    def _request(self, request):
        host = urlparse(request.url).hostname
        if request.url.startswith(("data:", "blob:")):
            return
        if host not in {"localhost", "127.0.0.1", "::1"}:
            self.external_requests.append(request.url)

    def assert_clean(self):
        assert self.external_requests == [], self.external_requests
        assert self.console_errors == [], self.console_errors


@pytest.fixture
def watch(page) -> PageWatch:
    return PageWatch(page)
