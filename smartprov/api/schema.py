"""OpenAPI description of what every endpoint may answer, errors included.

drf-spectacular describes the successful answers from the serializers; `ApiAutoSchema` adds the
error answers that the view can really give (401 wherever a token may be sent, 404 for paths with
an id and for pages out of range, 400 for writes and filtered lists, 403 for writes), all in the
one error shape of `smartprov.api.exceptions`. Views add the rarer ones (409, 429) themselves.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from . import converters


class MissingAnswerSerializer(serializers.Serializer):
    answer = serializers.IntegerField(help_text=_("Answer id."))
    indicator = serializers.CharField(help_text=_("Indicator code."))
    missing = serializers.ListField(child=serializers.CharField(), help_text=_("What is missing."))


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text=_(
            "Stable machine-readable code, e.g. invalid, not_authenticated, permission_denied, "
            "not_found, invalid_transition, not_allowed, incomplete, stale_version, locked_out."
        )
    )
    message = serializers.CharField(help_text=_("Human-readable, in the request's language."))
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text=_("Messages per field; nested fields are dotted (links.0)."),
    )
    current_version = serializers.IntegerField(
        required=False, help_text=_("With stale_version: the answer's version now.")
    )
    missing = MissingAnswerSerializer(
        many=True, required=False, help_text=_("With incomplete: what each answer lacks.")
    )
    wait = serializers.IntegerField(
        required=False, help_text=_("With throttled: seconds to wait before trying again.")
    )


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API."""

    error = ErrorDetailSerializer()


ERROR_DESCRIPTIONS = {
    "400": _("Invalid input, or an action that is not allowed in the current state."),
    "401": _("Not authenticated, or an invalid token (WWW-Authenticate: Token)."),
    "403": _("Authenticated, allowed to see the object but not to do this."),
    "404": _("No such object, or one the user may not see; or a page out of range."),
    "409": _("The answer was saved by someone else since it was read (stale version)."),
    "429": _(
        "Too many failed attempts: this username is locked out from this address for a while."
    ),
}


def error_response(code: str) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorSerializer, description=ERROR_DESCRIPTIONS[code])


class ApiAutoSchema(AutoSchema):
    """AutoSchema that documents the error answers each operation can give."""

    def _error_codes(self) -> set[str]:
        codes: set[str] = set()
        view = self.view
        writes = self.method not in ("GET", "HEAD", "OPTIONS")
        if getattr(view, "authentication_classes", None):
            codes.add("401")  # a bad token is refused even where anonymous reads are allowed
        has_path_id = "{" in self.path
        if has_path_id or (self._is_list_view() and self._get_paginator() is not None):
            codes.add("404")
        if writes or (self._is_list_view() and getattr(view, "filterset_class", None)):
            codes.add("400")
        if writes and getattr(view, "authentication_classes", None):
            codes.add("403")
        return codes

    def _resolve_path_parameters(self, variables):
        # The API's path converters (smartprov.api.converters) as their real types: an id is
        # an integer, a region code a digit string. drf-spectacular alone would describe any
        # custom converter as a string with its pattern.
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            pattern = parameter.get("schema", {}).get("pattern")
            if pattern in converters.SCHEMAS_BY_PATTERN:
                parameter["schema"] = dict(converters.SCHEMAS_BY_PATTERN[pattern])
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in sorted(self._error_codes()):
            if code not in responses:
                responses[code] = self._get_response_for_code(error_response(code), code)
        return responses
