"""Cycles, assessments and answers, with the workflow actions as POSTs on the object.

Scoping and permissions come from `assessments.permissions` (the browser's functions): lists are
`*_visible_to(user)`, single objects `get_*_for_user(user, pk, action)` (404 for what the user
may not see, 403 for what they may see but not do). Every write is one call to a service, which
checks the actor's role and the state again; the API adds no rule of its own.
"""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response

from regions.models import Agency
from smartprov.api import converters
from smartprov.api.filters import CodeFilter, IdFilter, IntegerFilter
from smartprov.api.schema import error_response
from smartprov.api.views import ApiViewMixin

from .. import services
from ..choices import AnswerState, AssessmentState, CycleStatus
from ..models import Answer, AnswerEvent, Assessment, AssessmentEvent, Cycle, Evidence
from ..permissions import (
    Action,
    answers_visible_to,
    assessments_visible_to,
    get_answer_for_user,
    get_assessment_for_user,
    scope_for,
)
from .serializers import (
    AnswerDetailSerializer,
    AnswerReturnSerializer,
    AnswerSerializer,
    AnswerUpdateSerializer,
    AnswerVerifySerializer,
    AssessmentDetailSerializer,
    AssessmentSerializer,
    AssessmentSubmitResultSerializer,
    AssessmentSubmitSerializer,
    CycleCreateSerializer,
    CycleSerializer,
    EvidenceCreatedSerializer,
    EvidenceCreateSerializer,
    ReasonSerializer,
)

# ----------------------------------------------------------------------------- cycles


class CyclePermission(permissions.BasePermission):
    """Anyone logged in may read cycles; opening one is the administrators' (as in the service)."""

    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return scope_for(request.user).is_admin


class CycleFilter(django_filters.FilterSet):
    year = IntegerFilter(min_value=0, max_value=32767)
    status = django_filters.ChoiceFilter(choices=CycleStatus.choices)
    framework = IdFilter(field_name="framework_id", help_text=gettext_lazy("Framework version id."))

    class Meta:
        model = Cycle
        fields = ["year", "status", "framework"]


@extend_schema_view(
    list=extend_schema(
        summary=gettext_lazy("List cycles"),
        description=gettext_lazy("Every logged-in user may list cycles."),
    ),
    retrieve=extend_schema(
        summary=gettext_lazy("One cycle, with the assessments the user may see")
    ),
    create=extend_schema(
        summary=gettext_lazy("Open a cycle (administrators)"),
        description=gettext_lazy(
            "Freezes the framework version, creates one assessment per region and one answer per "
            "indicator, owned by the lead agency of its element in that region."
        ),
        request=CycleCreateSerializer,
        responses={201: CycleSerializer},
    ),
)
class CycleViewSet(
    ApiViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Cycle.objects.none()  # for the schema; see get_queryset
    permission_classes = [permissions.IsAuthenticated, CyclePermission]
    parser_classes = [JSONParser]
    serializer_class = CycleSerializer
    filterset_class = CycleFilter
    ordering_fields = ["id", "year", "starts_on", "entry_deadline"]
    ordering = ["-year", "-starts_on", "-id"]
    lookup_value_converter = converters.ID

    def get_queryset(self):
        visible = assessments_visible_to(
            self.request.user, Assessment.objects.select_related("region")
        ).order_by("region__code")
        return Cycle.objects.prefetch_related(
            Prefetch("assessments", queryset=visible, to_attr="visible_assessments")
        )

    def create(self, request, *args, **kwargs):
        serializer = CycleCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        cycle = services.cycle_open(
            actor=request.user,
            framework=data["framework"],
            year=data["year"],
            name=data["name"],
            regions=list(dict.fromkeys(data["regions"])),
            starts_on=data["starts_on"],
            entry_deadline=data["entry_deadline"],
            review_deadline=data["review_deadline"],
        )
        output = self.get_serializer(self.get_queryset().get(pk=cycle.pk))
        return Response(output.data, status=status.HTTP_201_CREATED)


# ----------------------------------------------------------------------------- assessments


class AssessmentFilter(django_filters.FilterSet):
    cycle = IdFilter(field_name="cycle_id", help_text=gettext_lazy("Cycle id."))
    region = CodeFilter(
        field_name="region__code", help_text=gettext_lazy("Region code, e.g. 3374.")
    )
    state = django_filters.ChoiceFilter(choices=AssessmentState.choices)

    class Meta:
        model = Assessment
        fields = ["cycle", "region", "state"]


@extend_schema_view(
    list=extend_schema(summary=gettext_lazy("List the assessments the user may see")),
    retrieve=extend_schema(summary=gettext_lazy("One assessment, with its history")),
)
class AssessmentViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """One region's assessment in one cycle: submitted, approved and reopened as a whole."""

    queryset = Assessment.objects.none()  # for the schema; see get_queryset
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]
    filterset_class = AssessmentFilter
    ordering_fields = ["id", "cycle", "state"]
    ordering = ["-cycle__starts_on", "region__code"]
    lookup_value_converter = converters.ID

    def get_queryset(self):
        return assessments_visible_to(
            self.request.user, Assessment.objects.select_related("cycle", "region")
        )

    def get_serializer_class(self):
        return AssessmentDetailSerializer if self.action == "retrieve" else AssessmentSerializer

    def get_object(self):
        assessment = get_assessment_for_user(self.request.user, self.kwargs["pk"], Action.VIEW)
        return self._fresh(assessment.pk)

    def _fresh(self, pk: int) -> Assessment:
        return (
            Assessment.objects.select_related("cycle", "region")
            .prefetch_related(
                Prefetch(
                    "events",
                    queryset=AssessmentEvent.objects.select_related("actor", "agency").order_by(
                        "at", "id"
                    ),
                )
            )
            .get(pk=pk)
        )

    def _respond(self, pk: int) -> Response:
        serializer = AssessmentDetailSerializer(
            self._fresh(pk), context=self.get_serializer_context()
        )
        return Response(serializer.data)

    @extend_schema(
        operation_id="assessments_submit",
        summary=gettext_lazy("Submit every complete answer of one agency, or of the whole region"),
        description=gettext_lazy(
            "Operators submit their own agency's answers (`agency` may be left out); a "
            "coordinator submits the whole region, or one agency with `agency`. All or nothing: "
            "if any answer is incomplete, nothing is submitted and the 400 lists what is missing."
        ),
        request=AssessmentSubmitSerializer,
        responses={200: AssessmentSubmitResultSerializer},
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        assessment = get_assessment_for_user(request.user, pk, Action.VIEW)
        serializer = AssessmentSubmitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        agency_id = None
        slug = serializer.validated_data.get("agency")
        if slug:
            agency_id = (
                Agency.objects.filter(region_id=assessment.region_id, slug=slug)
                .values_list("pk", flat=True)
                .first()
            )
            if agency_id is None:
                raise ValidationError(
                    {"agency": [_("There is no agency with this slug in the assessment's region.")]}
                )
        answers = services.assessment_submit(
            actor=request.user, assessment_id=assessment.pk, agency_id=agency_id
        )
        result = AssessmentSubmitResultSerializer(
            {"assessment": self._fresh(assessment.pk), "submitted": [a.pk for a in answers]},
            context=self.get_serializer_context(),
        )
        return Response(result.data)

    @extend_schema(
        operation_id="assessments_approve",
        summary=gettext_lazy("Approve the assessment (reviewers; every answer verified)"),
        request=None,
        responses={200: AssessmentDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        assessment = get_assessment_for_user(request.user, pk, Action.APPROVE)
        services.assessment_approve(actor=request.user, assessment_id=assessment.pk)
        return self._respond(assessment.pk)

    @extend_schema(
        operation_id="assessments_reopen",
        summary=gettext_lazy("Reopen an approved assessment (administrators), with a reason"),
        request=ReasonSerializer,
        responses={200: AssessmentDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        assessment = get_assessment_for_user(request.user, pk, Action.REOPEN)
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.assessment_reopen(
            actor=request.user,
            assessment_id=assessment.pk,
            reason=serializer.validated_data["reason"],
        )
        return self._respond(assessment.pk)


# ----------------------------------------------------------------------------- answers


class AnswerFilter(django_filters.FilterSet):
    cycle = IdFilter(field_name="assessment__cycle_id", help_text=gettext_lazy("Cycle id."))
    assessment = IdFilter(field_name="assessment_id", help_text=gettext_lazy("Assessment id."))
    region = CodeFilter(
        field_name="assessment__region__code", help_text=gettext_lazy("Region code, e.g. 3374.")
    )
    agency = CodeFilter(
        field_name="agency__slug", help_text=gettext_lazy("Agency slug, e.g. diskominfo.")
    )
    dimension = CodeFilter(
        field_name="indicator__element__dimension__code",
        help_text=gettext_lazy("Dimension code, e.g. GOV."),
    )
    element = CodeFilter(
        field_name="indicator__element__code", help_text=gettext_lazy("e.g. GOV-SVC.")
    )
    indicator = CodeFilter(field_name="indicator__code", help_text=gettext_lazy("e.g. GOV-SVC-01."))
    state = django_filters.ChoiceFilter(choices=AnswerState.choices)

    class Meta:
        model = Answer
        fields = [
            "cycle",
            "assessment",
            "region",
            "agency",
            "dimension",
            "element",
            "indicator",
            "state",
        ]


def answer_queryset():
    """Answers with everything their representation shows, in a fixed number of queries."""
    return Answer.objects.select_related(
        "assessment__cycle", "assessment__region", "agency", "indicator__element__dimension"
    ).prefetch_related(
        Prefetch(
            "evidence",
            queryset=Evidence.objects.filter(removed_at__isnull=True).order_by("uploaded_at", "pk"),
            to_attr="current_evidence",
        )
    )


CONFLICT = {409: error_response("409")}


@extend_schema_view(
    list=extend_schema(summary=gettext_lazy("List the answers the user may see")),
    retrieve=extend_schema(summary=gettext_lazy("One answer, with its evidence and history")),
    partial_update=extend_schema(
        summary=gettext_lazy("Save an answer (operator of the owning agency)"),
        description=gettext_lazy(
            "Send the `version` you read and any of `self_level`, `justification`, `links`. "
            "A stale version is refused with 409 (`current_version` in the error) and nothing "
            "changes. Only draft and returned answers can be edited, before the entry deadline."
        ),
        request=AnswerUpdateSerializer,
        responses={200: AnswerDetailSerializer, **CONFLICT},
    ),
)
class AnswerViewSet(
    ApiViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """One indicator's answer of one region in one cycle, owned by the element's lead agency."""

    queryset = Answer.objects.none()  # for the schema; see get_queryset
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]
    filterset_class = AnswerFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    ordering_fields = ["id", "indicator__code", "state", "updated_at", "self_level"]
    ordering = ["assessment_id", "indicator__code"]
    lookup_value_converter = converters.ID

    def get_queryset(self):
        return answers_visible_to(self.request.user, answer_queryset())

    def get_serializer_class(self):
        return AnswerSerializer if self.action == "list" else AnswerDetailSerializer

    def _answer(self, action_name: str) -> Answer:
        return get_answer_for_user(self.request.user, self.kwargs["pk"], action_name)

    def _detail(self, pk: int) -> Answer:
        return (
            answer_queryset()
            .prefetch_related(
                Prefetch(
                    "events",
                    queryset=AnswerEvent.objects.select_related("actor").order_by("at", "id"),
                )
            )
            .get(pk=pk)
        )

    def _respond(self, pk: int, status_code: int = status.HTTP_200_OK) -> Response:
        serializer = AnswerDetailSerializer(self._detail(pk), context=self.get_serializer_context())
        return Response(serializer.data, status=status_code)

    def get_object(self):
        return self._detail(self._answer(Action.VIEW).pk)

    def partial_update(self, request, *args, **kwargs):
        answer = self._answer(Action.EDIT)
        serializer = AnswerUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        changed = [name for name in ("self_level", "justification", "links") if name in data]
        services.answer_save(
            actor=request.user,
            answer_id=answer.pk,
            expected_version=data["version"],
            fields=changed,
            **{name: data[name] for name in changed},
        )
        return self._respond(answer.pk)

    @extend_schema(
        operation_id="answers_evidence_create",
        summary=gettext_lazy("Add evidence: a file (multipart `file`) or a link (`url`)"),
        request={
            "multipart/form-data": EvidenceCreateSerializer,
            "application/json": EvidenceCreateSerializer,
        },
        responses={201: EvidenceCreatedSerializer},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, JSONParser])
    def evidence(self, request, pk=None):
        answer = self._answer(Action.EDIT)
        serializer = EvidenceCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        evidence = services.evidence_add(
            actor=request.user,
            answer_id=answer.pk,
            file=serializer.validated_data.get("file"),
            url=serializer.validated_data.get("url", ""),
        )
        evidence.answer_version = Answer.objects.values_list("version", flat=True).get(pk=answer.pk)
        output = EvidenceCreatedSerializer(evidence, context=self.get_serializer_context())
        return Response(output.data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="answers_submit",
        summary=gettext_lazy(
            "Submit one answer (operator; also how a returned answer is resubmitted)"
        ),
        request=None,
        responses={200: AnswerDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        answer = self._answer(Action.EDIT)
        services.answer_submit(actor=request.user, answer_id=answer.pk)
        return self._respond(answer.pk)

    @extend_schema(
        operation_id="answers_return",
        summary=gettext_lazy("Return an answer for revision, with a reason (reviewers)"),
        request=AnswerReturnSerializer,
        responses={200: AnswerDetailSerializer},
    )
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request, pk=None):
        answer = self._answer(Action.REVIEW)
        serializer = AnswerReturnSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.answer_return(
            actor=request.user,
            answer_id=answer.pk,
            reason=serializer.validated_data["reason"],
            comment=serializer.validated_data.get("comment", ""),
        )
        return self._respond(answer.pk)

    @extend_schema(
        operation_id="answers_verify",
        summary=gettext_lazy("Verify an answer at a level (reviewers)"),
        description=gettext_lazy(
            "`reason` is required when the verified level differs from the self level."
        ),
        request=AnswerVerifySerializer,
        responses={200: AnswerDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        answer = self._answer(Action.REVIEW)
        serializer = AnswerVerifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.answer_verify(
            actor=request.user,
            answer_id=answer.pk,
            verified_level=serializer.validated_data["verified_level"],
            reason=serializer.validated_data.get("reason", ""),
            comment=serializer.validated_data.get("comment", ""),
        )
        return self._respond(answer.pk)
