"""What the API shows of cycles, assessments and answers, and what it accepts for each action.

Output field names are a contract (shared/contracts.md): regions by plain code, agencies by slug,
indicators by framework code. Input serializers check only shape and type; every rule of the
workflow (states, deadlines, who may do what, what a reason must say) is the services' own, so
the browser and the API refuse the same things with the same messages.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dimensions.models import FrameworkVersion
from regions.models import Region
from smartprov.api.fields import NamedChoiceField, StrictCharField

from ..choices import AnswerState, AssessmentState, CycleStatus, EventKind
from ..models import Answer, AnswerEvent, Assessment, AssessmentEvent, Cycle, Evidence
from ..services import MAX_JUSTIFICATION, MAX_LINKS, MAX_REASON

MAX_VERSION = 2**31 - 1


class EvidenceKind(models.TextChoices):
    FILE = "file", _("File")
    LINK = "link", _("Link")


# ----------------------------------------------------------------------------- evidence


def evidence_download_path(pk: int) -> str:
    """The browser's permission-checked download view of an evidence file.

    Reversed by name in the default language (so the link does not depend on the language the
    API was read in); the literal path is the fallback for a deployment without that page.
    """
    with translation.override(settings.LANGUAGE_CODE):
        try:
            return reverse("assessments:evidence_download", kwargs={"pk": pk})
        except NoReverseMatch:
            return f"/assessments/evidence/{pk}/download/"


class EvidenceSerializer(serializers.ModelSerializer):
    kind = serializers.SerializerMethodField(help_text=_("`file` or `link`."))
    name = serializers.SerializerMethodField(help_text=_("File name, or the link."))
    url = serializers.SerializerMethodField(help_text=_("The link (link evidence), else null."))
    download = serializers.SerializerMethodField(
        help_text=_("Where to download the file (file evidence; needs a session), else null.")
    )

    class Meta:
        model = Evidence
        fields = [
            "id",
            "kind",
            "name",
            "url",
            "download",
            "content_type",
            "size",
            "sha256",
            "uploaded_at",
        ]

    @extend_schema_field(NamedChoiceField(EvidenceKind))
    def get_kind(self, evidence: Evidence) -> str:
        return "file" if evidence.is_file else "link"

    def get_name(self, evidence: Evidence) -> str:
        return evidence.original_name or evidence.url

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_url(self, evidence: Evidence) -> str | None:
        return None if evidence.is_file else evidence.url

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_download(self, evidence: Evidence) -> str | None:
        if not evidence.is_file:
            return None
        path = evidence_download_path(evidence.pk)
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class EvidenceCreatedSerializer(EvidenceSerializer):
    answer_version = serializers.IntegerField(
        help_text=_("The answer's version after the upload: send it with the next PATCH.")
    )

    class Meta(EvidenceSerializer.Meta):
        fields = [*EvidenceSerializer.Meta.fields, "answer_version"]


class EvidenceCreateSerializer(serializers.Serializer):
    file = serializers.FileField(
        required=False, help_text=_("The evidence file (multipart/form-data).")
    )
    url = serializers.URLField(
        required=False, allow_blank=True, max_length=1000, help_text=_("Or a link (http or https).")
    )


# ----------------------------------------------------------------------------- history


class AnswerEventSerializer(serializers.ModelSerializer):
    kind = NamedChoiceField(EventKind, read_only=True)
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = AnswerEvent
        fields = ["at", "actor", "kind", "old_value", "new_value", "reason"]


class AssessmentEventSerializer(serializers.ModelSerializer):
    kind = NamedChoiceField(EventKind, read_only=True)
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    agency = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)

    class Meta:
        model = AssessmentEvent
        fields = ["at", "actor", "agency", "kind", "old_value", "new_value", "reason"]


# ----------------------------------------------------------------------------- answers


class AnswerSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:answer-detail")
    cycle = serializers.IntegerField(source="assessment.cycle_id", read_only=True)
    region = serializers.CharField(source="assessment.region.code", read_only=True)
    agency = serializers.CharField(source="agency.slug", read_only=True)
    dimension = serializers.CharField(source="indicator.element.dimension.code", read_only=True)
    element = serializers.CharField(source="indicator.element.code", read_only=True)
    indicator = serializers.CharField(source="indicator.code", read_only=True)
    state = NamedChoiceField(AnswerState, read_only=True)
    links = serializers.ListField(
        child=serializers.URLField(), read_only=True, help_text=_("Links given with the answer.")
    )
    evidence = EvidenceSerializer(source="current_evidence", many=True, read_only=True)

    class Meta:
        model = Answer
        fields = [
            "id",
            "url",
            "cycle",
            "assessment",
            "region",
            "agency",
            "dimension",
            "element",
            "indicator",
            "state",
            "self_level",
            "verified_level",
            "final_level",
            "justification",
            "links",
            "evidence",
            "verification_reason",
            "return_reason",
            "version",
            "submitted_at",
            "verified_at",
            "updated_at",
        ]
        read_only_fields = fields


class AnswerDetailSerializer(AnswerSerializer):
    history = AnswerEventSerializer(
        source="events", many=True, read_only=True, help_text=_("The audit trail, oldest first.")
    )

    class Meta(AnswerSerializer.Meta):
        fields = [*AnswerSerializer.Meta.fields, "history"]
        read_only_fields = fields


class AnswerUpdateSerializer(serializers.Serializer):
    """PATCH body: the `version` that was read, and any of the fields to change."""

    version = serializers.IntegerField(
        min_value=1, max_value=MAX_VERSION, help_text=_("The version you read (optimistic lock).")
    )
    self_level = serializers.IntegerField(
        min_value=1, max_value=5, required=False, allow_null=True, help_text=_("1 to 5, or null.")
    )
    justification = StrictCharField(
        required=False, allow_blank=True, max_length=MAX_JUSTIFICATION, trim_whitespace=False
    )
    links = serializers.ListField(
        child=serializers.URLField(max_length=1000),
        required=False,
        max_length=MAX_LINKS,
        help_text=_("http(s) links; replaces the list."),
    )


class AnswerReturnSerializer(serializers.Serializer):
    reason = StrictCharField(
        max_length=MAX_REASON,
        help_text=_("Why the answer goes back (required; sent to the agency)."),
    )
    comment = StrictCharField(required=False, allow_blank=True, max_length=MAX_REASON)


class AnswerVerifySerializer(serializers.Serializer):
    verified_level = serializers.IntegerField(min_value=1, max_value=5)
    reason = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=MAX_REASON,
        help_text=_("Required when the verified level differs from the self-assessed level."),
    )
    comment = StrictCharField(required=False, allow_blank=True, max_length=MAX_REASON)


# ----------------------------------------------------------------------------- assessments


class AssessmentSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:assessment-detail")
    framework = serializers.IntegerField(source="cycle.framework_id", read_only=True)
    region = serializers.CharField(source="region.code", read_only=True)
    region_name = serializers.CharField(source="region.name", read_only=True)
    state = NamedChoiceField(AssessmentState, read_only=True)

    class Meta:
        model = Assessment
        fields = [
            "id",
            "url",
            "cycle",
            "framework",
            "region",
            "region_name",
            "state",
            "submitted_at",
            "approved_at",
        ]
        read_only_fields = fields


class AssessmentDetailSerializer(AssessmentSerializer):
    history = AssessmentEventSerializer(
        source="events", many=True, read_only=True, help_text=_("The audit trail, oldest first.")
    )

    class Meta(AssessmentSerializer.Meta):
        fields = [*AssessmentSerializer.Meta.fields, "history"]
        read_only_fields = fields


class AssessmentSubmitSerializer(serializers.Serializer):
    agency = serializers.SlugField(
        required=False,
        max_length=60,
        help_text=_(
            "Slug of the agency whose answers to submit; an operator may leave it out for their "
            "own agency, a coordinator to submit the whole region."
        ),
    )


class AssessmentSubmitResultSerializer(serializers.Serializer):
    assessment = AssessmentSerializer()
    submitted = serializers.ListField(
        child=serializers.IntegerField(), help_text=_("Ids of the answers submitted.")
    )


class ReasonSerializer(serializers.Serializer):
    reason = StrictCharField(max_length=MAX_REASON)


# ----------------------------------------------------------------------------- cycles


class CycleAssessmentSerializer(serializers.ModelSerializer):
    region = serializers.CharField(source="region.code", read_only=True)
    state = NamedChoiceField(AssessmentState, read_only=True)

    class Meta:
        model = Assessment
        fields = ["id", "region", "state"]
        read_only_fields = fields


class CycleSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:cycle-detail")
    status = NamedChoiceField(CycleStatus, read_only=True)
    assessments = CycleAssessmentSerializer(
        source="visible_assessments",
        many=True,
        read_only=True,
        help_text=_("The assessments of this cycle that the user may see."),
    )

    class Meta:
        model = Cycle
        fields = [
            "id",
            "url",
            "year",
            "name",
            "framework",
            "status",
            "starts_on",
            "entry_deadline",
            "review_deadline",
            "opened_at",
            "assessments",
        ]
        read_only_fields = fields


class CycleCreateSerializer(serializers.Serializer):
    """POST /cycles/: what `services.cycle_open` needs."""

    framework = serializers.PrimaryKeyRelatedField(
        queryset=FrameworkVersion.objects.all(), help_text=_("Framework version id.")
    )
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    name = StrictCharField(max_length=200)
    regions = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Region.objects.all(),
        many=True,
        help_text='Plain region codes, e.g. ["3374", "3321"].',
    )
    starts_on = serializers.DateField()
    entry_deadline = serializers.DateField()
    review_deadline = serializers.DateField()
