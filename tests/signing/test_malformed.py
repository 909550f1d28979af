"""Bad input to any public function is an InvalidPdf with a clear message, never another exception."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from reportlab.lib.pdfencrypt import StandardEncryption

from app.signing import keys, pdf, verify
from tests.signing.conftest import NOW, make_draft


def _inputs() -> dict[str, tuple[bytes | Callable[[bytes], bytes], str]]:
    rng = random.Random(30)
    return {
        "empty": (b"", pdf.EMPTY),
        "random-bytes": (rng.randbytes(4096), pdf.NOT_A_PDF),
        "html": (b"<!DOCTYPE html><html><body><h1>404</h1></body></html>", pdf.NOT_A_PDF),
        "header-only": (b"%PDF-1.7\n", pdf.DAMAGED),
        "header-and-noise": (b"%PDF-1.7\n" + rng.randbytes(4096), pdf.DAMAGED),
        "signed-cut-at-60%": (lambda signed: signed[: len(signed) * 6 // 10], pdf.DAMAGED),
        "signed-without-its-end": (lambda signed: signed[:-200], pdf.DAMAGED),
        "password-protected": (
            make_draft(1, encrypt=StandardEncryption("user-secret", ownerPassword="owner-secret")),
            pdf.ENCRYPTED,
        ),
    }


def _operations(signer: keys.Signer, cert_der: bytes) -> dict[str, Callable[[bytes], Any]]:
    return {
        "verify_pdf": lambda data: verify.verify_pdf(data, trust_roots=[], crls=[]),
        "prepare_draft": pdf.prepare_draft,
        "sign_personal": lambda data: pdf.sign_personal(
            data, signer, full_name="A", position="B", agency_name="C", signed_at=NOW, image_png=None
        ),
        "seal_agency": lambda data: pdf.seal_agency(
            data, signer, number="1/QĐ", date_line="D", seal_png=None, signed_at=NOW
        ),
        "seal_appendix": lambda data: pdf.seal_appendix(data, signer, number="1/QĐ", signed_at=NOW),
        "seal_copy": lambda data: pdf.seal_copy(data, signer, agency_name="C", signed_at=NOW),
        "prepare_external": lambda data: pdf.prepare_external(
            data,
            cert_der=cert_der,
            chain_der=[],
            full_name="A",
            position="B",
            agency_name="C",
            signed_at=NOW,
            image_png=None,
        ),
        "digitise": lambda data: pdf.digitise([("scan.pdf", data)]),
    }


INPUTS = _inputs()
OPERATIONS = [
    "verify_pdf", "prepare_draft", "sign_personal", "seal_agency", "seal_appendix", "seal_copy", "prepare_external",
    "digitise",
]  # fmt: skip


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("name", list(INPUTS))
def test_malformed_input_raises_invalid_pdf_with_a_clear_message(
    name: str, operation: str, leader: keys.Signer, sealed: bytes
) -> None:
    data, message = INPUTS[name]
    document = data(sealed) if callable(data) else data
    if operation == "digitise" and message == pdf.NOT_A_PDF:
        message = "A file is neither a PDF nor a PNG, JPEG or TIFF image."  # not a PDF: it is taken for an image
    cert_der = leader.signing_cert.dump()

    with pytest.raises(pdf.InvalidPdf) as raised:
        _operations(leader, cert_der)[operation](document)

    assert raised.value.message == message


def test_random_byte_changes_in_a_signed_document_never_validate_nor_crash(sealed: bytes, draft: bytes) -> None:
    rng = random.Random(2026)
    roots, outcomes = [], set()
    for _ in range(25):
        position = rng.randrange(len(draft))  # inside the first revision, which both signatures cover
        mutated = bytearray(sealed)
        mutated[position] = (mutated[position] + rng.randrange(1, 256)) % 256
        try:
            result = verify.verify_pdf(bytes(mutated), trust_roots=roots, crls=[])
        except pdf.InvalidPdf as error:
            outcomes.add(error.message)
            continue
        assert not result.all_valid
        outcomes.add("not valid")

    assert outcomes <= {"not valid", pdf.DAMAGED}
