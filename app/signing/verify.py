"""Verifying the signatures of a PDF against explicit trust roots and CRLs, offline and hard-failing."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.ades.report import AdESIndeterminate
from pyhanko.sign.general import CMSExtractionError
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from app.errors import N_
from app.signing.keys import SigningFailure
from app.signing.pdf import InvalidPdf, mapped_errors, read_pdf
from app.signing.pki import load_pem_or_der_cert

CHANGED = N_("The document was changed after it was signed.")
CRYPTO_INVALID = N_("The signature is not cryptographically valid.")
UNREADABLE_SIGNATURE = N_("The signature data is damaged and cannot be read.")
REVOKED = N_("The certificate was revoked.")
EXPIRED = N_("The certificate has expired.")
UNTRUSTED = N_("The certificate does not chain to a trusted root.")
ILLEGAL_MODIFICATION = N_("The document was modified after signing in a way the signature does not allow.")
NOT_VALIDATED = N_("The signature could not be validated.")
BAD_TRUST_SETTINGS = N_("A trusted root certificate or CRL could not be read.")

# Certificates of Vietnamese agencies do not all carry nonRepudiation; pyHanko demands it unless told otherwise.
KEY_USAGE = KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False)
EXPIRY_INDICATIONS = frozenset(
    {AdESIndeterminate.OUT_OF_BOUNDS_NO_POE, AdESIndeterminate.OUT_OF_BOUNDS_NOT_REVOKED, AdESIndeterminate.EXPIRED}
)
NOISY_LOGGERS = ("pyhanko", "pyhanko_certvalidator", "fontTools.subset", "fontTools.ttLib")


@dataclass(frozen=True)
class SignatureReport:
    field_name: str
    signer_name: str
    organization: str
    serial: str
    issuer: str
    signing_time: datetime | None  # claimed by the signer: not proof
    timestamp: datetime | None  # from an RFC 3161 timestamp token, when there is one
    is_intact: bool
    is_valid: bool
    is_trusted: bool
    is_revoked: bool
    is_expired_now: bool
    covers_whole_document: bool
    is_changed_after_signing: bool
    is_document_timestamp: bool
    bottom_line: bool
    summary: str
    problem: str | None


@dataclass(frozen=True)
class PdfVerification:
    signatures: list[SignatureReport]
    is_signed: bool
    all_valid: bool


def quiet_logs() -> None:
    """Lower pyHanko's loggers: they log expected validation failures as errors, with tracebacks."""
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)


def verify_pdf(
    data: bytes,
    *,
    trust_roots: Sequence[bytes],
    crls: Sequence[bytes],
    at: datetime | None = None,
    other_certs: Sequence[bytes] = (),
) -> PdfVerification:
    """Check every signature of a PDF at `at` (default now); a revoked or unknown-status certificate fails."""
    roots = _certificates(trust_roots)
    intermediates = _certificates(other_certs)
    try:
        revocation_lists = [asn1_crl.CertificateList.load(der) for der in crls]
        for revocation_list in revocation_lists:
            revocation_list.native  # noqa: B018  # parse now: asn1crypto is lazy
    except ValueError as error:
        raise SigningFailure(BAD_TRUST_SETTINGS, detail=str(error)) from error
    moment = (at or datetime.now(UTC)).astimezone(UTC)

    def context() -> ValidationContext:
        # A fresh context per signature: it caches paths and revocation results.
        return ValidationContext(
            trust_roots=roots,
            other_certs=intermediates,
            crls=revocation_lists,
            allow_fetching=False,
            revocation_mode="hard-fail",
            moment=moment,
        )

    reader = read_pdf(data, open_without_password=True)
    with mapped_errors(InvalidPdf):
        reports = [_report(signature, context, moment) for signature in reader.embedded_signatures]
    return PdfVerification(
        signatures=reports,
        is_signed=bool(reports),
        all_valid=bool(reports) and all(report.bottom_line for report in reports),
    )


def _report(signature: Any, context: Callable[[], ValidationContext], moment: datetime) -> SignatureReport:
    field_name = str(getattr(signature, "field_name", ""))
    try:
        cert = signature.signer_cert
    except (CMSExtractionError, ValueError, KeyError):
        cert = None
    status: Any
    try:
        if signature.sig_object_type == "/DocTimeStamp":
            status = validate_pdf_timestamp(signature, validation_context=context())
        else:
            status = validate_pdf_signature(signature, context(), key_usage_settings=KEY_USAGE)
    except (CMSExtractionError, SignatureValidationError) as error:
        return _broken_report(field_name, cert, moment, str(error))
    is_timestamp = signature.sig_object_type == "/DocTimeStamp"
    cert = status.signing_cert
    indication = status.trust_problem_indic
    is_revoked = bool(getattr(status, "revoked", False))
    is_expired_now = not _valid_at(cert, moment)
    is_changed = getattr(status, "docmdp_ok", True) is False
    # A document timestamp's status has no bottom line of its own.
    bottom_line = getattr(status, "bottom_line", status.intact and status.valid and status.trusted and not is_changed)
    if not status.intact:
        problem: str | None = CHANGED
    elif not status.valid:
        problem = CRYPTO_INVALID
    elif is_revoked:
        problem = REVOKED
    elif not status.trusted and (is_expired_now or indication in EXPIRY_INDICATIONS):
        problem = EXPIRED
    elif not status.trusted:
        problem = UNTRUSTED
    elif is_changed:
        problem = ILLEGAL_MODIFICATION
    elif not bottom_line:
        problem = NOT_VALIDATED
    else:
        problem = None
    timestamp_status = getattr(status, "timestamp_validity", None)
    return SignatureReport(
        field_name=field_name,
        signer_name=_name_part(cert.subject, "common_name"),
        organization=_name_part(cert.subject, "organization_name"),
        serial=format(cert.serial_number, "x"),
        issuer=_name_part(cert.issuer, "common_name"),
        signing_time=status.timestamp if is_timestamp else getattr(status, "signer_reported_dt", None),
        timestamp=status.timestamp if is_timestamp else (timestamp_status.timestamp if timestamp_status else None),
        is_intact=bool(status.intact),
        is_valid=bool(status.valid),
        is_trusted=bool(status.trusted),
        is_revoked=is_revoked,
        is_expired_now=is_expired_now,
        covers_whole_document=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        is_changed_after_signing=is_changed,
        is_document_timestamp=is_timestamp,
        bottom_line=bool(bottom_line) and problem is None,
        summary=str(status.summary()),
        problem=problem,
    )


def _broken_report(
    field_name: str, cert: asn1_x509.Certificate | None, moment: datetime, detail: str
) -> SignatureReport:
    return SignatureReport(
        field_name=field_name,
        signer_name=_name_part(cert.subject, "common_name") if cert else "",
        organization=_name_part(cert.subject, "organization_name") if cert else "",
        serial=format(cert.serial_number, "x") if cert else "",
        issuer=_name_part(cert.issuer, "common_name") if cert else "",
        signing_time=None,
        timestamp=None,
        is_intact=False,
        is_valid=False,
        is_trusted=False,
        is_revoked=False,
        is_expired_now=not _valid_at(cert, moment) if cert else False,
        covers_whole_document=False,
        is_changed_after_signing=False,
        is_document_timestamp=False,
        bottom_line=False,
        summary=f"UNREADABLE: {detail}",
        problem=UNREADABLE_SIGNATURE,
    )


def _certificates(items: Sequence[bytes]) -> list[asn1_x509.Certificate]:
    try:
        return [
            asn1_x509.Certificate.load(load_pem_or_der_cert(item).public_bytes(serialization.Encoding.DER))
            for item in items
        ]
    except ValueError as error:
        raise SigningFailure(BAD_TRUST_SETTINGS, detail=str(error)) from error


def _valid_at(cert: asn1_x509.Certificate, moment: datetime) -> bool:
    validity = cert["tbs_certificate"]["validity"]
    return bool(validity["not_before"].native <= moment <= validity["not_after"].native)


def _name_part(name: asn1_x509.Name, key: str) -> str:
    value = name.native.get(key, "")
    return str(value[-1] if isinstance(value, list) else value)
