"""Base of every API view, the token endpoint, the API root and the API's JSON 404."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.http import HttpRequest, JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import routers, serializers, status
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .exceptions import ApiError, error_payload
from .fields import StrictCharField
from .pagination import StandardPagination
from .schema import ApiAutoSchema, error_response


def activate_request_language(request: HttpRequest) -> str:
    """Answer in the language the client asks for (language cookie, then Accept-Language).

    The LocaleMiddleware cannot do it for /api/ paths: with i18n_patterns and an unprefixed
    default language, Django reads every path without a language prefix as Indonesian.
    """
    language = translation.get_language_from_request(request, check_path=False)
    translation.activate(language)
    request.LANGUAGE_CODE = language
    return language


class ApiViewMixin:
    """What every view of the API shares, whatever the settings' defaults say.

    * Messages in the client's language (`activate_request_language`).
    * Anonymous requests to protected endpoints get 401 with `WWW-Authenticate: Token`. DRF
      derives that header from the first authentication class; with SessionAuthentication first
      (the browser's), it would answer 403, which tells a script nothing about how to log in.
    * Lists use the bounded page size of `StandardPagination`.
    * The schema documents the error answers (`ApiAutoSchema`).
    """

    pagination_class = StandardPagination
    schema = ApiAutoSchema()

    def initial(self, request, *args, **kwargs):
        activate_request_language(request._request)
        super().initial(request, *args, **kwargs)

    def get_authenticate_header(self, request):
        return TokenAuthentication().authenticate_header(request)


class TokenRequestSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150)
    password = StrictCharField(
        max_length=4096, trim_whitespace=False, style={"input_type": "password"}
    )


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField(help_text=gettext_lazy("Send as `Authorization: Token <token>`."))


class ObtainTokenView(ApiViewMixin, APIView):
    """Exchange a username and password for the user's API token.

    Runs Django's `authenticate()` with the request, so that the authentication backends, the
    `user_login_failed` signal and the login lockout (django-axes) apply as on the login page.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser, FormParser]

    @extend_schema(
        operation_id="auth_token_create",
        tags=["auth"],
        request=TokenRequestSerializer,
        responses={
            200: TokenResponseSerializer,
            400: error_response("400"),
            429: error_response("429"),
        },
        auth=[],
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        django_request = request._request
        user = authenticate(
            django_request,
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
        if getattr(django_request, "axes_locked_out", False):
            # Answer in the API's error shape; left set, the flag makes AxesMiddleware swap
            # this answer for the login page's HTML lockout page.
            django_request.axes_locked_out = False
            raise ApiError(
                status_code=status.HTTP_429_TOO_MANY_REQUESTS,
                code="locked_out",
                message=_(
                    "Too many failed attempts for this username from this address. Try again later."
                ),
            )
        if user is None or not user.is_active:
            raise ApiError(
                status_code=status.HTTP_400_BAD_REQUEST,
                code="invalid_credentials",
                message=_("The username or password is not correct."),
            )
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class ApiRootView(ApiViewMixin, routers.APIRootView):
    """The API root: a link to each resource's list."""

    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="api_root",
        tags=["root"],
        responses={
            200: OpenApiResponse(
                response={
                    "type": "object",
                    "additionalProperties": {"type": "string", "format": "uri"},
                },
                description=gettext_lazy("Resource name → URL of its list."),
            )
        },
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ApiRouter(routers.DefaultRouter):
    """DefaultRouter without format-suffix URLs (`.json`), with a documented API root."""

    include_format_suffixes = False
    APIRootView = ApiRootView

    def __init__(self):
        super().__init__(use_regex_path=False)


@csrf_exempt  # like every DRF view: a stray POST must get the JSON 404, not a CSRF page
def api_not_found(request, *args, **kwargs):
    """Any other URL under /api/v1/: a 404 in the API's error shape (not Django's HTML page)."""
    activate_request_language(request)
    return JsonResponse(
        error_payload(code=NotFound.default_code, message=NotFound.default_detail),
        status=status.HTTP_404_NOT_FOUND,
    )
