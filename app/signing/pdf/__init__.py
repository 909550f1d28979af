"""Signing outgoing PDFs as Nghị định 30/2020 Phụ lục I lays them out: the leader, the agency seal, copies."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

from asn1crypto import cms
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from pyhanko.pdf_utils import layout
from pyhanko.pdf_utils.form_tools import populate_static_text_field
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest

from app.signing.images import UnreadableImage, images_to_pdf, is_pdf
from app.signing.keys import SigningFailure
from app.signing.pdf.appearance import (
    CORNER_BOX_SIZE,
    CORNER_FONT_SIZE,
    CORNER_MARGINS,
    DATE_RECT,
    FIELD_BASELINE,
    FIELD_FONT_SIZE,
    FONT,
    MM,
    NUMBER_RECT,
    PERSONAL_BOX,
    PERSONAL_FONT_SIZE,
    PERSONAL_LEADING,
    PERSONAL_TEXT_BAND,
    SEAL_WIDTH,
    SIGNATURE_IMAGE_LAYOUT,
    VIETNAMESE_CODEPOINTS,
    Rect,
    _corner_style,
    _field_style,
    _personal_params,
    _personal_style,
    _seal_style,
    _stamp_image,
)
from app.signing.pdf.errors import (
    ALREADY_SIGNED_HERE,
    APPEARANCE_TOO_BIG,
    BAD_IMAGE,
    DAMAGED,
    EMPTY,
    ENCRYPTED,
    FIELDS_AFTER_SIGNING,
    NO_NUMBER_FIELDS,
    NO_SUCH_PAGE,
    NOT_A_PDF,
    NOTHING_TO_DIGITISE,
    NUMBER_ALREADY_FILLED,
    ONLY_RSA,
    SIGNING_FAILED,
    TOKEN_SIGNATURE_MISMATCH,
    InvalidPdf,
    _open_writer,
    _write,
    mapped_errors,
    read_pdf,
)
from app.signing.pdf.external import ExternalPreparation, _certificates, _external_signer, _pem, _pem_blocks
from app.signing.pdf.placement import (
    AGENCY_FIELD,
    APPENDIX_FIELD,
    COPY_FIELD,
    DATE_FIELD,
    NUMBER_FIELD,
    PERSONAL_FIELD,
    _add_text_field,
    _corner_box,
    _field_names,
    _field_spec,
    _page_index,
    _seal_placement,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")

PERSONAL_REASON = "Ký duyệt văn bản"
AGENCY_REASON = "Ban hành văn bản"
APPENDIX_REASON = "Ký số phụ lục văn bản"

__all__ = [
    "AGENCY_FIELD",
    "AGENCY_REASON",
    "ALREADY_SIGNED_HERE",
    "APPEARANCE_TOO_BIG",
    "APPENDIX_FIELD",
    "APPENDIX_REASON",
    "BAD_IMAGE",
    "COPY_FIELD",
    "CORNER_BOX_SIZE",
    "CORNER_FONT_SIZE",
    "CORNER_MARGINS",
    "DAMAGED",
    "DATE_FIELD",
    "DATE_RECT",
    "EMPTY",
    "ENCRYPTED",
    "FIELDS_AFTER_SIGNING",
    "FIELD_BASELINE",
    "FIELD_FONT_SIZE",
    "FONT",
    "MM",
    "NOTHING_TO_DIGITISE",
    "NOT_A_PDF",
    "NO_NUMBER_FIELDS",
    "NO_SUCH_PAGE",
    "NUMBER_ALREADY_FILLED",
    "NUMBER_FIELD",
    "NUMBER_RECT",
    "ONLY_RSA",
    "PERSONAL_BOX",
    "PERSONAL_FIELD",
    "PERSONAL_FONT_SIZE",
    "PERSONAL_LEADING",
    "PERSONAL_REASON",
    "PERSONAL_TEXT_BAND",
    "SEAL_WIDTH",
    "SIGNATURE_IMAGE_LAYOUT",
    "SIGNING_FAILED",
    "TOKEN_SIGNATURE_MISMATCH",
    "VIETNAMESE_CODEPOINTS",
    "VN",
    "ExternalPreparation",
    "InvalidPdf",
    "Rect",
    "digitise",
    "finish_external",
    "mapped_errors",
    "prepare_draft",
    "prepare_external",
    "read_pdf",
    "seal_agency",
    "seal_appendix",
    "seal_copy",
    "sign_personal",
]


class _ClockedPdfSigner(signers.PdfSigner):
    """A PdfSigner whose signing time comes from the caller: pyHanko otherwise reads the process clock."""

    def __init__(self, *args: Any, signed_at: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.signed_at = signed_at

    def init_signing_session(self, pdf_out: Any, existing_fields_only: bool = False) -> Any:
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        session.system_time = self.signed_at  # becomes /M, the stamp's %(ts)s and, outside PAdES, signingTime
        return session


def prepare_draft(pdf: bytes, *, number_rect: Rect = NUMBER_RECT, date_rect: Rect = DATE_RECT) -> bytes:
    """Add the empty number (ô 3) and date (ô 4) fields to page 1 so the clerk can fill them after signing."""
    writer = _open_writer(pdf)
    with mapped_errors(InvalidPdf):
        present = _field_names(writer)
        wanted = ((NUMBER_FIELD, number_rect), (DATE_FIELD, date_rect))
        missing = [(name, rect) for name, rect in wanted if name not in present]
        if not missing:
            return pdf
        if any(kind == "/Sig" and value for kind, value in present.values()):
            raise SigningFailure(FIELDS_AFTER_SIGNING)
        for name, rect in missing:
            _add_text_field(writer, name, rect)
        return _write(writer)


def sign_personal(
    pdf: bytes,
    signer: signers.Signer,
    *,
    full_name: str,
    position: str,
    agency_name: str,
    signed_at: datetime,
    image_png: bytes | None,
    page: int = -1,
    box: Rect | None = None,
    field_name: str = PERSONAL_FIELD,
) -> bytes:
    """The competent person's visible approval signature: blue image and four lines in ô 7c (Điều 13.7)."""
    image = _stamp_image(image_png)
    writer = _open_writer(pdf)
    page_index = _page_index(writer, page)
    local = _vietnam_time(signed_at)
    with mapped_errors(SigningFailure):
        pdf_signer = _ClockedPdfSigner(
            _metadata(field_name, PERSONAL_REASON),
            signer,
            signed_at=local,
            stamp_style=_personal_style(image),
            new_field_spec=_field_spec(field_name, page_index, box or PERSONAL_BOX),
        )
        params = _personal_params(full_name, position, agency_name, local)
        return _write(pdf_signer.sign_pdf(writer, appearance_text_params=params))


def seal_agency(
    pdf: bytes,
    signer: signers.Signer,
    *,
    number: str,
    date_line: str,
    seal_png: bytes | None,
    signed_at: datetime,
    field_name: str = AGENCY_FIELD,
) -> bytes:
    """Fill the number and date fields and add the agency's seal over the leader's signature (Phụ lục I II.8a)."""
    seal = _stamp_image(seal_png)
    writer = _open_writer(pdf)
    with mapped_errors(InvalidPdf):
        present = _field_names(writer)
        if NUMBER_FIELD not in present or DATE_FIELD not in present:
            raise SigningFailure(NO_NUMBER_FIELDS)
        if present[NUMBER_FIELD][1] or present[DATE_FIELD][1]:
            raise SigningFailure(NUMBER_ALREADY_FILLED)
        page, box = _seal_placement(writer, seal)
    with mapped_errors(SigningFailure):
        # Filling fields that existed before the leader signed is what keeps the leader's signature valid.
        populate_static_text_field(writer, NUMBER_FIELD, _field_style(layout.AxisAlignment.ALIGN_MIN), number)
        populate_static_text_field(writer, DATE_FIELD, _field_style(layout.AxisAlignment.ALIGN_MID), date_line)
        pdf_signer = _ClockedPdfSigner(
            _metadata(field_name, f"{AGENCY_REASON} {number}"),
            signer,
            signed_at=_vietnam_time(signed_at),
            stamp_style=_seal_style(seal) if seal else None,
            new_field_spec=_field_spec(field_name, page, box if seal else None),
        )
        return _write(pdf_signer.sign_pdf(writer))


def seal_appendix(pdf: bytes, signer: signers.Signer, *, number: str, signed_at: datetime) -> bytes:
    """The agency's signature on an appendix in its own file: number and ISO time top right (Phụ lục I II.8b)."""
    local = _vietnam_time(signed_at)
    text = ("%(number)s", "%(signed_at)s")
    return _seal_corner(
        pdf, signer, APPENDIX_FIELD, f"{APPENDIX_REASON} {number}", local, text,
        {"number": number, "signed_at": local.isoformat(timespec="seconds")},
    )  # fmt: skip


def digitise(files: list[tuple[str, bytes]]) -> bytes:
    """One PDF of digitised paper: a single PDF as it is, or images combined at ≥ 200 dpi (Phụ lục I Phần II I.2)."""
    if not files:
        raise InvalidPdf(NOTHING_TO_DIGITISE)
    if any(not data for _name, data in files):
        raise InvalidPdf(EMPTY)
    pdfs = [data for _name, data in files if is_pdf(data)]
    if pdfs:
        if len(files) != 1:
            raise InvalidPdf(NOTHING_TO_DIGITISE)
        read_pdf(pdfs[0])
        return pdfs[0]
    try:
        return images_to_pdf([data for _name, data in files])
    except UnreadableImage as error:
        raise InvalidPdf(error.message, detail=error.detail) from error


def seal_copy(
    pdf: bytes, signer: signers.Signer, *, agency_name: str, signed_at: datetime, label: str = "BẢN SỐ HÓA"
) -> bytes:
    """The agency's signature on a copy or digitised paper: label, agency and ISO time in ô 14 (Phụ lục I I.3)."""
    local = _vietnam_time(signed_at)
    text = ("%(label)s", "%(agency_name)s", "%(signed_at)s")
    params = {"label": label, "agency_name": agency_name, "signed_at": local.isoformat(timespec="seconds")}
    return _seal_corner(pdf, signer, COPY_FIELD, label, local, text, params)


def prepare_external(
    pdf: bytes,
    *,
    cert_der: bytes,
    chain_der: list[bytes],
    full_name: str,
    position: str,
    agency_name: str,
    signed_at: datetime,
    image_png: bytes | None,
    page: int = -1,
    box: Rect | None = None,
    field_name: str = PERSONAL_FIELD,
) -> ExternalPreparation:
    """Lay out the personal signature and return what the signer's token must sign (pyHanko interrupted signing)."""
    cert, chain = _certificates(cert_der, chain_der)
    if cert.public_key.algorithm != "rsa":
        raise SigningFailure(ONLY_RSA)
    image = _stamp_image(image_png)
    writer = _open_writer(pdf)
    local = _vietnam_time(signed_at)
    external = _external_signer(cert, chain, bytes(cert.public_key.bit_size // 8))
    pdf_signer = _ClockedPdfSigner(
        _metadata(field_name, PERSONAL_REASON),
        external,
        signed_at=local,
        stamp_style=_personal_style(image),
        new_field_spec=_field_spec(field_name, _page_index(writer, page), box or PERSONAL_BOX),
    )
    params = _personal_params(full_name, position, agency_name, local)

    async def digest() -> tuple[Any, Any, Any]:
        prepared, _tbs, output = await pdf_signer.async_digest_doc_for_signing(writer, appearance_text_params=params)
        attrs = await external.signed_attrs(prepared.document_digest, "sha256", use_pades=True)
        return prepared, output, attrs

    with mapped_errors(SigningFailure):
        prepared, output, attrs = asyncio.run(digest())
        signed_attrs = attrs.dump()
        return ExternalPreparation(
            pdf=output.getvalue(),
            document_digest=prepared.document_digest,
            reserved_region_start=prepared.reserved_region_start,
            reserved_region_end=prepared.reserved_region_end,
            signed_attrs=signed_attrs,
            hash_to_sign=hashlib.sha256(signed_attrs).digest(),
            cert_der=cert.dump(),
            chain_pem=b"".join(_pem(c) for c in chain),
        )


def finish_external(preparation: ExternalPreparation, signature_value: bytes) -> bytes:
    """Embed the token's RSA signature of `hash_to_sign`; a signature that does not verify is refused."""
    cert, chain = _certificates(preparation.cert_der, _pem_blocks(preparation.chain_pem))
    public_key = serialization.load_der_public_key(cert.public_key.dump())
    if not isinstance(public_key, rsa.RSAPublicKey) or hashlib.sha256(preparation.signed_attrs).digest() != (
        preparation.hash_to_sign
    ):
        raise SigningFailure(TOKEN_SIGNATURE_MISMATCH)
    try:
        public_key.verify(signature_value, preparation.hash_to_sign, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    except (InvalidSignature, ValueError) as error:
        raise SigningFailure(TOKEN_SIGNATURE_MISMATCH) from error
    external = _external_signer(cert, chain, signature_value)
    with mapped_errors(SigningFailure):
        attrs = cms.CMSAttributes.load(preparation.signed_attrs)
        signed_data = asyncio.run(external.async_sign_prescribed_attributes("sha256", signed_attrs=attrs))
        output = BytesIO(preparation.pdf)
        PreparedByteRangeDigest(
            preparation.document_digest, preparation.reserved_region_start, preparation.reserved_region_end
        ).fill_with_cms(output, signed_data)
        return output.getvalue()


def _seal_corner(
    pdf: bytes,
    signer: signers.Signer,
    field_name: str,
    reason: str,
    local: datetime,
    lines: tuple[str, ...],
    params: dict[str, str],
) -> bytes:
    writer = _open_writer(pdf)
    box = _corner_box(writer)
    style = _corner_style(lines)
    with mapped_errors(SigningFailure):
        pdf_signer = _ClockedPdfSigner(
            _metadata(field_name, reason),
            signer,
            signed_at=local,
            stamp_style=style,
            new_field_spec=_field_spec(field_name, 0, box),
        )
        return _write(pdf_signer.sign_pdf(writer, appearance_text_params=params))


# --- plumbing ----------------------------------------------------------------------------------------------


def _metadata(field_name: str, reason: str) -> signers.PdfSignatureMetadata:
    return signers.PdfSignatureMetadata(
        field_name=field_name, reason=reason, subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256"
    )


def _vietnam_time(moment: datetime) -> datetime:
    # A naive time is Vietnam time, as app.clock reads it.
    return moment.replace(tzinfo=VN) if moment.tzinfo is None else moment.astimezone(VN)
