"""The OpenAPI schema: generated without warnings, valid OpenAPI 3, covering every API URL and
method with its errors; and the interactive docs, served with the portal's own assets."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver
from drf_spectacular.drainage import GENERATOR_STATS

from smartprov import api_urls

pytestmark = pytest.mark.django_db

NOT_IN_SCHEMA = {"api:schema", "api:docs", "api:not-found"}  # describe the API, or its 404
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def schema(client):
    response = client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def _openapi_path(route: str) -> str:
    """Django route (answers/<api_id:pk>/verify/) → OpenAPI path (/api/v1/answers/{id}/verify/)."""
    route = re.sub(r"<[^:>]+:pk>", "{id}", route)
    route = re.sub(r"<[^:>]+:(\w+)>", r"{\1}", route)
    return f"/api/v1/{route}"


def _api_routes():
    """(OpenAPI path, HTTP methods) of every URL pattern of the API."""
    for pattern in api_urls.urlpatterns:
        assert not isinstance(pattern, URLResolver), "nested includes are not expected"
        assert isinstance(pattern, URLPattern)
        if f"api:{pattern.name}" in NOT_IN_SCHEMA:
            continue
        callback = pattern.callback
        actions = getattr(callback, "actions", None)
        if actions:  # a viewset route: method → action
            methods = set(actions)
        else:
            view_class = callback.view_class
            methods = {m for m in HTTP_METHODS if hasattr(view_class, m)}
        yield _openapi_path(str(pattern.pattern)), methods & HTTP_METHODS


def test_schema_generates_without_warnings_or_errors_and_validates(tmp_path):
    GENERATOR_STATS.reset()

    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--file",
        str(tmp_path / "schema.yaml"),
    )

    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3.")


def test_schema_covers_every_api_url_and_method(schema):
    documented = {
        path: set(operations) & HTTP_METHODS for path, operations in schema["paths"].items()
    }
    routes = dict(_api_routes())

    assert routes, "no API routes found"
    assert set(routes) == set(documented)
    for path, methods in routes.items():
        assert methods == documented[path], path


def test_schema_describes_each_resource_of_the_contract(schema):
    resources = {path.split("/")[3] for path in schema["paths"] if path != "/api/v1/"}

    assert {
        "frameworks",
        "dimensions",
        "regions",
        "agencies",
        "cycles",
        "assessments",
        "answers",
        "report-runs",
        "reports",
        "open-data",
        "auth",
    } == resources
    assert "patch" in schema["paths"]["/api/v1/answers/{id}/"]
    assert "put" not in schema["paths"]["/api/v1/answers/{id}/"]
    for action in ("evidence", "submit", "return", "verify"):
        assert "post" in schema["paths"][f"/api/v1/answers/{{id}}/{action}/"]
    for action in ("submit", "approve", "reopen"):
        assert "post" in schema["paths"][f"/api/v1/assessments/{{id}}/{action}/"]
    for action in ("publish", "rebuild"):
        assert "post" in schema["paths"][f"/api/v1/reports/{{id}}/{action}/"]
    assert "post" in schema["paths"]["/api/v1/report-runs/{id}/retry/"]
    assert "post" in schema["paths"]["/api/v1/report-runs/"]
    open_data = schema["paths"]["/api/v1/open-data/scores/"]["get"]["responses"]["200"]
    assert set(open_data["content"]) == {"application/json", "text/csv"}


def test_every_operation_documents_its_errors_in_the_one_error_shape(schema):
    error_ref = "#/components/schemas/Error"
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation["responses"]
            errors = {code: r for code, r in responses.items() if code.startswith("4")}
            assert errors, (method, path)
            for code, response in errors.items():
                content = response["content"]["application/json"]["schema"]
                assert content == {"$ref": error_ref}, (method, path, code)
            if path != "/api/v1/auth/token/":
                assert "401" in responses, (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            if method != "get":
                assert "400" in responses, (method, path)
    assert "409" in schema["paths"]["/api/v1/answers/{id}/"]["patch"]["responses"]
    assert "429" in schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]


def test_schema_documents_filters_paging_and_token_authentication(schema):
    answers = schema["paths"]["/api/v1/answers/"]["get"]
    parameters = {p["name"] for p in answers["parameters"]}

    assert {
        "region",
        "agency",
        "cycle",
        "dimension",
        "element",
        "indicator",
        "state",
        "ordering",
        "page",
        "page_size",
    } <= parameters
    assert schema["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": 'Token-based authentication with required prefix "Token"',
    }
    answer = schema["components"]["schemas"]["Answer"]["properties"]
    assert {
        "id",
        "cycle",
        "assessment",
        "region",
        "agency",
        "indicator",
        "state",
        "self_level",
        "verified_level",
        "final_level",
        "justification",
        "evidence",
        "version",
    } <= set(answer)


def test_docs_page_loads_only_the_portals_own_assets_and_no_inline_script(client):
    page = client.get("/api/v1/docs/")

    assert page.status_code == 200
    html = page.content.decode()
    references = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert references
    for reference in references:
        assert not re.match(r"^(https?:)?//", reference), reference
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts
    for attributes, body in scripts:
        assert "src=" in attributes and not body.strip(), attributes
    assert "on" + "load=" not in html.lower()
    for reference in references:
        asset = client.get(reference.replace("&amp;", "&"))
        assert asset.status_code == 200, reference
        if hasattr(asset, "streaming_content"):
            asset.close()


def test_docs_start_up_script_points_at_the_local_schema(client):
    script = client.get("/api/v1/docs/?script=")

    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/v1/schema/" in script.content.decode()
