"""Domain errors of the workflow. The browser and the API turn each into a clear message."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class WorkflowError(Exception):
    """An action that is not allowed now (illegal transition, locked assessment, deadline...)."""

    code = "not_allowed"

    def __init__(self, message, *, field_errors: dict | None = None):
        self.message = message
        self.field_errors = field_errors or {}
        super().__init__(str(message))


class InvalidTransition(WorkflowError):
    code = "invalid_transition"


class StaleVersionError(WorkflowError):
    """Someone saved the answer after you read it; your save was refused and theirs is kept."""

    code = "stale_version"

    def __init__(self, current_version: int):
        self.current_version = current_version
        super().__init__(
            _(
                "Someone else saved this answer after you opened it. Your changes were not "
                "saved; the page shows their version. Copy your text, reload, and try again."
            )
        )


class IncompleteAnswersError(WorkflowError):
    code = "incomplete"

    def __init__(self, missing: list[dict]):
        self.missing = missing
        super().__init__(
            _("%(count)d answer(s) are not complete yet.") % {"count": len(missing)},
        )
