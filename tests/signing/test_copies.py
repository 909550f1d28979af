"""Appendices in their own file, digitised paper and the agency signature on them."""

from __future__ import annotations

from io import BytesIO

import pytest
from PIL import Image

from app.signing import keys, pdf
from tests.signing.conftest import AGENCY_NAME, NOW, NUMBER, Trust, appearance_text, make_draft, widget_rect

A4 = (595.2755905511812, 841.8897637795277)


def _page_sizes(document: bytes) -> list[tuple[float, float]]:
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(BytesIO(document), strict=False)
    sizes = []
    for ref in reader.root["/Pages"]["/Kids"]:
        x1, y1, x2, y2 = (float(value) for value in ref.get_object()["/MediaBox"])
        sizes.append((x2 - x1, y2 - y1))
    return sizes


def _scan(
    colour: tuple[int, int, int], *, size: tuple[int, int] = (400, 566), dpi: int | None = 200, fmt: str = "PNG"
) -> bytes:
    image = Image.new("RGB", size, colour)
    buffer = BytesIO()
    image.save(buffer, fmt, **({"dpi": (dpi, dpi)} if dpi else {}))
    return buffer.getvalue()


def test_appendix_seal_puts_number_and_iso_time_top_right_and_validates(agency: keys.Signer, trust: Trust) -> None:
    appendix = make_draft(2)

    sealed = pdf.seal_appendix(appendix, agency, number=NUMBER, signed_at=NOW)

    (report,) = trust.verify(sealed).signatures
    assert report.bottom_line and report.signer_name == AGENCY_NAME
    assert appearance_text(sealed, pdf.APPENDIX_FIELD) == f"{NUMBER}\n2026-11-24T10:15:30+07:00"
    x1, y1, x2, y2 = widget_rect(sealed, pdf.APPENDIX_FIELD)
    assert x1 > A4[0] / 2 and y1 > A4[1] - 80 and x2 < A4[0] and y2 < A4[1]  # top right of page 1


def test_two_png_scans_become_a_two_page_pdf_that_the_seal_validates(agency: keys.Signer, trust: Trust) -> None:
    scanned = pdf.digitise([("trang-1.png", _scan((250, 250, 240))), ("trang-2.png", _scan((200, 220, 255)))])

    assert scanned.startswith(b"%PDF-1.4")
    assert _page_sizes(scanned) == [(144.0, 203.76), (144.0, 203.76)]  # 400×566 px at 200 dpi, 100 % scale
    copy = pdf.seal_copy(scanned, agency, agency_name=AGENCY_NAME, signed_at=NOW)
    (report,) = trust.verify(copy).signatures
    assert report.bottom_line
    assert appearance_text(copy, pdf.COPY_FIELD) == f"BẢN SỐ HÓA\n{AGENCY_NAME}\n2026-11-24T10:15:30+07:00"


def test_scans_below_200_dpi_are_declared_at_200_dpi() -> None:
    scanned = pdf.digitise([("photo.jpg", _scan((90, 90, 90), size=(200, 100), dpi=72, fmt="JPEG"))])

    assert _page_sizes(scanned) == [(72.0, 36.0)]


def test_a_multi_page_tiff_becomes_one_page_per_frame() -> None:
    frames = [Image.new("RGB", (300, 300), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buffer = BytesIO()
    frames[0].save(buffer, "TIFF", save_all=True, append_images=frames[1:], dpi=(300, 300))

    scanned = pdf.digitise([("scan.tif", buffer.getvalue())])

    assert _page_sizes(scanned) == [(72.0, 72.0)] * 3


def test_a_single_pdf_is_digitised_as_it_is() -> None:
    original = make_draft(1)

    assert pdf.digitise([("ban-goc.pdf", original)]) == original


@pytest.mark.parametrize(
    "files",
    [[], [("a.pdf", make_draft(1)), ("b.png", _scan((0, 0, 0)))], [("a.pdf", make_draft(1))] * 2],
    ids=["nothing", "pdf-and-image", "two-pdfs"],
)
def test_digitise_wants_one_pdf_or_only_images(files: list[tuple[str, bytes]]) -> None:
    with pytest.raises(pdf.InvalidPdf) as raised:
        pdf.digitise(files)

    assert raised.value.message == pdf.NOTHING_TO_DIGITISE


def test_a_file_that_is_neither_pdf_nor_image_cannot_be_digitised() -> None:
    with pytest.raises(pdf.InvalidPdf) as raised:
        pdf.digitise([("note.txt", b"hello")])

    assert raised.value.message == "A file is neither a PDF nor a PNG, JPEG or TIFF image."
