"""A plain one-page document laid out like Nghị định 30/2020 Phụ lục I, for demos and the test command that
injects a document from another agency (real documents are drafted in word processors and uploaded)."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

import app.signing

FONTS = Path(app.signing.__file__).parent / "fonts"


def _fonts() -> None:
    for name, file in (("NotoSerif", "NotoSerif-Regular.ttf"), ("NotoSerif-Bold", "NotoSerif-Bold.ttf")):
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, str(FONTS / file)))


def document_pdf(
    *, agency_name: str, type_name: str, subject: str, body: str, signer_position: str, signer_name: str
) -> bytes:
    """Agency and motto on top, the "Số:" label (its field is added when the document is numbered), the type and
    summary, the body, and the signer's block."""
    _fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    canvas.setFont("NotoSerif-Bold", 12)
    for index, line in enumerate(textwrap.wrap(agency_name.upper(), 32)[:2]):
        canvas.drawCentredString(177, 772 - 15 * index, line)
    canvas.drawCentredString(409, 772, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    canvas.drawCentredString(409, 757, "Độc lập - Tự do - Hạnh phúc")
    canvas.setFont("NotoSerif", 13)
    canvas.drawString(100, 727, "Số:")
    canvas.setFont("NotoSerif-Bold", 14)
    canvas.drawCentredString(312, 680, type_name.upper())
    canvas.setFont("NotoSerif-Bold", 13)
    for index, line in enumerate(textwrap.wrap(subject, 70)[:3]):
        canvas.drawCentredString(312, 660 - 17 * index, line)
    canvas.setFont("NotoSerif", 13)
    for index, line in enumerate(textwrap.wrap(body, 80)[:16]):
        canvas.drawString(85, 590 - 20 * index, line)
    canvas.setFont("NotoSerif-Bold", 13)
    canvas.drawCentredString(405, 250, signer_position.upper())
    canvas.drawCentredString(405, 120, signer_name)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
