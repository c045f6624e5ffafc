"""The state a refused request must leave exactly as it found it: every row of the workflow
models (and the few reference rows a workflow write touches) plus the stored evidence files."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.utils import translation

# Models whose rows a bad request could change. FrameworkVersion is frozen by opening a cycle
# and Token is created by a successful login, so a refused request must not touch them either.
SNAPSHOT_MODELS = [
    "assessments.Answer",
    "assessments.Evidence",
    "assessments.AnswerEvent",
    "assessments.AssessmentEvent",
    "assessments.Comment",
    "assessments.Notification",
    "assessments.Assessment",
    "assessments.Cycle",
    "assessments.OutboxMessage",
    "assessments.DeadlineExtension",
    "reports.MaturityReport",
    "reports.ReportRun",
    "dimensions.FrameworkVersion",
    "authtoken.Token",
]


def stored_files(root: Path | None = None) -> list[tuple[str, int, str]]:
    """Every file under the private storage root: (relative path, size, sha256)."""
    root = Path(root or settings.PRIVATE_STORAGE_ROOT)
    if not root.exists():
        return []
    return sorted(
        (
            str(path.relative_to(root)),
            path.stat().st_size,
            hashlib.sha256(path.read_bytes()).hexdigest(),
        )
        for path in root.rglob("*")
        if path.is_file()
    )


def database_state() -> dict[str, list[tuple]]:
    """{model label: its rows as tuples of every concrete column, ordered by primary key}."""
    state = {}
    # One language for every snapshot: modeltranslation reads `name` from the active
    # language's column, and a request under /en/ leaves English active in this thread.
    with translation.override(settings.LANGUAGE_CODE):
        for label in SNAPSHOT_MODELS:
            model = apps.get_model(label)
            columns = [field.attname for field in model._meta.concrete_fields]
            state[label] = list(model._base_manager.order_by("pk").values_list(*columns))
    return state


def snapshot() -> dict:
    return {"rows": database_state(), "files": stored_files()}


def assert_unchanged(before: dict, after: dict) -> None:
    """Compare model by model, so that a failure names the table that changed."""
    for label in SNAPSHOT_MODELS:
        assert after["rows"][label] == before["rows"][label], f"{label} changed"
    assert after["files"] == before["files"], "the stored evidence files changed"
