"""Where signatures go: text and signature fields, widgets, page boxes, the seal over the leader's signature."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.form_tools import enumerate_fields_in
from pyhanko.pdf_utils.generic import pdf_name, pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields

from app.signing.keys import SigningFailure
from app.signing.pdf.appearance import (
    CORNER_BOX_SIZE,
    CORNER_MARGINS,
    PERSONAL_BOX,
    PERSONAL_TEXT_BAND,
    SEAL_WIDTH,
    SIGNATURE_IMAGE_LAYOUT,
    Rect,
)
from app.signing.pdf.errors import NO_SUCH_PAGE, InvalidPdf, mapped_errors

NUMBER_FIELD = "so_ky_hieu"
DATE_FIELD = "ngay_ban_hanh"
PERSONAL_FIELD = "ChuKyLanhDao"
AGENCY_FIELD = "ChuKyCoQuan"
APPENDIX_FIELD = "ChuKyCoQuanPhuLuc"
COPY_FIELD = "ChuKyCoQuanBanSao"


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


def _corner_box(writer: IncrementalPdfFileWriter) -> Rect:
    """The box of the text top right on page 1: ô 14 of a copy, the number and time of an appendix."""
    with mapped_errors(InvalidPdf):
        x1, y1, x2, y2 = _page_box(writer, 0)
    # On a page smaller than A4 the box keeps to the page and the text shrinks to fit it.
    right, top = (min(margin, (x2 - x1) / 10) for margin in CORNER_MARGINS)
    width, height = min(CORNER_BOX_SIZE[0], x2 - x1 - 2 * right), min(CORNER_BOX_SIZE[1], (y2 - y1) / 4)
    return (x2 - right - width, y2 - top - height, x2 - right, y2 - top)


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


def _page_index(writer: IncrementalPdfFileWriter, page: int) -> int:
    with mapped_errors(InvalidPdf):
        count = int(writer.root["/Pages"]["/Count"])
    if not -count <= page < count:
        raise SigningFailure(NO_SUCH_PAGE)
    return page if page >= 0 else count + page
