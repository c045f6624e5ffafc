"""A corpus of bad input, sent through the browser forms and the API.

Every case must be refused with a 4xx and a clear message in the user's language, and must
leave the database exactly as it was (every row of the workflow models compared before and
after, and the list of stored evidence files).

The status rule:

* API: always a 4xx in the API's one error shape (`{"error": {"code", "message", "fields"}}`).
* Browser forms: a 4xx page, or a 200 that re-renders the form with its errors. The entry pages
  (answer, evidence) answer 200 on a refused save because htmx swaps only 2xx answers and the
  page keeps what the user typed; a 200 is accepted only when the page shows an error
  (an error summary, a field error or an error message) *and* the database is unchanged.
* Never a 5xx, and never a redirect: in these views a redirect means the write went through.

Unicode that is valid text (right-to-left marks, zero-width joiners, emoji, decomposed
accents) is not bad input: the services store it (normalised to NFC) and the pages show it
escaped; see the tests after the corpus. A NUL character and a lone surrogate (which
PostgreSQL cannot store) are refused, with a message.

A case with a `gap` fails today for a reason outside these tests (a template, a serializer, a
view that is not the hardening work's to change); it is marked xfail(strict=True), so that it
turns red as soon as the gap is closed and the mark can go.
"""

from __future__ import annotations

import html
import io
import json
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from assessments.models import Answer, Comment, Evidence

from .snapshot import assert_unchanged, snapshot

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
SHELL_SCRIPT = b"#!/bin/sh\nrm -rf / --no-preserve-root\n"
HTML_PAGE = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
HUGE = "a" * 20_001  # MAX_JUSTIFICATION is 20,000
MEGABYTE = "b" * 1_000_000
LONG_REASON = "r" * 5_001  # MAX_REASON is 5,000
TWENTY_DIGITS = "9" * 20
MISSING_ID = 987_654_321

# What a page shows when it refuses: the form's error summary, a field's errors, or a message.
ERROR_MARKERS = (
    'class="error-summary"',
    "errorlist",
    "message-error",
    "editor-status-error",
    'role="alert"',
)


# --------------------------------------------------------------------------- files


def upload(name: str, content: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def zip_bomb_docx() -> bytes:
    """A small .docx whose central directory says it expands to 50 MB (ratio ~1000:1)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        archive.writestr("word/media/padding.bin", b"\0" * (50 * 1024 * 1024))
    return buffer.getvalue()


ZIP_BOMB = zip_bomb_docx()
OVERSIZED_LIMIT = 1024
OVERSIZED_PDF = PDF + b"%" * 4096  # a real PDF header, four times the lowered limit
TRAVERSAL_NAME = "../../../../../tmp/smartprov-traversal.sh"

# A multipart body whose parts do not use the boundary the header announces.
BROKEN_MULTIPART = (
    b"--not-the-boundary\r\n"
    b'Content-Disposition: form-data; name="file"; filename="laporan.pdf"\r\n'
    b"Content-Type: application/pdf\r\n\r\n" + PDF + b"\r\n--not-the-boundary"
)
BROKEN_MULTIPART_TYPE = "multipart/form-data; boundary=expected-boundary"


# --------------------------------------------------------------------------- urls


def _raw(path_with_pk: str, pk_value, pk) -> str:
    return path_with_pk.replace(str(pk_value), str(pk), 1)


def page(name: str, target: str = "draft") -> Callable[[SimpleNamespace], str]:
    """A page's path in the default language (no prefix), aimed at an answer of the world or
    at a bad id: `foreign`, `missing`, `abc`, `-1`, or twenty digits."""

    def build(w: SimpleNamespace) -> str:
        with translation.override("id"):
            path = reverse(f"assessments:{name}", args=[MISSING_ID])
        return _raw(path, MISSING_ID, target_id(w, target))

    return build


def api(template: str, target: str = "draft") -> Callable[[SimpleNamespace], str]:
    """An API path; `{id}` is replaced by the target's id."""
    return lambda w: template.format(id=target_id(w, target))


def target_id(w: SimpleNamespace, target: str):
    return {
        "draft": w.draft.pk,
        "submitted": w.submitted.pk,
        "foreign": w.foreign.pk,
        "assessment_a": w.assessment_a.pk,
        "assessment_b": w.assessment_b.pk,
        "missing": MISSING_ID,
    }.get(target, target)


def fixed(path: str) -> Callable[[SimpleNamespace], str]:
    return lambda w: path


# --------------------------------------------------------------------------- the corpus


@dataclass(frozen=True)
class Case:
    """One bad request. `payload` is data, or a function of the world (files must be new for
    each request); `expect` is English text the message must contain."""

    name: str
    channel: str  # "form" (browser, session login) or "api" (token)
    method: str
    url: Callable[[SimpleNamespace], str]
    payload: Any = None
    expect: str = ""
    actor: str | None = "operator_a"
    body: str = "multipart"  # "multipart" | "urlencoded" | "json" | "raw"
    content_type: str = ""
    htmx: bool = False
    settings: tuple = field(default_factory=tuple)
    gap: str = ""  # a known gap, reported to the lead: expected to fail until it is fixed

    def __str__(self) -> str:
        return self.name


def answer_form(**values) -> dict:
    data = {"self_level": "1", "justification": "Ada SOP.", "links": "", "version": "1"}
    data["action"] = "save"
    data.update(values)
    return {key: value for key, value in data.items() if value is not None}


def form_case(name, payload, expect, url=None, **kwargs) -> Case:
    return Case(name, "form", "post", url or page("answer_detail"), payload, expect, **kwargs)


def evidence_case(name, payload, expect, **kwargs) -> Case:
    return Case(name, "form", "post", page("answer_evidence_add"), payload, expect, **kwargs)


def verify_case(name, payload, expect, target="submitted", **kwargs) -> Case:
    kwargs.setdefault("actor", "reviewer")
    url = page("review_answer_verify", target)
    return Case(name, "form", "post", url, payload, expect, **kwargs)


def return_case(name, payload, expect, target="submitted", **kwargs) -> Case:
    kwargs.setdefault("actor", "reviewer")
    url = page("review_answer_return", target)
    return Case(name, "form", "post", url, payload, expect, **kwargs)


def api_case(name, method, url, payload, expect, **kwargs) -> Case:
    kwargs.setdefault("body", "json")
    return Case(name, "api", method, url, payload, expect, **kwargs)


def patch_case(name, payload, expect, target="draft", **kwargs) -> Case:
    return api_case(name, "patch", api("/api/v1/answers/{id}/", target), payload, expect, **kwargs)


def api_evidence_case(name, payload, expect, target="draft", **kwargs) -> Case:
    kwargs.setdefault("body", "multipart")
    url = api("/api/v1/answers/{id}/evidence/", target)
    return api_case(name, "post", url, payload, expect, **kwargs)


def api_verify_case(name, payload, expect, target="submitted", **kwargs) -> Case:
    kwargs.setdefault("actor", "reviewer")
    url = api("/api/v1/answers/{id}/verify/", target)
    return api_case(name, "post", url, payload, expect, **kwargs)


def api_return_case(name, payload, expect, target="submitted", **kwargs) -> Case:
    kwargs.setdefault("actor", "reviewer")
    url = api("/api/v1/answers/{id}/return/", target)
    return api_case(name, "post", url, payload, expect, **kwargs)


def api_submit_case(name, payload, expect, target="assessment_a", **kwargs) -> Case:
    url = api("/api/v1/assessments/{id}/submit/", target)
    return api_case(name, "post", url, payload, expect, **kwargs)


def cycle_body(w: SimpleNamespace, **values) -> dict:
    body = {
        "framework": w.framework_id,
        "year": 2031,
        "name": "Siklus uji",
        "regions": ["3374"],
        "starts_on": "2031-01-01",
        "entry_deadline": "2031-03-01",
        "review_deadline": "2031-04-01",
    }
    body.update(values)
    return {key: value for key, value in body.items() if value is not None}


def cycle_case(name, values, expect, **kwargs) -> Case:
    kwargs.setdefault("actor", "admin")
    payload = values if callable(values) else (lambda w, v=values: cycle_body(w, **v))
    return api_case(name, "post", fixed("/api/v1/cycles/"), payload, expect, **kwargs)


def token_case(name, payload, expect, **kwargs) -> Case:
    kwargs.setdefault("actor", None)
    return api_case(name, "post", fixed("/api/v1/auth/token/"), payload, expect, **kwargs)


# Known gaps: each case fails today for a reason outside the hardening files, and is marked
# xfail(strict=True), so that the fix makes it pass and the mark must then be removed.
GAP_BARE_400 = "Django's built-in 400 page (no templates/400.html): English only, no explanation"
# What templates/400.html is proposed to say (the lead's file).
UNREADABLE_REQUEST = "could not be read"
GAP_REVIEW_MESSAGE = (
    "the review page hides the forms of an answer that is no longer reviewable, and with them "
    "the service's refusal: 400 without a message"
)
GAP_NUMBER_AS_TEXT = "DRF's CharField turns a JSON number into text: a numeric reason is accepted"


LEVEL_CHOICE = "Select a valid choice"
REQUIRED = "This field is required"
NOT_FOUND_PAGE = "Page not found"
NUL_FORM = "Null characters are not allowed"
INTEGER = "A valid integer is required"
API_NOT_FOUND = "Not found"
SURROGATE = "Surrogate characters are not allowed"

FORM_CASES = [
    # --- the answer form: levels
    form_case("form level out of range", answer_form(self_level="7"), LEVEL_CHOICE),
    form_case("form level zero", answer_form(self_level="0"), LEVEL_CHOICE),
    form_case("form level negative", answer_form(self_level="-1"), LEVEL_CHOICE),
    form_case("form level not a number", answer_form(self_level="tiga"), LEVEL_CHOICE),
    form_case("form level float string", answer_form(self_level="2.5"), LEVEL_CHOICE),
    form_case("form level arabic-indic digit", answer_form(self_level="٣"), LEVEL_CHOICE),
    form_case(
        "form level sent twice, last one bad",
        {**answer_form(), "self_level": ["1", "9"]},
        LEVEL_CHOICE,
    ),
    form_case(
        "form level out of range via htmx", answer_form(self_level="9"), LEVEL_CHOICE, htmx=True
    ),
    form_case(
        "form submit with a bad level", answer_form(self_level="6", action="submit"), LEVEL_CHOICE
    ),
    # --- the answer form: missing fields and versions
    form_case("form missing version", answer_form(version=None), REQUIRED),
    form_case("form empty post", {}, REQUIRED),
    form_case("form version not a number", answer_form(version="abc"), "Enter a whole number"),
    form_case("form version zero", answer_form(version="0"), "greater than or equal to 1"),
    form_case("form version from the future", answer_form(version="2"), "Someone else saved"),
    form_case(
        "form version of twenty digits", answer_form(version=TWENTY_DIGITS), "Someone else saved"
    ),
    # --- the answer form: texts
    form_case(
        "form huge justification", answer_form(justification=HUGE), "at most 20000 characters"
    ),
    form_case(
        "form megabyte justification",
        answer_form(justification=MEGABYTE),
        "at most 20000 characters",
    ),
    form_case(
        "form justification over the request size limit",
        answer_form(justification="c" * 3_000_000),
        UNREADABLE_REQUEST,
        body="urlencoded",
    ),
    form_case("form NUL in justification", answer_form(justification="awal\x00akhir"), NUL_FORM),
    form_case("form NUL in links", answer_form(links="https://a.example/\x00"), NUL_FORM),
    form_case(
        "form javascript link",
        answer_form(links="javascript:alert(1)"),
        "is not a valid http(s) link",
    ),
    form_case(
        "form too many links",
        answer_form(links="\n".join(f"https://a.example/{i}" for i in range(21))),
        "At most 20 links",
    ),
    form_case("form submit with NUL", answer_form(justification="\x00", action="submit"), NUL_FORM),
    # --- the answer form: ids
    form_case(
        "form foreign answer id",
        answer_form(),
        NOT_FOUND_PAGE,
        url=page("answer_detail", "foreign"),
    ),
    form_case(
        "form missing answer id",
        answer_form(),
        NOT_FOUND_PAGE,
        url=page("answer_detail", "missing"),
    ),
    form_case(
        "form non-numeric answer id",
        answer_form(),
        NOT_FOUND_PAGE,
        url=page("answer_detail", "abc"),
    ),
    form_case(
        "form negative answer id", answer_form(), NOT_FOUND_PAGE, url=page("answer_detail", "-1")
    ),
    form_case(
        "form twenty-digit answer id",
        answer_form(),
        NOT_FOUND_PAGE,
        url=page("answer_detail", TWENTY_DIGITS),
    ),
    # --- evidence upload
    evidence_case(
        "upload shell script named .pdf",
        lambda w: {"file": upload("laporan.pdf", SHELL_SCRIPT, "application/pdf")},
        "does not match its .pdf extension",
    ),
    evidence_case(
        "upload html named .png",
        lambda w: {"file": upload("foto.png", HTML_PAGE, "image/png")},
        "does not match its .png extension",
    ),
    evidence_case(
        "upload empty file",
        lambda w: {"file": upload("kosong.pdf", b"")},
        "The submitted file is empty",
    ),
    evidence_case(
        "upload oversized file",
        lambda w: {"file": upload("besar.pdf", OVERSIZED_PDF, "application/pdf")},
        "The file is too large",
        settings=(("EVIDENCE_MAX_BYTES", OVERSIZED_LIMIT),),
    ),
    evidence_case(
        "upload zip bomb docx",
        lambda w: {"file": upload("bom.docx", ZIP_BOMB)},
        "expands to an unreasonable size",
    ),
    evidence_case(
        "upload random bytes named .docx",
        lambda w: {"file": upload("acak.docx", bytes(range(256)) * 8)},
        "does not match its .docx extension",
    ),
    evidence_case(
        "upload path traversal name",
        lambda w: {"file": upload(TRAVERSAL_NAME, SHELL_SCRIPT)},
        "This file type is not accepted",
    ),
    evidence_case("upload without a file", {"kind": "file"}, REQUIRED),
    evidence_case(
        "upload javascript link",
        {"kind": "link", "url": "javascript:alert(1)"},
        "Enter a valid URL",
    ),
    evidence_case("upload empty link", {"kind": "link", "url": ""}, REQUIRED),
    evidence_case(
        "upload multipart without boundary",
        b"--x\r\n\r\n",
        UNREADABLE_REQUEST,
        body="raw",
        content_type="multipart/form-data",
    ),
    evidence_case(
        "upload malformed multipart",
        BROKEN_MULTIPART,
        REQUIRED,
        body="raw",
        content_type=BROKEN_MULTIPART_TYPE,
    ),
    Case(
        "upload to a foreign answer",
        "form",
        "post",
        page("answer_evidence_add", "foreign"),
        lambda w: {"file": upload("laporan.pdf", PDF, "application/pdf")},
        NOT_FOUND_PAGE,
    ),
    Case(
        "upload to a twenty-digit id",
        "form",
        "post",
        page("answer_evidence_add", TWENTY_DIGITS),
        lambda w: {"file": upload("laporan.pdf", PDF, "application/pdf")},
        NOT_FOUND_PAGE,
    ),
    # --- review: verify
    verify_case("review verify level out of range", {"verified_level": "7"}, LEVEL_CHOICE),
    verify_case("review verify level not a number", {"verified_level": "abc"}, LEVEL_CHOICE),
    verify_case("review verify without a level", {"reason": "ok"}, REQUIRED),
    verify_case(
        "review verify different level without reason",
        {"verified_level": "3"},
        "Required when the verified level differs",
    ),
    verify_case(
        "review verify huge reason",
        {"verified_level": "1", "reason": LONG_REASON},
        "at most 5000 characters",
    ),
    verify_case(
        "review verify NUL in reason", {"verified_level": "1", "reason": "a\x00"}, NUL_FORM
    ),
    verify_case(
        "review verify a draft answer",
        {"verified_level": "1"},
        "You cannot verify an answer that is draft",
        target="draft",
    ),
    verify_case(
        "review verify by an operator",
        {"verified_level": "1"},
        "You may not do this",
        actor="operator_a",
    ),
    verify_case(
        "review verify a missing id", {"verified_level": "1"}, NOT_FOUND_PAGE, target="missing"
    ),
    verify_case(
        "review verify a twenty-digit id",
        {"verified_level": "1"},
        NOT_FOUND_PAGE,
        target=TWENTY_DIGITS,
    ),
    # --- review: return
    return_case("review return without reason", {}, REQUIRED),
    return_case("review return blank reason", {"reason": "   "}, REQUIRED),
    return_case("review return huge reason", {"reason": LONG_REASON}, "at most 5000 characters"),
    return_case(
        "review return NUL in comment", {"reason": "Lengkapi.", "comment": "\x00"}, NUL_FORM
    ),
    return_case(
        "review return a draft answer",
        {"reason": "Lengkapi."},
        "You cannot return for revision an answer that is draft",
        target="draft",
    ),
    return_case(
        "review return another region by an operator",
        {"reason": "x"},
        NOT_FOUND_PAGE,
        actor="operator_a",
        target="foreign",
    ),
    return_case("review return a negative id", {"reason": "x"}, NOT_FOUND_PAGE, target="-1"),
]

API_CASES = [
    # --- PATCH an answer: wrong types and ranges
    patch_case(
        "api level out of range", {"version": 1, "self_level": 7}, "less than or equal to 5"
    ),
    patch_case("api level zero", {"version": 1, "self_level": 0}, "greater than or equal to 1"),
    patch_case("api level as text", {"version": 1, "self_level": "abc"}, INTEGER),
    patch_case("api level as list", {"version": 1, "self_level": [1]}, INTEGER),
    patch_case("api level as dict", {"version": 1, "self_level": {"level": 1}}, INTEGER),
    patch_case("api level as bool", {"version": 1, "self_level": True}, INTEGER),
    patch_case("api level as float string", {"version": 1, "self_level": "2.5"}, INTEGER),
    patch_case("api level as float", {"version": 1, "self_level": 2.5}, INTEGER),
    patch_case("api version as text", {"version": "abc", "self_level": 1}, INTEGER),
    patch_case("api version missing", {"self_level": 1}, "This field is required"),
    patch_case("api version zero", {"version": 0}, "greater than or equal to 1"),
    patch_case("api version beyond int", {"version": 2**31}, "less than or equal to 2147483647"),
    patch_case("api version stale", {"version": 2, "self_level": 1}, "Someone else saved"),
    patch_case(
        "api huge justification",
        {"version": 1, "justification": HUGE},
        "no more than 20000 characters",
    ),
    patch_case(
        "api NUL in justification",
        {"version": 1, "justification": "a\x00b"},
        "Null characters are not allowed",
    ),
    patch_case(
        "api lone surrogate in justification", {"version": 1, "justification": "a\ud800"}, SURROGATE
    ),
    patch_case(
        "api lone surrogate in a link",
        {"version": 1, "links": ["https://a.example/\ud800"]},
        SURROGATE,
    ),
    patch_case(
        "api links as a string",
        {"version": 1, "links": "https://a.example"},
        "Expected a list of items",
    ),
    patch_case(
        "api links not urls", {"version": 1, "links": [1, "javascript:x"]}, "Enter a valid URL"
    ),
    patch_case(
        "api too many links",
        {"version": 1, "links": [f"https://a.example/{i}" for i in range(21)]},
        "no more than 20 elements",
    ),
    patch_case("api body is a list", [1, 2], "Expected a dictionary"),
    patch_case(
        "api body is not json",
        b'{"version": 1,',
        "JSON parse error",
        body="raw",
        content_type="application/json",
    ),
    patch_case(
        "api body is plain text",
        b"version=1",
        "Unsupported media type",
        body="raw",
        content_type="text/plain",
    ),
    patch_case(
        "api foreign answer id", {"version": 1, "self_level": 1}, API_NOT_FOUND, target="foreign"
    ),
    patch_case("api missing answer id", {"version": 1}, API_NOT_FOUND, target="missing"),
    patch_case("api non-numeric answer id", {"version": 1}, API_NOT_FOUND, target="abc"),
    patch_case("api negative answer id", {"version": 1}, API_NOT_FOUND, target="-1"),
    patch_case("api twenty-digit answer id", {"version": 1}, API_NOT_FOUND, target=TWENTY_DIGITS),
    patch_case(
        "api edit by a reviewer",
        {"version": 1, "self_level": 1},
        "You do not have permission",
        actor="reviewer",
    ),
    # --- evidence
    api_evidence_case(
        "api upload shell script named .pdf",
        lambda w: {"file": upload("laporan.pdf", SHELL_SCRIPT, "application/pdf")},
        "does not match its .pdf extension",
    ),
    api_evidence_case(
        "api upload html named .png",
        lambda w: {"file": upload("foto.png", HTML_PAGE, "image/png")},
        "does not match its .png extension",
    ),
    api_evidence_case(
        "api upload empty file",
        lambda w: {"file": upload("kosong.pdf", b"")},
        "The submitted file is empty",
    ),
    api_evidence_case(
        "api upload oversized file",
        lambda w: {"file": upload("besar.pdf", OVERSIZED_PDF, "application/pdf")},
        "The file is too large",
        settings=(("EVIDENCE_MAX_BYTES", OVERSIZED_LIMIT),),
    ),
    api_evidence_case(
        "api upload zip bomb docx",
        lambda w: {"file": upload("bom.docx", ZIP_BOMB)},
        "expands to an unreasonable size",
    ),
    api_evidence_case(
        "api upload path traversal name",
        lambda w: {"file": upload(TRAVERSAL_NAME, SHELL_SCRIPT)},
        "This file type is not accepted",
    ),
    api_evidence_case("api upload nothing", {}, "Attach a file or give a link"),
    api_evidence_case(
        "api upload file and link",
        lambda w: {
            "file": upload("laporan.pdf", PDF, "application/pdf"),
            "url": "https://a.example/",
        },
        "Attach a file or give a link",
    ),
    api_evidence_case(
        "api upload javascript link", {"url": "javascript:alert(1)"}, "Enter a valid URL"
    ),
    api_evidence_case("api upload file as text", {"file": "not a file"}, "not a file", body="json"),
    api_evidence_case(
        "api upload link with a lone surrogate",
        {"url": "https://a.example/\ud800"},
        SURROGATE,
        body="json",
    ),
    api_evidence_case("api upload link as number", {"url": 5}, "Enter a valid URL", body="json"),
    api_evidence_case(
        "api upload malformed multipart",
        BROKEN_MULTIPART,
        "Attach a file or give a link",
        body="raw",
        content_type=BROKEN_MULTIPART_TYPE,
    ),
    api_evidence_case(
        "api upload multipart without boundary",
        b"--x\r\n\r\n",
        "Multipart form parse error",
        body="raw",
        content_type="multipart/form-data",
    ),
    api_evidence_case(
        "api upload to a foreign answer",
        lambda w: {"file": upload("laporan.pdf", PDF, "application/pdf")},
        API_NOT_FOUND,
        target="foreign",
    ),
    # --- verify
    api_verify_case("api verify level as text", {"verified_level": "abc"}, INTEGER),
    api_verify_case("api verify level as list", {"verified_level": [1]}, INTEGER),
    api_verify_case("api verify level as dict", {"verified_level": {"v": 1}}, INTEGER),
    api_verify_case("api verify level as bool", {"verified_level": True}, INTEGER),
    api_verify_case("api verify level as float string", {"verified_level": "1.5"}, INTEGER),
    api_verify_case(
        "api verify level out of range", {"verified_level": 6}, "less than or equal to 5"
    ),
    api_verify_case("api verify without level", {"reason": "ok"}, "This field is required"),
    api_verify_case(
        "api verify different level without reason", {"verified_level": 3}, "Give a reason"
    ),
    api_verify_case(
        "api verify reason as number",
        {"verified_level": 3, "reason": 123},
        "Not a valid string",
    ),
    api_verify_case(
        "api verify huge reason",
        {"verified_level": 1, "reason": LONG_REASON},
        "no more than 5000 characters",
    ),
    api_verify_case(
        "api verify NUL in reason",
        {"verified_level": 3, "reason": "\x00"},
        "Null characters are not allowed",
    ),
    api_verify_case(
        "api verify a draft answer",
        {"verified_level": 1},
        "You cannot verify an answer that is draft",
        target="draft",
    ),
    api_verify_case(
        "api verify by an operator",
        {"verified_level": 1},
        "You do not have permission",
        actor="operator_a",
    ),
    api_verify_case(
        "api verify a twenty-digit id", {"verified_level": 1}, API_NOT_FOUND, target=TWENTY_DIGITS
    ),
    # --- return
    api_return_case("api return without reason", {}, "This field is required"),
    api_return_case("api return blank reason", {"reason": "   "}, "may not be blank"),
    api_return_case("api return null reason", {"reason": None}, "may not be null"),
    api_return_case("api return reason as number", {"reason": 42}, "Not a valid string"),
    api_return_case("api return reason as list", {"reason": ["Lengkapi."]}, "Not a valid string"),
    api_return_case("api return reason as dict", {"reason": {"id": "x"}}, "Not a valid string"),
    api_return_case(
        "api return huge reason", {"reason": LONG_REASON}, "no more than 5000 characters"
    ),
    api_return_case("api return lone surrogate in reason", {"reason": "\udfff"}, SURROGATE),
    api_return_case(
        "api return NUL in reason", {"reason": "a\x00"}, "Null characters are not allowed"
    ),
    api_return_case(
        "api return a draft answer",
        {"reason": "Lengkapi."},
        "You cannot return for revision an answer that is draft",
        target="draft",
    ),
    api_return_case("api return a missing id", {"reason": "x"}, API_NOT_FOUND, target="missing"),
    # --- submit an assessment
    api_submit_case("api submit with incomplete answers", {}, "are not complete yet"),
    api_submit_case("api submit agency as number", {"agency": 5}, "no agency with this slug"),
    api_submit_case("api submit agency as list", {"agency": ["diskominfo"]}, 'valid "slug"'),
    api_submit_case("api submit agency not a slug", {"agency": "../etc"}, "valid"),
    api_submit_case(
        "api submit another agency", {"agency": "dinkes"}, "You are not allowed to do this"
    ),
    api_submit_case("api submit body is a list", ["diskominfo"], "Expected a dictionary"),
    api_submit_case("api submit a foreign assessment", {}, API_NOT_FOUND, target="assessment_b"),
    api_submit_case("api submit a twenty-digit id", {}, API_NOT_FOUND, target=TWENTY_DIGITS),
    api_submit_case("api submit a negative id", {}, API_NOT_FOUND, target="-1"),
    # --- open a cycle
    cycle_case("api cycle year as text", {"year": "abc"}, INTEGER),
    cycle_case("api cycle year out of range", {"year": 1999}, "greater than or equal to 2000"),
    cycle_case("api cycle regions as a string", {"regions": "3374"}, "Expected a list of items"),
    cycle_case("api cycle no regions", {"regions": []}, "Choose at least one region"),
    cycle_case("api cycle unknown region", {"regions": ["9999"]}, "does not exist"),
    cycle_case("api cycle region as dict", {"regions": [{"code": "3374"}]}, "does not exist"),
    cycle_case("api cycle framework as text", {"framework": "abc"}, "Incorrect type"),
    cycle_case("api cycle missing framework id", {"framework": MISSING_ID}, "Invalid pk"),
    cycle_case(
        "api cycle twenty-digit framework id", {"framework": int(TWENTY_DIGITS)}, "Invalid pk"
    ),
    cycle_case("api cycle date not a date", {"entry_deadline": "kemarin"}, "Date has wrong format"),
    cycle_case(
        "api cycle review before entry",
        {"review_deadline": "2031-02-01"},
        "cannot precede the entry deadline",
    ),
    cycle_case("api cycle name too long", {"name": "n" * 201}, "no more than 200 characters"),
    cycle_case("api cycle lone surrogate in name", {"name": "Siklus \ud83d"}, SURROGATE),
    cycle_case("api cycle NUL in name", {"name": "Siklus\x00"}, "Null characters are not allowed"),
    cycle_case("api cycle missing fields", lambda w: {}, "This field is required"),
    cycle_case("api cycle body is a list", lambda w: [cycle_body(w)], "Expected a dictionary"),
    cycle_case(
        "api cycle opened by an operator", {}, "You do not have permission", actor="operator_a"
    ),
    # --- token
    token_case("api token without password", {"username": "op-a"}, "This field is required"),
    token_case(
        "api token wrong password",
        {"username": "op-a", "password": "salah"},
        "The username or password is not correct",
    ),
    token_case(
        "api token username as list",
        {"username": ["op-a"], "password": PASSWORD},
        "Not a valid string",
    ),
    token_case(
        "api token password as dict",
        {"username": "op-a", "password": {"p": 1}},
        "Not a valid string",
    ),
    token_case(
        "api token NUL in username",
        {"username": "op-a\x00", "password": PASSWORD},
        "Null characters are not allowed",
    ),
    token_case(
        "api token lone surrogate in username",
        {"username": "op-a\ud800", "password": PASSWORD},
        SURROGATE,
    ),
    token_case(
        "api token username too long",
        {"username": "u" * 151, "password": PASSWORD},
        "no more than 150 characters",
    ),
    token_case(
        "api token body is a list",
        [{"username": "op-a", "password": PASSWORD}],
        "Expected a dictionary",
    ),
    token_case(
        "api token body is not json",
        b'{"username":',
        "JSON parse error",
        body="raw",
        content_type="application/json",
    ),
]

CORPUS = FORM_CASES + API_CASES
BY_NAME = {case.name: case for case in CORPUS}
assert len(BY_NAME) == len(CORPUS), "case names must be unique"

# Sent once more in Indonesian: the message must exist and have the right shape.
INDONESIAN = [
    "form level out of range",
    "upload shell script named .pdf",
    "review return without reason",
    "form foreign answer id",
    "api level as text",
    "api verify different level without reason",
    "api token wrong password",
]


# --------------------------------------------------------------------------- sending


def _client(case: Case, w: SimpleNamespace, language: str):
    user = getattr(w.cast, case.actor) if case.actor else None
    if case.channel == "api":
        client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
        if user is not None:
            token, _created = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        client.force_login(user)
    return client


def send(case: Case, w: SimpleNamespace, client, language: str):
    path = case.url(w)
    if case.channel == "form" and language == "en":
        path = f"/en{path}"
    payload = case.payload(w) if callable(case.payload) else case.payload
    headers = {"HTTP_HX_REQUEST": "true"} if case.htmx else {}
    if case.body == "raw":
        return client.generic(
            case.method.upper(), path, payload, content_type=case.content_type, **headers
        )
    if case.body == "urlencoded":
        return client.generic(
            case.method.upper(),
            path,
            urlencode(payload, doseq=True),
            content_type="application/x-www-form-urlencoded",
            **headers,
        )
    if case.body == "json":
        return client.generic(
            case.method.upper(), path, json.dumps(payload), content_type="application/json"
        )
    if case.channel == "api":
        return getattr(client, case.method)(path, payload, format="multipart")
    return getattr(client, case.method)(path, payload, **headers)


def api_error(response) -> dict:
    """The one error shape of the API, checked; returns the error object."""
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"].strip()
    assert isinstance(error["fields"], dict)
    for messages in error["fields"].values():
        assert messages and all(isinstance(m, str) and m.strip() for m in messages)
    return error


def refusal_text(case: Case, response) -> str:
    """Check the status rule of the module docstring; return the text the user reads."""
    status = response.status_code
    assert status < 500, f"{case}: server error {status}"
    if case.channel == "api":
        assert 400 <= status < 500, f"{case}: {status} {response.content[:300]!r}"
        error = api_error(response)
        return " ".join([error["message"], *(m for ms in error["fields"].values() for m in ms)])
    page_html = response.content.decode()
    assert status == 200 or 400 <= status < 500, f"{case}: {status}"
    if status == 200:
        assert any(marker in page_html for marker in ERROR_MARKERS), f"{case}: 200, no error"
    return html.unescape(page_html)


@pytest.fixture
def apply_settings(settings):
    def apply(case: Case) -> None:
        for name, value in case.settings:
            setattr(settings, name, value)

    return apply


def with_gaps(cases: list[Case]) -> list:
    return [
        pytest.param(case, marks=pytest.mark.xfail(strict=True, reason=case.gap))
        if case.gap
        else case
        for case in cases
    ]


@pytest.mark.parametrize("case", with_gaps(CORPUS), ids=str)
def test_bad_input_is_refused_with_a_message_and_changes_nothing(case, world, apply_settings):
    apply_settings(case)
    client = _client(case, world, "en")
    before = snapshot()

    response = send(case, world, client, "en")

    text = refusal_text(case, response)
    assert case.expect in text, f"{case}: {case.expect!r} not in the answer"
    assert_unchanged(before, snapshot())


@pytest.mark.parametrize("name", INDONESIAN)
def test_an_indonesian_request_is_refused_with_a_message_too(name, world, apply_settings):
    case = BY_NAME[name]
    apply_settings(case)
    client = _client(case, world, "id")
    before = snapshot()

    response = send(case, world, client, "id")

    text = refusal_text(case, response)
    if case.channel == "form":
        assert '<html lang="id">' in text  # the page is in Indonesian, whatever was translated
    else:
        assert response["Content-Language"] == "id"
    assert text.strip()
    assert_unchanged(before, snapshot())


def test_a_traversal_name_never_reaches_outside_the_private_folder(world, client):
    """A valid file with a path in its name is stored under a random name inside the private
    folder; the name shown keeps only its last part, and nothing lands beside the folder."""
    client.force_login(world.cast.operator_a)
    url = "/en" + page("answer_evidence_add")(world)
    response = client.post(url, {"file": upload("../../../../../escaped.pdf", PDF)})

    assert response.status_code == 302
    evidence = Evidence.objects.get(answer=world.draft)
    assert evidence.original_name == "escaped.pdf"
    assert ".." not in evidence.file.name and not evidence.file.name.endswith("escaped.pdf")
    private_root = Path(world.private_root).resolve()
    stored = Path(evidence.file.path).resolve()
    assert stored.is_relative_to(private_root) and stored.read_bytes() == PDF
    around = [p for p in private_root.parent.rglob("*") if p.is_file()]
    assert around == [stored]


# --------------------------------------------------------------------------- valid unicode

# Right-to-left mark, an Arabic word, a zero-width joiner inside an emoji sequence, a
# zero-width non-joiner, a decomposed "é" (normalised to NFC by the services) and markup that
# must come out escaped.
VALID_UNICODE = (
    "Layanan \u200fمرحبا\u200f daring 👩\u200d💻 ber\u200cjalan, cafe\u0301 🇮🇩 "
    "<b>tebal</b> & <script>alert(1)</script>"
)
STORED = unicodedata.normalize("NFC", VALID_UNICODE)


def test_valid_unicode_is_stored_intact_through_the_form_and_shown_escaped(world, client):
    client.force_login(world.cast.operator_a)
    url = "/en" + page("answer_detail")(world)

    response = client.post(url, answer_form(justification=VALID_UNICODE))

    assert response.status_code == 302
    answer = Answer.objects.get(pk=world.draft.pk)
    assert answer.justification == STORED
    assert "café" in answer.justification and "\u200d" in answer.justification
    page_html = client.get(url).content.decode()
    assert html.escape(STORED, quote=False) in page_html
    assert "<script>alert(1)</script>" not in page_html
    assert "\u200fمرحبا\u200f" in page_html and "👩\u200d💻" in page_html


def test_valid_unicode_is_stored_intact_through_the_api(world):
    client = _client(patch_case("x", {}, ""), world, "en")

    response = client.patch(
        f"/api/v1/answers/{world.draft.pk}/",
        {"version": 1, "justification": VALID_UNICODE},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["justification"] == STORED
    assert Answer.objects.get(pk=world.draft.pk).justification == STORED


def test_valid_unicode_in_a_return_reason_and_a_comment_is_kept(world, client):
    client.force_login(world.cast.reviewer)
    url = "/en" + page("review_answer_return", "submitted")(world)

    response = client.post(url, {"reason": VALID_UNICODE, "comment": "👍 \u200fشكرا"})

    assert response.status_code == 302
    answer = Answer.objects.get(pk=world.submitted.pk)
    assert answer.return_reason == STORED
    assert Comment.objects.get(answer=answer).body == "👍 \u200fشكرا"
    client.force_login(world.cast.operator_a)
    page_html = client.get("/en" + page("answer_detail", "submitted")(world)).content.decode()
    assert html.escape(STORED, quote=False) in page_html


def test_an_emoji_file_name_is_kept_and_invisible_controls_are_dropped(world, client):
    client.force_login(world.cast.operator_a)
    url = "/en" + page("answer_evidence_add")(world)

    response = client.post(url, {"file": upload("laporan 📄 \u200fتقرير.pdf", PDF)})

    assert response.status_code == 302
    evidence = Evidence.objects.get(answer=world.draft)
    # The right-to-left mark is a format character: a file name must not reorder itself.
    assert evidence.original_name == "laporan 📄 تقرير.pdf"
