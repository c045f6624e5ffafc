"""Report builds, snapshots (with the publish and rebuild actions) and published scores as open
data.

Who sees what follows `reports.selectors`, the rules of the internal pages: builds and
unpublished snapshots exist only for the province's staff (`can_view_reports`: administrators
and reviewers), so for anyone else the build list is a 403 (as the builds page) and a single
build or an unpublished snapshot a 404. Published snapshots are public, anonymously too.
Starting, retrying and publishing are the administrators' (`can_rebuild`, `can_publish`); the
services check that again, and the API adds no rule of its own.
"""

from __future__ import annotations

from collections import defaultdict

import django_filters
from django.db.models import F, Prefetch, QuerySet
from django.db.models.fields.json import KeyTransform
from django.shortcuts import get_object_or_404
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from assessments.models import Cycle
from assessments.permissions import scope_for
from dimensions.models import Dimension, Element
from smartprov.api import converters
from smartprov.api.filters import CodeFilter, IdFilter, IntegerFilter
from smartprov.api.schema import ApiAutoSchema, ErrorSerializer, error_response
from smartprov.api.views import ApiViewMixin
from smartprov.i18n import localized

from .. import services
from ..choices import ReportKind, RunState, RunTrigger
from ..models import MaturityReport, ReportRun
from ..selectors import can_rebuild, can_view_reports, get_run_for_user
from .serializers import (
    OpenDataScoresSerializer,
    ReportRunCreateSerializer,
    ReportRunSerializer,
    ReportSerializer,
    open_data_csv,
    open_data_metadata,
    open_data_rows,
)

# ----------------------------------------------------------------------------- reads


def run_queryset() -> QuerySet[ReportRun]:
    """Builds with their region and the ids of their snapshots: two queries for a page."""
    return ReportRun.objects.select_related("region").prefetch_related(
        Prefetch("reports", queryset=MaturityReport.objects.only("pk").order_by("pk"))
    )


def runs_visible_to(user) -> QuerySet[ReportRun]:
    return run_queryset() if can_view_reports(scope_for(user)) else ReportRun.objects.none()


def report_queryset() -> QuerySet[MaturityReport]:
    """Snapshots with their region, and only the `summary` of their results (annotated as
    `snapshot_summary`): the engine's tables, the bulk of a snapshot, stay in the database."""
    return (
        MaturityReport.objects.select_related("region")
        .defer("results", "weights")
        .annotate(snapshot_summary=KeyTransform("summary", "results"))
    )


def reports_visible_to(user) -> QuerySet[MaturityReport]:
    """Every snapshot for the province's staff; the published ones for everyone else."""
    reports = report_queryset()
    return reports if can_view_reports(scope_for(user)) else reports.filter(published=True)


# ----------------------------------------------------------------------------- report-runs


class ReportRunPermission(permissions.BasePermission):
    """The list of builds is the province's staff's; starting one the administrators'. Single
    builds are scoped in `get_run_for_user` (404), retrying by the service (403)."""

    def has_permission(self, request, view) -> bool:
        scope = scope_for(request.user)
        if view.action == "create":
            return can_rebuild(scope)
        if view.action == "list":
            return can_view_reports(scope)
        return True


class ReportRunFilter(django_filters.FilterSet):
    cycle = IdFilter(field_name="cycle_id", help_text=_("Cycle id."))
    region = CodeFilter(field_name="region__code", help_text=_("Region code, e.g. 3374."))
    kind = django_filters.ChoiceFilter(choices=ReportKind.choices)
    state = django_filters.ChoiceFilter(choices=RunState.choices)
    trigger = django_filters.ChoiceFilter(choices=RunTrigger.choices)

    class Meta:
        model = ReportRun
        fields = ["cycle", "region", "kind", "state", "trigger"]


@extend_schema_view(
    list=extend_schema(
        summary=_("List report builds (administrators and reviewers)"),
        responses={200: ReportRunSerializer(many=True), 403: error_response("403")},
    ),
    retrieve=extend_schema(summary=_("One report build, with its progress")),
    create=extend_schema(
        summary=_("Start a report build (administrators)"),
        description=_(
            "Queues a build of one region (`region`) or of every region of the cycle and the "
            "Semarang Raya aggregate (no `region`). A final build of one region needs its "
            "approved assessment. Poll the build until `state` is `succeeded` or `failed`."
        ),
        request=ReportRunCreateSerializer,
        responses={201: ReportRunSerializer},
    ),
)
class ReportRunViewSet(
    ApiViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """A build of report snapshots: queued, running, succeeded or failed, with its progress."""

    queryset = ReportRun.objects.none()  # for the schema; see get_queryset
    permission_classes = [permissions.IsAuthenticated, ReportRunPermission]
    parser_classes = [JSONParser]
    serializer_class = ReportRunSerializer
    filterset_class = ReportRunFilter
    ordering_fields = ["id", "queued_at", "finished_at"]
    ordering = ["-queued_at", "-id"]
    lookup_value_converter = converters.ID

    def get_queryset(self):
        return runs_visible_to(self.request.user)

    def get_object(self):
        return get_run_for_user(user=self.request.user, pk=self.kwargs["pk"])

    def _respond(self, pk: int, status_code: int = status.HTTP_200_OK) -> Response:
        serializer = ReportRunSerializer(
            run_queryset().get(pk=pk), context=self.get_serializer_context()
        )
        return Response(serializer.data, status=status_code)

    def create(self, request, *args, **kwargs):
        serializer = ReportRunCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        run = services.report_run_start(
            actor=request.user,
            cycle=data["cycle"],
            region=data.get("region"),
            kind=data["kind"],
            trigger=RunTrigger.MANUAL,
        )
        return self._respond(run.pk, status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="report_runs_retry",
        summary=_("Queue a failed build again (administrators)"),
        request=None,
        responses={200: ReportRunSerializer},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        run = self.get_object()
        services.report_run_retry(actor=request.user, run_id=run.pk)
        return self._respond(run.pk)


# ----------------------------------------------------------------------------- reports


class ReportFilter(django_filters.FilterSet):
    cycle = IdFilter(field_name="cycle_id", help_text=_("Cycle id."))
    region = CodeFilter(field_name="region__code", help_text=_("Region code, e.g. 3374."))
    kind = django_filters.ChoiceFilter(choices=ReportKind.choices)
    published = django_filters.BooleanFilter()
    aggregate = django_filters.BooleanFilter(
        field_name="region",
        lookup_expr="isnull",
        help_text=_("true: only Semarang Raya snapshots; false: only regions'."),
    )

    class Meta:
        model = MaturityReport
        fields = ["cycle", "region", "kind", "published", "aggregate"]


@extend_schema_view(
    list=extend_schema(
        summary=_("List report snapshots"),
        description=_(
            "Published snapshots for everyone, anonymously too; administrators and reviewers "
            "also see unpublished and provisional ones."
        ),
    ),
    retrieve=extend_schema(summary=_("One report snapshot, with its scores and downloads")),
)
class ReportViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """A stored, immutable snapshot of the scores of one region (or of Semarang Raya) in one
    cycle, with the links to its page, PDF, workbook and open data."""

    queryset = MaturityReport.objects.none()  # for the schema; see get_queryset
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]
    parser_classes = [JSONParser]
    serializer_class = ReportSerializer
    filterset_class = ReportFilter
    ordering_fields = ["id", "created_at", "published_at", "index"]
    ordering = ["-created_at", "-id"]
    lookup_value_converter = converters.ID

    def get_queryset(self):
        return reports_visible_to(self.request.user)

    def get_object(self):
        # Not filter_queryset: list filters in the query string must not hide one snapshot.
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    @extend_schema(
        operation_id="reports_publish",
        summary=_("Publish a final snapshot (administrators)"),
        description=_(
            "The snapshot published before for the same cycle and region (or Semarang Raya) is "
            "unpublished. A provisional snapshot cannot be published (400)."
        ),
        request=None,
        responses={200: ReportSerializer},
    )
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        report = self.get_object()
        services.report_publish(actor=request.user, report=report)
        serializer = ReportSerializer(
            report_queryset().get(pk=report.pk), context=self.get_serializer_context()
        )
        return Response(serializer.data)

    @extend_schema(
        operation_id="reports_rebuild",
        summary=_(
            "Rebuild: start a build of the snapshot's cycle, region and kind (administrators)"
        ),
        description=_(
            "Starts a new build (`report-runs`); for a Semarang Raya snapshot, a build of every "
            "region of the cycle and the aggregate. The snapshot itself never changes: a build "
            "over the same inputs finds it again, different inputs make a new snapshot."
        ),
        request=None,
        responses={201: ReportRunSerializer},
    )
    @action(detail=True, methods=["post"])
    def rebuild(self, request, pk=None):
        report = self.get_object()
        run = services.report_run_start(
            actor=request.user,
            cycle=Cycle.objects.get(pk=report.cycle_id),
            region=report.region,
            kind=report.kind,
            trigger=RunTrigger.MANUAL,
        )
        serializer = ReportRunSerializer(
            run_queryset().get(pk=run.pk), context=self.get_serializer_context()
        )
        return Response(serializer.data, status=status.HTTP_201_CREATED)


# ----------------------------------------------------------------------------- open data


class OpenDataCsvRenderer(BaseRenderer):
    """The open-data table as CSV (`reports.api.serializers.open_data_csv`)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return open_data_csv(data["data"]).encode("utf-8")


class OpenDataFilter(django_filters.FilterSet):
    cycle = IdFilter(field_name="cycle_id", help_text=_("Cycle id."))
    year = IntegerFilter(
        field_name="cycle__year", min_value=0, max_value=32767, help_text=_("Cycle year.")
    )
    region = CodeFilter(field_name="region__code", help_text=_("Region code, e.g. 3374."))

    class Meta:
        model = MaturityReport
        fields = ["cycle", "year", "region"]


def framework_names(framework_ids) -> dict[int, dict[str, tuple[str | None, str | None]]]:
    """Indonesian and English names of the dimensions and elements of some framework
    versions, by framework id and code (two queries). An untranslated name is None."""
    name_id, name_en = localized("name", "id"), localized("name", "en")
    names: dict[int, dict[str, tuple[str | None, str | None]]] = defaultdict(dict)
    dimensions = Dimension.objects.filter(framework_id__in=framework_ids).values_list(
        "framework_id", "code", name_id, name_en
    )
    elements = Element.objects.filter(dimension__framework_id__in=framework_ids).values_list(
        "dimension__framework_id", "code", name_id, name_en
    )
    for framework_id, code, indonesian, english in [*dimensions, *elements]:
        names[framework_id][code] = (indonesian or None, english or None)
    return names


class OpenDataSchema(ApiAutoSchema):
    """Errors are JSON whatever the format asked for (see `finalize_response`): only the 200
    answer also comes as CSV, and it says so itself."""

    def map_renderers(self, attribute: str):
        if attribute == "media_type":
            return [JSONRenderer.media_type]
        return super().map_renderers(attribute)


OPEN_DATA_MAX_AGE = 300  # seconds: a publication shows in the open data within five minutes


@extend_schema_view(
    list=extend_schema(
        operation_id="open_data_scores",
        summary=_("Published scores as open data (JSON or CSV)"),
        description=_(
            "One row per published snapshot and figure: its index, each dimension and each "
            "element, with stable column names (docs/api.md). JSON by default; CSV with "
            "`?format=csv` or `Accept: text/csv`. Anyone may read it."
        ),
        parameters=[
            OpenApiParameter(
                "format",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                enum=["json", "csv"],
                description=_("json (the default) or csv."),
            )
        ],
        responses={
            (200, "application/json"): OpenApiResponse(
                response=OpenDataScoresSerializer,
                description=_(
                    "The table: metadata and rows (JSON), or a header row and rows (CSV)."
                ),
            ),
            (200, "text/csv"): OpenApiTypes.STR,
            404: OpenApiResponse(
                response=ErrorSerializer, description=_("A format other than json or csv.")
            ),
        },
    )
)
class OpenDataScoresViewSet(ApiViewMixin, viewsets.GenericViewSet):
    """Every published score in one table, for data portals (Satu Data Jawa Tengah)."""

    queryset = MaturityReport.objects.none()  # for the schema; see list
    schema = OpenDataSchema()
    permission_classes = [permissions.AllowAny]
    renderer_classes = [JSONRenderer, OpenDataCsvRenderer]
    pagination_class = None
    filter_backends = [DjangoFilterBackend]
    filterset_class = OpenDataFilter

    def list(self, request, *args, **kwargs):
        """Three queries whatever the number of snapshots: the published snapshots (only the
        summary of their results), and the names of their frameworks' dimensions and
        elements."""
        reports = list(
            self.filter_queryset(
                report_queryset()
                .filter(published=True)
                .select_related("cycle", "framework")
                .order_by("-cycle__year", "cycle_id", F("region__code").asc(nulls_first=True), "pk")
            )
        )
        names = framework_names({report.framework_id for report in reports})
        document = {"metadata": open_data_metadata(), "data": open_data_rows(reports, names)}
        response = Response(document)
        patch_cache_control(response, public=True, max_age=OPEN_DATA_MAX_AGE)
        patch_vary_headers(response, ["Accept-Language"])
        if request.accepted_renderer.format == OpenDataCsvRenderer.format:
            response["Content-Disposition"] = 'attachment; filename="smartprov-scores.csv"'
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        # Errors keep the API's one JSON shape, whatever format was asked for.
        if response.status_code >= 400:
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)
