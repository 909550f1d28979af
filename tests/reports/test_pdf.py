"""The printed layout of a register: long cells, markup characters and page numbers, without a database."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime

from app.org.models import Agency
from app.reports.pdf import Cover, register_pdf
from app.reports.registers import INCOMING_COLUMNS

NOW = datetime(2026, 11, 25, 2, tzinfo=UTC)


def cover(agency: Agency) -> Cover:
    return Cover(agency, "SỔ ĐĂNG KÝ VĂN BẢN ĐẾN", 2026, date(2026, 1, 5), date(2026, 1, 5), 1, 40)


def row(number: int, subject: str = "Về việc tổng kết", note: str = "") -> tuple[str, ...]:
    return ("05/01/2026", str(number), "Bộ Nội vụ", f"{number}/BNV-VP", "02/01/2026", subject, "", "", "", note)


def text_of(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "register.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


def test_a_note_longer_than_a_page_continues_on_the_next_page_without_blank_pages(tmp_path):
    agency = Agency(code="000.00.10.H99", name="Sở Thử nghiệm", abbreviation="STN")
    rows = [row(n, note="Ghi chú rất dài\n" * 60 if n in (3, 4) else "") for n in range(1, 41)]
    text = text_of(register_pdf(cover(agency), INCOMING_COLUMNS, rows, now=NOW), tmp_path)
    pages = text.split("\f")[1:-1]  # after the cover; pdftotext ends with a form feed
    assert all("Ngày đến" in page and "Trang" in page for page in pages)
    assert all("/BNV-VP" in page or "dài" in page for page in pages)  # no blank page
    assert f"Trang {len(pages)}/{len(pages)}" in pages[-1]
    assert "40/BNV-VP" in pages[-1]
    assert text.count("dài") == 120  # every line of both notes, wherever they break


def test_markup_characters_and_line_breaks_are_printed_as_written(tmp_path):
    agency = Agency(code="000.00.10.H99", name="Sở Thử nghiệm", abbreviation="STN")
    rows = [row(1, subject="Công văn – Về việc A & B <khẩn> " + "nội dung " * 20, note="dòng một\ndòng hai")]
    text = " ".join(text_of(register_pdf(cover(agency), INCOMING_COLUMNS, rows, now=NOW), tmp_path).split())
    assert "A & B <khẩn>" in text
    assert "dòng một" in text and "dòng hai" in text


def test_the_same_register_printed_at_the_same_instant_is_the_same_file():
    agency = Agency(code="000.00.10.H99", name="Sở Thử nghiệm", abbreviation="STN")
    first = register_pdf(cover(agency), INCOMING_COLUMNS, [row(1)], now=NOW)
    assert register_pdf(cover(agency), INCOMING_COLUMNS, [row(1)], now=NOW) == first
