"""Forms of the review pages (reviewers and administrators).

Forms check what a person can fix on the page (a missing reason, a date); the services check
the workflow again and their `WorkflowError`s are put back onto these forms by the views
(`add_workflow_error`), so the browser and the API refuse the same things.
"""

from __future__ import annotations

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dimensions.choices import MaturityLevel
from dimensions.models import FrameworkVersion
from regions.models import Agency, Region
from regions.selectors import cluster_members_on

from ..choices import AnswerState
from ..exceptions import WorkflowError
from ..models import Answer, Cycle
from ..selectors.review import (
    UNVERIFIED,
    queue_agencies,
    queue_dimension_choices,
    queue_element_choices,
    queue_regions,
)
from ..services import MAX_REASON

# The queue shows what waits for a reviewer unless another state is asked for.
DEFAULT_QUEUE_STATE = AnswerState.SUBMITTED


def add_workflow_error(form: forms.Form, error: WorkflowError) -> None:
    """Put a service's refusal onto the form: field errors beside their fields, the rest (and
    errors of fields the form does not have) at the top."""
    placed = False
    for name, messages in (error.field_errors or {}).items():
        target = name if name in form.fields else None
        for message in messages:
            form.add_error(target, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)


class AgencyChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Agency) -> str:
        return f"{obj.short_name} ({obj.region.name})"


class QueueFilterForm(forms.Form):
    """The queue's filters, read from the query string (GET), so a filtered queue is a link."""

    cycle = forms.ModelChoiceField(
        label=_("Cycle"), queryset=Cycle.objects.all(), required=False, empty_label=_("All cycles")
    )
    region = forms.ModelChoiceField(
        label=_("Region"), queryset=Region.objects.none(), required=False, empty_label=_("All")
    )
    agency = AgencyChoiceField(
        label=_("Agency"), queryset=Agency.objects.none(), required=False, empty_label=_("All")
    )
    dimension = forms.ChoiceField(label=_("Dimension"), required=False)
    element = forms.ChoiceField(label=_("Element"), required=False)
    state = forms.ChoiceField(label=_("State"), required=False)

    def __init__(self, data=None, **kwargs):
        data = data.copy() if data is not None else {}
        if "state" not in data:
            data["state"] = DEFAULT_QUEUE_STATE
        super().__init__(data, **kwargs)
        self.fields["region"].queryset = queue_regions()
        self.fields["agency"].queryset = queue_agencies()
        self.fields["dimension"].choices = [("", _("All"))] + [
            (c.code, c.label) for c in queue_dimension_choices()
        ]
        self.fields["element"].choices = [("", _("All"))] + [
            (c.code, c.label) for c in queue_element_choices()
        ]
        self.fields["state"].choices = [
            ("", _("Any state")),
            (UNVERIFIED, _("Not yet verified")),
            *AnswerState.choices,
        ]

    def filters(self) -> dict:
        """The valid filters (an invalid one is shown as an error and ignored)."""
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {
            "cycle": cleaned.get("cycle"),
            "region": cleaned.get("region"),
            "agency": cleaned.get("agency"),
            "dimension": cleaned.get("dimension") or "",
            "element": cleaned.get("element") or "",
            "state": cleaned.get("state") or "",
        }


class UniqueIdsMixin:
    """Several forms share one page (verify, return, comment) and field names (`reason`,
    `comment`): distinct element ids keep every <label for> pointing at its own field."""

    id_prefix = ""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"id_{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class VerifyForm(UniqueIdsMixin, forms.Form):
    id_prefix = "verify"

    """Verify one answer at a level; a reason is required when it differs from the self level."""

    verified_level = forms.TypedChoiceField(
        label=_("Verified level"),
        coerce=int,
        choices=MaturityLevel.choices,
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason for the verified level"),
        required=False,
        max_length=MAX_REASON,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    comment = forms.CharField(
        label=_("Comment to the agency (optional)"),
        required=False,
        max_length=MAX_REASON,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, answer: Answer, **kwargs):
        self.answer = answer
        kwargs.setdefault("initial", {"verified_level": answer.self_level})
        super().__init__(*args, **kwargs)
        self.fields["reason"].help_text = _(
            "Required when the verified level differs from the self-assessed level (%(level)s)."
        ) % {"level": answer.self_level or "–"}

    def level_options(self) -> list[tuple]:
        """(radio, descriptor) pairs, so each level is shown with what it means."""
        descriptors = {d.level: d for d in self.answer.indicator.levels.all()}
        return [
            (radio, descriptors.get(int(radio.data["value"]))) for radio in self["verified_level"]
        ]

    def clean(self):
        cleaned = super().clean()
        level = cleaned.get("verified_level")
        if (
            level is not None
            and level != self.answer.self_level
            and not (cleaned.get("reason") or "").strip()
        ):
            self.add_error(
                "reason",
                _("Required when the verified level differs from the self-assessed level."),
            )
        return cleaned


class ReturnForm(UniqueIdsMixin, forms.Form):
    id_prefix = "return"

    reason = forms.CharField(
        label=_("Reason for return"),
        max_length=MAX_REASON,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Tell the agency what to fix. They see this reason and are notified."),
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        max_length=MAX_REASON,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class CommentForm(UniqueIdsMixin, forms.Form):
    id_prefix = "comment"

    body = forms.CharField(
        label=_("Comment"), max_length=MAX_REASON, widget=forms.Textarea(attrs={"rows": 3})
    )


class ReopenForm(UniqueIdsMixin, forms.Form):
    id_prefix = "reopen"

    reason = forms.CharField(
        label=_("Reason for reopening"),
        max_length=MAX_REASON,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Reopening unlocks an approved assessment so answers can be reviewed again. "
            "The reason is recorded and the region is notified."
        ),
    )


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class FrameworkChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: FrameworkVersion) -> str:
        return f"{obj.name} v{obj.version} – {obj.get_status_display()}"


class CycleOpenForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    name = forms.CharField(label=_("Name"), max_length=200)
    framework = FrameworkChoiceField(
        label=_("Framework version"),
        queryset=FrameworkVersion.objects.order_by("slug", "-version"),
        help_text=_("A draft version is frozen when the cycle opens; it cannot change after."),
    )
    regions = forms.ModelMultipleChoiceField(
        label=_("Participating regions"),
        queryset=Region.objects.order_by("code"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Preselected: the members of Semarang Raya on the start date. The province is optional."
        ),
    )
    starts_on = forms.DateField(
        label=_("Starts on"),
        widget=DateInput,
        help_text=_("Decides which regions belong to Semarang Raya in this cycle."),
    )
    entry_deadline = forms.DateField(label=_("Entry deadline"), widget=DateInput)
    review_deadline = forms.DateField(label=_("Review deadline"), widget=DateInput)

    def __init__(self, *args, starts_on: datetime.date | None = None, **kwargs):
        if not args and "data" not in kwargs:
            day = starts_on or timezone.localdate()
            kwargs.setdefault(
                "initial",
                {
                    "year": day.year,
                    "starts_on": day,
                    "regions": list(cluster_members_on(day=day).values_list("pk", flat=True)),
                },
            )
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        starts_on, entry = cleaned.get("starts_on"), cleaned.get("entry_deadline")
        if starts_on and entry and entry < starts_on:
            self.add_error("entry_deadline", _("The entry deadline cannot precede the start."))
        return cleaned


class DeadlineExtendForm(forms.Form):
    agency = AgencyChoiceField(label=_("Agency"), queryset=Agency.objects.none())
    until = forms.DateField(label=_("New entry deadline"), widget=DateInput)
    reason = forms.CharField(
        label=_("Reason"), max_length=MAX_REASON, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, agencies, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = agencies
