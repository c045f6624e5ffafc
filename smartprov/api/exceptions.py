"""One error shape for every 4xx answer of the API.

    {"error": {"code": "stale_version", "message": "...", "fields": {"version": ["..."]}}}

`code` is stable (integrators branch on it), `message` is in the request's language (the
LocaleMiddleware reads Accept-Language for /api paths), `fields` maps a field name (dotted for
nested ones, e.g. `links.0`) to its messages. Some codes carry one more key: `current_version`
(409 `stale_version`), `missing` (400 `incomplete`), `wait` (429 `throttled`).

The domain errors of the services (assessments.exceptions) are the same ones the browser turns
into messages, so the API neither adds nor skips a rule: it only translates errors into HTTP.
Anything that is not an expected error is left alone, so a bug still shows as a 500.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from assessments.exceptions import IncompleteAnswersError, StaleVersionError, WorkflowError
from dimensions.exceptions import FrameworkIncompleteError

NON_FIELD = "non_field_errors"


class ApiError(exceptions.APIException):
    """An error already in the API's terms: status, code, message, field errors, extras."""

    def __init__(
        self,
        *,
        status_code: int,
        code: str,
        message,
        fields: dict | None = None,
        extra: dict | None = None,
    ):
        super().__init__(detail=str(message), code=code)
        self.status_code = status_code
        self.code = code
        self.fields = fields or {}
        self.extra = extra or {}


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error details as {"field" or "field.0.sub": [messages]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(detail, list | tuple):
        if all(not isinstance(item, dict | list | tuple) for item in detail):
            if detail:
                flat.setdefault(prefix or NON_FIELD, []).extend(str(item) for item in detail)
        else:
            for index, item in enumerate(detail):
                if item:
                    flat.update(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
    elif detail is not None:
        flat.setdefault(prefix or NON_FIELD, []).append(str(detail))
    return flat


def _domain_error(exc: Exception) -> exceptions.APIException | None:
    """Translate the errors raised below the API (services, Django) into API exceptions."""
    if isinstance(exc, StaleVersionError):
        return ApiError(
            status_code=status.HTTP_409_CONFLICT,
            code=exc.code,
            message=exc.message,
            fields=_flatten(exc.field_errors),
            extra={"current_version": exc.current_version},
        )
    if isinstance(exc, IncompleteAnswersError):
        return ApiError(
            status_code=status.HTTP_400_BAD_REQUEST,
            code=exc.code,
            message=exc.message,
            fields=_flatten(exc.field_errors),
            extra={
                "missing": [
                    {
                        "answer": item["answer"],
                        "indicator": item["indicator"],
                        "missing": [str(gap) for gap in item["missing"]],
                    }
                    for item in exc.missing
                ]
            },
        )
    if isinstance(exc, WorkflowError):
        return ApiError(
            status_code=status.HTTP_400_BAD_REQUEST,
            code=exc.code,
            message=exc.message,
            fields=_flatten(exc.field_errors),
        )
    if isinstance(exc, FrameworkIncompleteError):
        problems = [str(problem) for problem in exc.problems]
        return ApiError(
            status_code=status.HTTP_400_BAD_REQUEST,
            code="framework_incomplete",
            message=_("The framework version is not complete: %(problems)s")
            % {"problems": "; ".join(problems[:10])},
            fields={"framework": problems},
        )
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(detail=str(exc) if str(exc) else None)
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        return exceptions.NotFound()
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD: exc.messages}
        return exceptions.ValidationError(detail=detail)
    return None


def _body(exc: exceptions.APIException) -> dict:
    if isinstance(exc, ApiError):
        return {"code": exc.code, "message": str(exc.detail), "fields": exc.fields, **exc.extra}
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        general = fields.pop(NON_FIELD, [])
        message = general[0] if general else _("Some fields are not valid; see the field errors.")
        if len(general) > 1:
            fields[NON_FIELD] = general
        return {"code": "invalid", "message": message, "fields": fields}
    detail = exc.detail
    code = getattr(detail, "code", None) or exc.default_code
    if isinstance(detail, dict | list):
        fields = _flatten(detail)
        general = fields.pop(NON_FIELD, [])
        message = general[0] if general else str(exc.default_detail)
        body = {"code": exc.default_code, "message": message, "fields": fields}
    else:
        body = {"code": code, "message": str(detail), "fields": {}}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        body["wait"] = int(exc.wait)
    return body


def api_exception_handler(exc: Exception, context: dict):
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: every 4xx in the one error shape."""
    translated = _domain_error(exc)
    if translated is not None:
        exc = translated
    # DRF's handler sets WWW-Authenticate and Retry-After and rolls back ATOMIC_REQUESTS.
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    response.data = {"error": _body(exc)}
    return response


def error_payload(*, code: str, message, fields: dict | None = None) -> dict:
    """The error shape for answers built outside DRF (the API's catch-all 404)."""
    return {"error": {"code": code, "message": str(message), "fields": fields or {}}}
