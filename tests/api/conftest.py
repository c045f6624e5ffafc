"""Fixtures of the API tests: clients authenticated by token as each member of the cast."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

# The cycle of the assessment tests (regions A and B, agencies A, A2 and B), reused as is.
from tests.assessments.conftest import answers_a, cycle, element_codes, framework  # noqa: F401


@pytest.fixture(autouse=True)
def clean_cache():
    """Throttling counters live in the cache: each test starts from zero."""
    cache.clear()
    yield
    cache.clear()


def token_client(user=None, *, language: str = "en") -> APIClient:
    """A client that sends `Authorization: Token ...` for `user` (anonymous when None)."""
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        token, _created = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def client_for(db):
    return token_client


@pytest.fixture
def clients(cast):
    """One client per role of the cast, and `anonymous`."""
    return {
        "anonymous": token_client(None),
        "operator_a": token_client(cast.operator_a),
        "operator_a2": token_client(cast.operator_a2),
        "operator_b": token_client(cast.operator_b),
        "coordinator_a": token_client(cast.coordinator_a),
        "reviewer": token_client(cast.reviewer),
        "admin": token_client(cast.admin),
    }
