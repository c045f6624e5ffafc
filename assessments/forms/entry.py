"""Forms of the entry pages. They check types and shapes (a level is one of 1–5, text has no NUL
character); the workflow rules stay in `assessments.services`, whose field errors are put back
on these forms with `add_workflow_errors`, so that every error sits next to its field."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from dimensions.choices import MaturityLevel

from ..evidence import ALLOWED
from ..exceptions import WorkflowError
from ..models import Answer
from ..services import MAX_JUSTIFICATION, MAX_REASON


def add_workflow_errors(form: forms.Form, error: WorkflowError) -> None:
    """Attach a service's field errors to the form's fields (unknown fields: form-wide)."""
    if not error.field_errors:
        form.add_error(None, str(error.message))
        return
    for name, messages in error.field_errors.items():
        target = name if name in form.fields else None
        for message in messages if isinstance(messages, list | tuple) else [messages]:
            form.add_error(target, str(message))


class AnswerForm(forms.Form):
    """An answer's draft: level, justification, links (one per line) and the version read."""

    self_level = forms.TypedChoiceField(
        label=_("Maturity level"),
        choices=[("", _("Not decided yet")), *MaturityLevel.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )
    justification = forms.CharField(
        label=_("Justification"),
        help_text=_("What is in place today that supports the level you chose."),
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=MAX_JUSTIFICATION,
        required=False,
        strip=False,
    )
    links = forms.CharField(
        label=_("Links"),
        help_text=_("One link per line (http or https), e.g. the public page of a service."),
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        required=False,
        strip=False,
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    @classmethod
    def for_answer(cls, answer: Answer) -> AnswerForm:
        return cls(
            initial={
                "self_level": answer.self_level,
                "justification": answer.justification,
                "links": "\n".join(answer.links or []),
                "version": answer.version,
            }
        )


class EvidenceFileForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        widget=forms.FileInput(
            attrs={"accept": ",".join(f".{extension}" for extension in sorted(ALLOWED))}
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Interpolated per request, so that the help text follows the active language.
        self.fields["file"].help_text = _("Accepted types: %(types)s; at most %(size)s.") % {
            "types": ", ".join(sorted(ALLOWED)),
            "size": filesizeformat(settings.EVIDENCE_MAX_BYTES),
        }


class EvidenceLinkForm(forms.Form):
    url = forms.URLField(
        label=_("Link"),
        help_text=_("A public http(s) address, e.g. a page of the agency's website."),
        max_length=1000,
        assume_scheme="https",
    )


class CommentForm(forms.Form):
    body = forms.CharField(
        label=_("Comment"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=MAX_REASON,
    )
