"""Evidence file checks: type by content (magic numbers), size, name, and archive bombs.

The `filetype` library reads magic numbers (pure Python, no libmagic). Office Open XML and
OpenDocument files are ZIP archives: their central directory is read (not extracted) to refuse
archives that would expand to an absurd size. CSV has no magic number: it must be text.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
import zipfile
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from .exceptions import WorkflowError

# extension → content types its bytes may have
ALLOWED: dict[str, set[str]] = {
    "pdf": {"application/pdf"},
    "png": {"image/png"},
    "jpg": {"image/jpeg"},
    "jpeg": {"image/jpeg"},
    "webp": {"image/webp"},
    "docx": {"application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    "xlsx": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    "pptx": {"application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    "odt": {"application/vnd.oasis.opendocument.text"},
    "ods": {"application/vnd.oasis.opendocument.spreadsheet"},
    "odp": {"application/vnd.oasis.opendocument.presentation"},
    "doc": {"application/msword"},
    "xls": {"application/vnd.ms-excel", "application/msword"},
    "ppt": {"application/vnd.ms-powerpoint", "application/msword"},
    "csv": {"text/csv"},
}
ZIP_BASED = {"docx", "xlsx", "pptx", "odt", "ods", "odp"}
MAX_EXPANSION_RATIO = 100
MAX_ARCHIVE_ENTRIES = 5_000
HEAD_BYTES = 8192


@dataclass(frozen=True)
class CheckedFile:
    name: str
    content_type: str
    size: int
    sha256: str


def safe_file_name(name: str) -> str:
    """The last path component, without control characters, at most 150 characters."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = name.replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    if not name:
        name = "bukti"
    stem, dot, ext = name.rpartition(".")
    if dot and len(name) > 150:
        name = f"{stem[: 150 - len(ext) - 1]}.{ext}"
    return name[:150]


def _error(message: str) -> WorkflowError:
    return WorkflowError(message, field_errors={"file": [message]})


def _sniff(head: bytes, extension: str) -> str | None:
    if extension == "csv":
        if b"\x00" in head:
            return None
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as error:
            # A multi-byte character cut at the end of the sample is fine.
            if error.start < len(head) - 4:
                return None
        return "text/csv" if filetype.guess(head) is None else None
    kind = filetype.guess(head)
    return kind.mime if kind else None


def validate_evidence_file(upload) -> CheckedFile:
    """Check an uploaded file; raise a WorkflowError with a message for the `file` field."""
    name = safe_file_name(getattr(upload, "name", ""))
    extension = os.path.splitext(name)[1].lower().lstrip(".")
    allowed = ", ".join(sorted(ALLOWED))
    if extension not in ALLOWED:
        raise _error(_("This file type is not accepted. Accepted: %(types)s.") % {"types": allowed})
    size = getattr(upload, "size", None) or 0
    if size == 0:
        raise _error(_("The file is empty."))
    limit = settings.EVIDENCE_MAX_BYTES
    if size > limit:
        raise _error(
            _("The file is too large (%(size)s); the limit is %(limit)s.")
            % {"size": filesizeformat(size), "limit": filesizeformat(limit)}
        )
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    content_type = _sniff(head, extension)
    if content_type not in ALLOWED[extension]:
        raise _error(
            _("The file's content does not match its .%(ext)s extension.") % {"ext": extension}
        )
    if extension in ZIP_BASED:
        upload.seek(0)
        try:
            with zipfile.ZipFile(upload) as archive:
                entries = archive.infolist()
                expanded = sum(entry.file_size for entry in entries)
        except (zipfile.BadZipFile, OSError, ValueError):
            raise _error(_("The document is damaged and cannot be read.")) from None
        if len(entries) > MAX_ARCHIVE_ENTRIES or expanded > max(size, 1) * MAX_EXPANSION_RATIO:
            raise _error(_("The document expands to an unreasonable size and was refused."))
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in iter(lambda: upload.read(64 * 1024), b""):
        digest.update(chunk)
    upload.seek(0)
    content_type = "text/csv" if extension == "csv" else sorted(ALLOWED[extension])[0]
    return CheckedFile(name=name, content_type=content_type, size=size, sha256=digest.hexdigest())
