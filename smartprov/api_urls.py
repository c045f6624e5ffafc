"""REST API v1 (mounted at /api/v1/, namespace `api`).

Resources are registered in the order of shared/contracts.md, then the open data; each
registration appears in the API root, the schema and the docs without further change.
"""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from assessments.api.views import AnswerViewSet, AssessmentViewSet, CycleViewSet
from dimensions.api.views import DimensionViewSet, FrameworkViewSet
from regions.api.views import AgencyViewSet, RegionViewSet
from reports.api.views import OpenDataScoresViewSet, ReportRunViewSet, ReportViewSet
from smartprov.api.views import ApiRouter, ApiViewMixin, ObtainTokenView, api_not_found

app_name = "api"

router = ApiRouter()
router.register("frameworks", FrameworkViewSet, basename="framework")
router.register("dimensions", DimensionViewSet, basename="dimension")
router.register("regions", RegionViewSet, basename="region")
router.register("agencies", AgencyViewSet, basename="agency")
router.register("cycles", CycleViewSet, basename="cycle")
router.register("assessments", AssessmentViewSet, basename="assessment")
router.register("answers", AnswerViewSet, basename="answer")
router.register("report-runs", ReportRunViewSet, basename="report-run")
router.register("reports", ReportViewSet, basename="report")
router.register("open-data/scores", OpenDataScoresViewSet, basename="open-data-scores")


class SchemaView(ApiViewMixin, SpectacularAPIView):
    """The OpenAPI 3 schema (YAML by default; `?format=json` for JSON)."""

    pagination_class = None


class DocsView(ApiViewMixin, SpectacularSwaggerSplitView):
    """Swagger UI; its assets come from drf-spectacular-sidecar, served by the portal. The split
    view loads its start-up code from a URL instead of an inline script (strict CSP)."""

    pagination_class = None
    url_name = "api:schema"


urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="token"),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(), name="docs"),
    *router.urls,
    re_path(r"^.*$", api_not_found, name="not-found"),
]
