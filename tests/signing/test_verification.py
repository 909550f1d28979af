"""Verification catches changed bytes, later drawing, untrusted, expired and revoked certificates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest

from app.signing import keys, pdf, verify
from app.signing.pki import TestPki
from tests.signing.conftest import NOW, Trust


def test_one_flipped_byte_makes_every_signature_fail_as_changed(sealed: bytes, trust: Trust) -> None:
    position = sealed.index(b"ReportLab")  # inside the first revision, which both signatures cover
    tampered = sealed[:position] + b"X" + sealed[position + 1 :]

    result = trust.verify(tampered)

    assert not result.all_valid
    assert [report.problem for report in result.signatures] == [verify.CHANGED, verify.CHANGED]
    assert not any(report.is_intact for report in result.signatures)


def test_drawing_on_the_page_after_signing_breaks_the_signature(leader_signed: bytes, trust: Trust) -> None:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(BytesIO(leader_signed), strict=False)
    drawing = writer.add_object(generic.StreamObject(stream_data=b"1 0 0 rg 100 100 200 50 re f"))
    writer.add_stream_to_page(0, drawing)
    output = BytesIO()
    writer.write(output)

    (report,) = trust.verify(output.getvalue()).signatures

    assert report.is_intact and report.is_valid and report.is_trusted  # the signed revision itself is fine...
    assert not report.covers_whole_document  # ...but it covers only an earlier revision
    assert report.is_changed_after_signing and not report.bottom_line
    assert report.problem == verify.ILLEGAL_MODIFICATION


def test_certificate_from_an_untrusted_root_fails(
    draft: bytes,
    test_pki: TestPki,
    load_signer: Callable[[Path], keys.Signer],
    trust: Trust,
    sign_as_leader: Callable[..., bytes],
) -> None:
    signed = sign_as_leader(draft, load_signer(test_pki.rogue_p12))

    (report,) = trust.verify(signed).signatures

    assert report.is_intact and report.is_valid and not report.is_trusted and not report.is_revoked
    assert (report.issuer, report.problem) == ("Rogue Root CA", verify.UNTRUSTED)


def test_expired_certificate_fails(
    draft: bytes,
    test_pki: TestPki,
    load_signer: Callable[[Path], keys.Signer],
    trust: Trust,
    sign_as_leader: Callable[..., bytes],
) -> None:
    signed = sign_as_leader(draft, load_signer(test_pki.expired_p12))

    (report,) = trust.verify(signed).signatures

    assert report.is_expired_now and not report.is_trusted and not report.bottom_line
    assert report.problem == verify.EXPIRED


def test_revoked_certificate_fails_under_hard_fail_with_the_crl(
    draft: bytes,
    test_pki: TestPki,
    load_signer: Callable[[Path], keys.Signer],
    trust: Trust,
    sign_as_leader: Callable[..., bytes],
) -> None:
    signed = sign_as_leader(draft, load_signer(test_pki.revoked_p12))

    (report,) = trust.verify(signed).signatures

    assert report.is_revoked and not report.is_trusted and not report.bottom_line
    assert report.problem == verify.REVOKED


def test_without_crls_no_certificate_is_trusted(leader_signed: bytes, trust: Trust) -> None:
    result = verify.verify_pdf(leader_signed, trust_roots=trust.roots, crls=[], at=NOW + timedelta(minutes=5))

    (report,) = result.signatures
    assert not report.is_trusted and not result.all_valid  # hard-fail: unknown revocation status is a failure


def test_a_good_signature_checked_years_later_has_an_expired_certificate(leader_signed: bytes, trust: Trust) -> None:
    (report,) = trust.verify(leader_signed, at=NOW + timedelta(days=800)).signatures

    assert report.is_expired_now and report.problem == verify.EXPIRED


def test_an_unsigned_pdf_is_reported_as_not_signed(draft: bytes, trust: Trust) -> None:
    result = trust.verify(draft)

    assert (result.is_signed, result.all_valid, result.signatures) == (False, False, [])


def test_trust_roots_that_do_not_parse_are_refused(leader_signed: bytes) -> None:
    with pytest.raises(keys.SigningFailure) as raised:
        verify.verify_pdf(leader_signed, trust_roots=[b"garbage"], crls=[])

    assert raised.value.message == verify.BAD_TRUST_SETTINGS


def test_an_encrypted_pdf_that_opens_without_a_password_is_verified(trust: Trust) -> None:
    from reportlab.lib.pdfencrypt import StandardEncryption

    from tests.signing.conftest import make_draft

    opens_freely = make_draft(1, encrypt=StandardEncryption("", ownerPassword="owner"))

    assert trust.verify(opens_freely).is_signed is False
    with pytest.raises(pdf.InvalidPdf):
        pdf.prepare_draft(opens_freely)  # signing would need the owner password
