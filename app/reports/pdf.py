"""The printed layout of the Phụ lục IV registers: a cover, then a landscape A4 table with its heading on
every page, page numbers and dates as dd/mm/yyyy in Vietnam time."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from importlib.resources import files
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
)

from app.clock import local
from app.org.models import Agency

FONT = "NotoSerif"
BOLD = "NotoSerif-Bold"
FONT_SIZE = 8.5
LEADING = 10.5
PAGE = landscape(A4)
MARGIN = 12 * mm
PADDING = 2.5
NUMBERS_SIZE = 7.5
NUMBERS_LEADING = 9
BODY_HEIGHT = PAGE[1] - 24 * mm  # the frame between the running head and the footer


@dataclass(frozen=True)
class Column:
    heading: str
    width_mm: float
    is_centred: bool = False


@dataclass(frozen=True)
class Cover:
    agency: Agency
    title: str
    year: int
    first_on: date | None
    last_on: date | None
    first_number: int | None
    last_number: int | None
    book: str = ""  # the name of a further register of the same kind (Điều 15.1c), such as QĐ

    @property
    def full_title(self) -> str:
        """The title as a line of text: `Sổ đăng ký văn bản đi (QĐ) năm 2026`."""
        book = f" ({self.book})" if self.book else ""
        return f"{self.title.capitalize()}{book} năm {self.year}"


def register_pdf(cover: Cover, columns: Sequence[Column], rows: Iterable[Sequence[str]], *, now: datetime) -> bytes:
    """Any Phụ lục IV register: its cover, then a landscape A4 table whose heading repeats on every page."""
    _register_fonts()
    buffer = io.BytesIO()
    running_head = f"{cover.agency.name} — {cover.full_title}"
    printed = f"In ngày {local(now):%d/%m/%Y}"

    def decorate(canvas: Canvas, _document: BaseDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.drawString(MARGIN, PAGE[1] - 9 * mm, running_head)
        canvas.drawString(MARGIN, 7 * mm, printed)
        canvas.restoreState()

    frame = Frame(
        MARGIN, 12 * mm, PAGE[0] - 2 * MARGIN, BODY_HEIGHT, leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0
    )
    document = BaseDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=cover.full_title,
        author=cover.agency.name,
        creator="QLVB&ĐH",
        invariant=True,  # same data, same instant: same bytes
        initialFontName=FONT,  # else every page names Helvetica, which is not embedded
        pageTemplates=[
            PageTemplate(id="cover", frames=[frame]),
            PageTemplate(id="register", frames=[frame], onPage=decorate),
        ],
    )
    stamp = local(now)

    def canvas_maker(*args: Any, **kwargs: Any) -> Canvas:
        canvas = _NumberedCanvas(*args, **kwargs)
        canvas.setDateFormatter(lambda *_parts: stamp.strftime("D:%Y%m%d%H%M%S+07'00'"))
        return canvas

    story = [*_cover(cover), NextPageTemplate("register"), PageBreak(), *_table_pages(columns, rows)]
    document.build(story, canvasmaker=canvas_maker)
    return buffer.getvalue()


def _register_fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    fonts = files("app.signing") / "fonts"
    pdfmetrics.registerFont(TTFont(FONT, str(fonts / "NotoSerif-Regular.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(fonts / "NotoSerif-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)


def day(value: date | None) -> str:
    """A date as the registers write it: dd/mm/yyyy."""
    return f"{value:%d/%m/%Y}" if value else ""


def _cover(cover: Cover) -> list[Flowable]:
    def line(text: str, size: float, *, font: str = FONT, space_after: float = 4) -> Paragraph:
        style = ParagraphStyle(
            "cover", fontName=font, fontSize=size, leading=size * 1.35, alignment=TA_CENTER, spaceAfter=space_after
        )
        return Paragraph(escape(text), style)

    dots = "…………"
    flowables: list[Flowable] = [Spacer(1, 18 * mm)]
    if cover.agency.parent is not None:
        flowables.append(line(cover.agency.parent.name.upper(), 13))
    flowables += [
        line(cover.agency.name.upper(), 13, font=BOLD, space_after=1),
        line("――――――――", 9),
        Spacer(1, 30 * mm),
        line(cover.title, 26, font=BOLD, space_after=14),
        *([line(f"({cover.book})", 18, font=BOLD, space_after=12)] if cover.book else []),
        line(f"Năm: {cover.year}", 15, space_after=8),
        line(f"Từ ngày {day(cover.first_on) or dots} đến ngày {day(cover.last_on) or dots}", 14),
        line(f"Từ số {cover.first_number or dots} đến số {cover.last_number or dots}", 14),
        line("Quyển số: 01", 14),
    ]
    return flowables


def _table_pages(columns: Sequence[Column], rows: Iterable[Sequence[str]]) -> list[Flowable]:
    """One table per page with the heading on top, rows measured once: reportlab's own splitting of a long
    table re-measures every remaining row at each page, which is quadratic in the length of the register."""
    heading_style = ParagraphStyle("heading", fontName=BOLD, fontSize=FONT_SIZE, leading=LEADING, alignment=TA_CENTER)
    cell_style = ParagraphStyle("cell", fontName=FONT, fontSize=FONT_SIZE, leading=LEADING)
    widths = [column.width_mm * mm for column in columns]
    heading: list[list[Any]] = [
        [Paragraph(escape(column.heading), heading_style) for column in columns],
        [f"({index})" for index in range(1, len(columns) + 1)],
    ]
    heading_heights = [
        max(cell.wrap(width - 2 * PADDING, PAGE[1])[1] for cell, width in zip(heading[0], widths, strict=True))
        + 2 * PADDING,
        NUMBERS_LEADING + 2 * PADDING,
    ]
    room = BODY_HEIGHT - sum(heading_heights)
    style = [
        ("FONT", (0, 0), (-1, -1), FONT, FONT_SIZE, LEADING),
        ("FONT", (0, 1), (-1, 1), FONT, NUMBERS_SIZE, NUMBERS_LEADING),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.black),
        ("VALIGN", (0, 0), (-1, 1), "MIDDLE"),
        ("VALIGN", (0, 2), (-1, -1), "TOP"),
        ("ALIGN", (0, 1), (-1, 1), "CENTER"),
        ("BACKGROUND", (0, 0), (-1, 1), colors.Color(0.92, 0.92, 0.92)),
        ("LEFTPADDING", (0, 0), (-1, -1), PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), PADDING),
        ("TOPPADDING", (0, 0), (-1, -1), PADDING),
        ("BOTTOMPADDING", (0, 0), (-1, -1), PADDING),
        *[("ALIGN", (i, 2), (i, -1), "CENTER") for i, column in enumerate(columns) if column.is_centred],
    ]
    pages: list[Flowable] = []
    body: list[list[Any]] = []
    heights: list[float] = []

    def close_page() -> None:
        if body:
            pages.extend([PageBreak()] if pages else [])
            pages.append(Table(heading + body, colWidths=widths, rowHeights=heading_heights + heights, style=style))
            body.clear()
            heights.clear()

    for row in rows:
        cells: list[Any] = []
        height = LEADING
        for column, width, text in zip(columns, widths, row, strict=True):
            if column.is_centred or not text or _fits_one_line(text, width):
                cells.append(text)  # one line: a plain string draws several times faster than a paragraph
            else:
                paragraph = _Cell(escape(text).replace("\n", "<br/>"), cell_style)
                height = max(height, paragraph.wrap(width - 2 * PADDING, PAGE[1])[1])
                cells.append(paragraph)
        height += 2 * PADDING
        if height > room:  # a row longer than a page (a very long note): reportlab splits it inside
            close_page()
            pages.extend([PageBreak()] if pages else [])
            pages.append(Table([*heading, cells], colWidths=widths, repeatRows=2, splitInRow=1, style=style))
            continue  # the next page table starts after a page break
        if sum(heights) + height > room:
            close_page()
        body.append(cells)
        heights.append(height)
    close_page()
    if not pages:
        empty = ["(Chưa có văn bản nào được đăng ký trong năm)", *[""] * (len(columns) - 1)]
        style += [("SPAN", (0, 2), (-1, 2)), ("ALIGN", (0, 2), (-1, 2), "CENTER")]
        pages.append(Table([*heading, empty], colWidths=widths, style=style))
    return pages


def _fits_one_line(text: str, width: float) -> bool:
    return "\n" not in text and pdfmetrics.stringWidth(text, FONT, FONT_SIZE) <= width - 2 * PADDING


class _Cell(Paragraph):
    """A paragraph measured once: the table wraps it again to draw it, at the same width."""

    _wrapped: tuple[float, tuple[float, float]] | None = None

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        if self._wrapped is None or self._wrapped[0] != availWidth:
            self._wrapped = (availWidth, super().wrap(availWidth, availHeight))
        return self._wrapped[1]


class _NumberedCanvas(Canvas):
    """Holds the pages back until the end so each can say 'Trang x/y'; the cover carries no number."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held_pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._held_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        numbered = len(self._held_pages) - 1
        for index, state in enumerate(self._held_pages):
            self.__dict__.update(state)
            if index:
                self.setFont(FONT, 8)
                self.drawRightString(PAGE[0] - MARGIN, 7 * mm, f"Trang {index}/{numbered}")
            super().showPage()
        super().save()
