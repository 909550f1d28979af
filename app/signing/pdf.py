"""Signing outgoing PDFs as Nghị định 30/2020 Phụ lục I lays them out: the leader, the agency seal, copies."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from fontTools import subset
from fontTools.ttLib import TTFont
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.crypt.api import AuthStatus, PdfKeyNotAvailableError
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory
from pyhanko.pdf_utils.form_tools import enumerate_fields_in, populate_static_text_field
from pyhanko.pdf_utils.generic import pdf_name, pdf_string
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import LayoutError
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.stamp import StaticStampStyle, TextStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore

from app.errors import N_
from app.signing.images import BAD_STAMP, UnreadableImage, images_to_pdf, is_pdf, open_stamp_image
from app.signing.keys import TOKEN_FAILED, UNREADABLE_CERT, SigningFailure
from app.signing.pki import load_pem_or_der_cert

logger = logging.getLogger(__name__)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
MM = 72 / 25.4
FONT = Path(__file__).parent / "fonts" / "NotoSerif-Regular.ttf"  # 1000 units/em: pyHanko mis-spaces others

# Latin, Latin-1 and Extended-A, ơ/ư, combining marks, Vietnamese precomposed letters, punctuation, ₫ € № ™.
VIETNAMESE_CODEPOINTS = frozenset(
    (*range(0x20, 0x7F), *range(0xA0, 0x180), 0x1A0, 0x1A1, 0x1AF, 0x1B0, *range(0x300, 0x370), *range(0x1EA0, 0x1F00))
).union(range(0x2010, 0x2028), range(0x2030, 0x203B), (0x20AB, 0x20AC, 0x2116, 0x2122))

Rect = tuple[float, float, float, float]  # x1, y1, x2, y2 in points, origin bottom left

NUMBER_FIELD = "so_ky_hieu"
DATE_FIELD = "ngay_ban_hanh"
PERSONAL_FIELD = "ChuKyLanhDao"
AGENCY_FIELD = "ChuKyCoQuan"
APPENDIX_FIELD = "ChuKyCoQuanPhuLuc"
COPY_FIELD = "ChuKyCoQuanBanSao"

# Defaults for an A4 page laid out per Phụ lục I (margins: left 30 mm, right 20 mm, top 20 mm).
# The filled text's baseline sits FIELD_BASELINE pt above a field's bottom: y = 727 for these two.
NUMBER_RECT: Rect = (122.0, 723.0, 270.0, 743.0)  # ô 3: the number, right of the printed "Số:" under ô 2
DATE_RECT: Rect = (280.0, 723.0, 539.0, 743.0)  # ô 4: place and date, under the motto
PERSONAL_BOX: Rect = (300.0, 140.0, 510.0, 240.0)  # ô 7c: between the leader's title and name, last page
FIELD_FONT_SIZE = 13
FIELD_BASELINE = 4  # room for descenders, which a field's appearance would otherwise clip
PERSONAL_FONT_SIZE = 8
PERSONAL_LEADING = 10  # Vietnamese stacks two marks over a capital: a leading of 1.0 makes lines touch
PERSONAL_TEXT_BAND = 44.0  # bottom band of the personal box holding its four text lines; the image sits above
SEAL_WIDTH = 38 * MM  # a round seal at its real size
CORNER_FONT_SIZE = 10  # Phụ lục I II.8b and I.3: 10 pt, upright, black
CORNER_BOX_SIZE = (215.0, 46.0)  # ô 14 / appendix text box, width and height
CORNER_MARGINS = (42.5, 14.0)  # right and top distance of that box from the page corner: inside the top margin

SIGNATURE_IMAGE_LAYOUT = layout.SimpleBoxLayoutRule(
    x_align=layout.AxisAlignment.ALIGN_MID,
    y_align=layout.AxisAlignment.ALIGN_MID,
    margins=layout.Margins(left=0, right=0, top=0, bottom=int(PERSONAL_TEXT_BAND)),
    inner_content_scaling=layout.InnerScaling.STRETCH_TO_FIT,
)

PERSONAL_REASON = "Ký duyệt văn bản"
AGENCY_REASON = "Ban hành văn bản"
APPENDIX_REASON = "Ký số phụ lục văn bản"

EMPTY = N_("The file is empty.")
NOT_A_PDF = N_("The file is not a PDF.")
DAMAGED = N_("The PDF is damaged and cannot be read.")
ENCRYPTED = N_("The PDF is password-protected; remove the password and upload it again.")
NO_NUMBER_FIELDS = N_("The document has no number and date fields; prepare it before the leader signs.")
NUMBER_ALREADY_FILLED = N_("The number and date of this document were already filled in.")
ALREADY_SIGNED_HERE = N_("The document is already signed in this place.")
FIELDS_AFTER_SIGNING = N_("The document is already signed; its number and date fields can no longer be added.")
NO_SUCH_PAGE = N_("The document has no such page.")
SIGNING_FAILED = N_("The document could not be signed.")
BAD_IMAGE = BAD_STAMP
APPEARANCE_TOO_BIG = N_("The signature text does not fit in its box.")
ONLY_RSA = N_("Only RSA certificates can sign at the signer's computer.")
TOKEN_SIGNATURE_MISMATCH = N_("The token's signature does not match this document and certificate; sign again.")
NOTHING_TO_DIGITISE = N_("Upload either one PDF or one or more PNG, JPEG or TIFF images.")


class InvalidPdf(ValueError):
    """Input that is not a usable PDF; `message` is an English sentence for translation, `detail` is for logs."""

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message if not detail else f"{message} ({detail})")
        self.message = message
        self.detail = detail


@dataclass(frozen=True)
class ExternalPreparation:
    """A document waiting for a signature made elsewhere (a USB token at the signer's computer): bytes and ints."""

    pdf: bytes  # the document with the signature placeholder
    document_digest: bytes
    reserved_region_start: int
    reserved_region_end: int
    signed_attrs: bytes  # DER of the CMS signed attributes
    hash_to_sign: bytes  # sha256 of signed_attrs: what the token signs with RSA PKCS#1 v1.5
    cert_der: bytes
    chain_pem: bytes  # the CA certificates, a PEM bundle


class _ClockedPdfSigner(signers.PdfSigner):
    """A PdfSigner whose signing time comes from the caller: pyHanko otherwise reads the process clock."""

    def __init__(self, *args: Any, signed_at: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.signed_at = signed_at

    def init_signing_session(self, pdf_out: Any, existing_fields_only: bool = False) -> Any:
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        session.system_time = self.signed_at  # becomes /M, the stamp's %(ts)s and, outside PAdES, signingTime
        return session


def read_pdf(data: bytes, *, open_without_password: bool = False) -> PdfFileReader:
    """A reader over `data` after the checks every entry point shares; InvalidPdf when unusable."""
    # Signing refuses any encryption (it would need the owner password); reading may open a PDF whose user
    # password is empty, as viewers do without asking.
    _check_header(data)
    with mapped_errors(InvalidPdf):
        reader = PdfFileReader(BytesIO(data), strict=False)
        if reader.encrypted and not (open_without_password and reader.decrypt("").status != AuthStatus.FAILED):
            raise InvalidPdf(ENCRYPTED)
        int(reader.root["/Pages"]["/Count"])
    return reader


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


# --- layout ------------------------------------------------------------------------------------------------


class _VietnameseFontFactory(GlyphAccumulatorFactory):
    """NotoSerif cut down to Vietnamese once per process: pyHanko re-reads the whole font for every text box."""

    def create_font_engine(self, writer: Any, obj_stream: Any = None) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
            obj_stream = writer.prepare_object_stream()
        return GlyphAccumulator(
            writer=writer, font_handle=BytesIO(_vietnamese_font()), font_size=self.font_size, obj_stream=obj_stream
        )


@cache
def _vietnamese_font() -> bytes:
    font = TTFont(FONT)
    options = subset.Options()
    options.layout_features = ["kern", "mark", "mkmk", "ccmp", "locl"]  # what HarfBuzz needs for Vietnamese
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=VIETNAMESE_CODEPOINTS)
    subsetter.subset(font)
    buffer = BytesIO()
    font.save(buffer)
    return buffer.getvalue()


@cache
def _font(size: int) -> GlyphAccumulatorFactory:
    return _VietnameseFontFactory(str(FONT), font_size=size)


def _text_style(size: int, **kwargs: Any) -> TextBoxStyle:
    # Both sizes must match or multi-line text is misplaced (pyHanko issue #733).
    return TextBoxStyle(font=_font(size), font_size=size, **kwargs)


def _field_style(x_align: layout.AxisAlignment) -> TextBoxStyle:
    rule = layout.SimpleBoxLayoutRule(
        x_align=x_align,
        y_align=layout.AxisAlignment.ALIGN_MIN,
        margins=layout.Margins(bottom=FIELD_BASELINE),
        inner_content_scaling=layout.InnerScaling.SHRINK_TO_FIT,  # a long place name shrinks, never spills
    )
    return _text_style(FIELD_FONT_SIZE, box_layout_rule=rule, text_color=(0, 0, 0))


def _personal_style(image: Any) -> TextStampStyle:
    lines = "Ký bởi: %(full_name)s\n%(position)s\n%(agency_name)s\nThời gian ký: %(signed_at)s"
    text_rule = layout.SimpleBoxLayoutRule(
        x_align=layout.AxisAlignment.ALIGN_MID,
        y_align=layout.AxisAlignment.ALIGN_MIN if image else layout.AxisAlignment.ALIGN_MID,
        margins=layout.Margins.uniform(2),
    )
    return TextStampStyle(
        stamp_text=lines,
        text_box_style=_text_style(PERSONAL_FONT_SIZE, leading=PERSONAL_LEADING, text_color=(0, 0, 0)),
        border_width=0,
        background=PdfImage(image) if image else None,
        background_opacity=1.0,  # pyHanko fades backgrounds to 0.6 by default
        background_layout=SIGNATURE_IMAGE_LAYOUT,
        inner_content_layout=text_rule,
    )


def _seal_style(seal: Any) -> StaticStampStyle:
    # No margins: pyHanko's default 5 pt would shrink the seal below its real size.
    rule = layout.SimpleBoxLayoutRule(
        x_align=layout.AxisAlignment.ALIGN_MID,
        y_align=layout.AxisAlignment.ALIGN_MID,
        inner_content_scaling=layout.InnerScaling.STRETCH_TO_FIT,
    )
    return StaticStampStyle(background=PdfImage(seal), border_width=0, background_layout=rule)


def _personal_params(full_name: str, position: str, agency_name: str, local: datetime) -> dict[str, str]:
    # All user text goes in as parameters, never into the %-template itself.
    return {
        "full_name": full_name,
        "position": position,
        "agency_name": agency_name,
        "signed_at": f"{local:%d/%m/%Y %H:%M:%S} {local.isoformat()[-6:]}",
    }


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
    with mapped_errors(InvalidPdf):
        x1, y1, x2, y2 = _page_box(writer, 0)
    # On a page smaller than A4 the box keeps to the page and the text shrinks to fit it.
    right, top = (min(margin, (x2 - x1) / 10) for margin in CORNER_MARGINS)
    width, height = min(CORNER_BOX_SIZE[0], x2 - x1 - 2 * right), min(CORNER_BOX_SIZE[1], (y2 - y1) / 4)
    box = (x2 - right - width, y2 - top - height, x2 - right, y2 - top)
    # NotoSerif stands in for Times New Roman, which Phụ lục I names: we ship no Times with Vietnamese glyphs.
    style = TextStampStyle(
        stamp_text="\n".join(lines),
        text_box_style=_text_style(CORNER_FONT_SIZE, text_color=(0, 0, 0)),
        border_width=0,
        inner_content_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MAX, y_align=layout.AxisAlignment.ALIGN_MAX
        ),
    )
    with mapped_errors(SigningFailure):
        pdf_signer = _ClockedPdfSigner(
            _metadata(field_name, reason),
            signer,
            signed_at=local,
            stamp_style=style,
            new_field_spec=_field_spec(field_name, 0, box),
        )
        return _write(pdf_signer.sign_pdf(writer, appearance_text_params=params))


def _seal_placement(writer: IncrementalPdfFileWriter, seal: Any) -> tuple[int, Rect]:
    """Page and box of the seal: its right third over the left third of the leader's signature image."""
    # Without a ChuKyLanhDao widget (signed elsewhere, or renamed) the seal goes where the leader's default box on
    # the last page would have its image.
    page, (x1, y1, x2, y2) = _personal_widget(writer) or (-1, PERSONAL_BOX)
    image_width, image_height = _widget_image_size(writer) or (x2 - x1, y2 - y1 - PERSONAL_TEXT_BAND)
    slot = layout.BoxConstraints(width=x2 - x1, height=y2 - y1)
    fit = SIGNATURE_IMAGE_LAYOUT.fit(slot, round(image_width), round(image_height))
    left = x1 + fit.x_pos
    width, height = image_width * fit.x_scale, image_height * fit.y_scale
    middle = y1 + fit.y_pos + height / 2
    seal_height = SEAL_WIDTH * seal.height / seal.width if seal else SEAL_WIDTH
    seal_right = left + width / 3
    return page, (seal_right - SEAL_WIDTH, middle - seal_height / 2, seal_right, middle + seal_height / 2)


def _personal_widget(writer: IncrementalPdfFileWriter) -> tuple[int, Rect] | None:
    widget = _widget(writer, PERSONAL_FIELD)
    if widget is None:
        return None
    x1, y1, x2, y2 = (float(v) for v in widget.get_object()["/Rect"])
    rect = (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
    count = int(writer.root["/Pages"]["/Count"])
    page_ref = widget.get_object().raw_get("/P") if "/P" in widget.get_object() else None
    for index in range(count):
        ref, _resources = writer.find_page_for_modification(index)
        if page_ref is not None and ref.idnum == page_ref.idnum:
            return index, rect
        annots = ref.get_object().get("/Annots")
        if (
            page_ref is None
            and annots is not None
            and any(getattr(a, "idnum", None) == widget.idnum for a in annots.get_object())
        ):
            return index, rect
    return None


def _widget_image_size(writer: IncrementalPdfFileWriter) -> tuple[float, float] | None:
    """Pixel size of the image in the leader's appearance, so the seal can find where it was drawn."""
    widget = _widget(writer, PERSONAL_FIELD)
    try:
        appearance = widget.get_object()["/AP"]["/N"] if widget is not None else None
        xobjects = appearance["/Resources"]["/XObject"] if appearance is not None else {}
    except KeyError:
        return None
    for value in xobjects.values():
        obj = value.get_object()
        if obj.get("/Subtype") == "/Image":
            return float(obj["/Width"]), float(obj["/Height"])
    return None


def _widget(writer: IncrementalPdfFileWriter, name: str) -> generic.IndirectObject | None:
    for field_name, _value, field_ref in _fields(writer, "/Sig"):
        if field_name == name:
            field = field_ref.get_object()
            kids = field.get("/Kids")
            return kids.get_object()[0] if kids else field_ref
    return None


def _page_box(writer: IncrementalPdfFileWriter, index: int) -> Rect:
    ref, _resources = writer.find_page_for_modification(index)
    node = ref.get_object()
    while "/MediaBox" not in node and "/Parent" in node:  # inheritable (ISO 32000 7.7.3.4)
        node = node["/Parent"]
    x1, y1, x2, y2 = (float(v) for v in node.get("/MediaBox", (0, 0, 595.28, 841.89)))
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


# --- plumbing ----------------------------------------------------------------------------------------------


def _add_text_field(writer: IncrementalPdfFileWriter, name: str, rect: Rect) -> None:
    # A reference from find_page_for_modification, not root["/Pages"]["/Kids"][0]: pyHanko's [] dereferences,
    # and a /P holding a copy of the page makes diff analysis reject every later revision.
    page_ref, _resources = writer.find_page_for_modification(0)
    page = page_ref.get_object()
    field_ref = writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/FT"): pdf_name("/Tx"),
                pdf_name("/T"): pdf_string(name),
                pdf_name("/Type"): pdf_name("/Annot"),
                pdf_name("/Subtype"): pdf_name("/Widget"),
                pdf_name("/F"): generic.NumberObject(4),  # print
                pdf_name("/P"): page_ref,
                pdf_name("/Rect"): generic.ArrayObject(generic.FloatObject(v) for v in rect),
                pdf_name("/DA"): pdf_string("/Helv 12 Tf 0 g"),
            }
        )
    )
    annots = page.get("/Annots")
    if annots is None:
        page["/Annots"] = annots = generic.ArrayObject()
    annots.get_object().append(field_ref)
    if isinstance(page.raw_get("/Annots"), generic.IndirectObject):
        writer.update_container(page.raw_get("/Annots"))
    writer.update_container(page)
    if "/AcroForm" not in writer.root:
        writer.root["/AcroForm"] = generic.DictionaryObject({pdf_name("/Fields"): generic.ArrayObject()})
    writer.root["/AcroForm"]["/Fields"].append(field_ref)
    writer.update_root()
    if isinstance(writer.root.raw_get("/AcroForm"), generic.IndirectObject):
        writer.update_container(writer.root["/AcroForm"])


def _fields(writer: IncrementalPdfFileWriter, kind: str) -> Iterator[tuple[str, Any, generic.IndirectObject]]:
    try:
        field_list = writer.root["/AcroForm"]["/Fields"]
    except KeyError:
        return
    yield from enumerate_fields_in(field_list, refs_seen=set(), target_field_type=kind)


def _field_names(writer: IncrementalPdfFileWriter) -> dict[str, tuple[str, Any]]:
    """Every text and signature field by name, with its kind and value."""
    return {name: (kind, value) for kind in ("/Tx", "/Sig") for name, value, _ref in _fields(writer, kind)}


def _field_spec(field_name: str, page: int, box: Rect | None) -> fields.SigFieldSpec:
    # Whole points: pyHanko declares integer boxes, and half a point is invisible on paper.
    rounded = (round(box[0]), round(box[1]), round(box[2]), round(box[3])) if box else None
    return fields.SigFieldSpec(field_name, on_page=page, box=rounded)


def _metadata(field_name: str, reason: str) -> signers.PdfSignatureMetadata:
    return signers.PdfSignatureMetadata(
        field_name=field_name, reason=reason, subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256"
    )


def _external_signer(
    cert: asn1_x509.Certificate, chain: list[asn1_x509.Certificate], value: bytes
) -> signers.ExternalSigner:
    registry = SimpleCertificateStore.from_certs([cert, *chain])
    return signers.ExternalSigner(signing_cert=cert, cert_registry=registry, signature_value=value)


def _certificates(cert_der: bytes, chain_der: list[bytes]) -> tuple[asn1_x509.Certificate, list[asn1_x509.Certificate]]:
    try:
        certs = [
            asn1_x509.Certificate.load(load_pem_or_der_cert(data).public_bytes(serialization.Encoding.DER))
            for data in [cert_der, *chain_der]
        ]
    except ValueError as error:
        raise SigningFailure(UNREADABLE_CERT, detail=str(error)) from error
    return certs[0], certs[1:]


def _stamp_image(data: bytes | None) -> Any:
    if data is None:
        return None
    try:
        return open_stamp_image(data)
    except UnreadableImage as error:
        raise SigningFailure(BAD_IMAGE, detail=error.detail) from error


def _vietnam_time(moment: datetime) -> datetime:
    # A naive time is Vietnam time, as app.clock reads it.
    return moment.replace(tzinfo=VN) if moment.tzinfo is None else moment.astimezone(VN)


def _page_index(writer: IncrementalPdfFileWriter, page: int) -> int:
    with mapped_errors(InvalidPdf):
        count = int(writer.root["/Pages"]["/Count"])
    if not -count <= page < count:
        raise SigningFailure(NO_SUCH_PAGE)
    return page if page >= 0 else count + page


def _check_header(data: bytes) -> None:
    if not data:
        raise InvalidPdf(EMPTY)
    if not is_pdf(data):
        raise InvalidPdf(NOT_A_PDF)


def _open_writer(pdf: bytes) -> IncrementalPdfFileWriter:
    _check_header(pdf)
    with mapped_errors(InvalidPdf):
        writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
        if writer.prev.encrypted:
            raise InvalidPdf(ENCRYPTED)
        int(writer.root["/Pages"]["/Count"])
        return writer


def _write(output: Any) -> bytes:
    if isinstance(output, IncrementalPdfFileWriter):
        buffer = BytesIO()
        output.write(buffer)
        return buffer.getvalue()
    return bytes(output.getvalue())


@contextmanager
def mapped_errors(fallback: type[InvalidPdf] | type[SigningFailure]) -> Iterator[None]:
    """Turn whatever pyHanko, the PDF or the token raise into InvalidPdf or SigningFailure."""
    try:
        yield
    except (InvalidPdf, SigningFailure):
        raise
    except PdfKeyNotAvailableError as error:
        raise InvalidPdf(ENCRYPTED) from error
    except PdfError as error:
        raise InvalidPdf(DAMAGED, detail=f"{type(error).__name__}: {error}") from error
    except SigningError as error:
        text = str(error)
        message = ALREADY_SIGNED_HERE if "filled already" in text else SIGNING_FAILED
        raise SigningFailure(message, detail=text) from error
    except LayoutError as error:
        raise SigningFailure(APPEARANCE_TOO_BIG, detail=str(error)) from error
    except RecursionError as error:  # deeply nested hostile objects
        raise InvalidPdf(DAMAGED, detail="recursion") from error
    except Exception as error:
        if _is_token_error(error):
            raise SigningFailure(TOKEN_FAILED, detail=repr(error)) from error
        if isinstance(error, RuntimeError) and "event loop" in str(error):
            raise  # a programming error: the sync API called from async code
        logger.info("Mapped %r to %s", error, fallback.__name__, exc_info=True)
        message = DAMAGED if fallback is InvalidPdf else SIGNING_FAILED
        raise fallback(message, detail=f"{type(error).__name__}: {error}") from error


def _is_token_error(error: Exception) -> bool:
    return type(error).__module__.startswith("pkcs11")


def _pem(cert: asn1_x509.Certificate) -> bytes:
    return load_pem_or_der_cert(cert.dump()).public_bytes(serialization.Encoding.PEM)


def _pem_blocks(bundle: bytes) -> list[bytes]:
    end = b"-----END CERTIFICATE-----"
    return [block + end for block in bundle.split(end) if block.strip()]
