"""Time of signing and verifying outgoing documents with the signing core (pyHanko, RSA-2048, PAdES B-B).

    .venv/bin/python bench/signing.py [--rounds 9]

Everything runs in memory on a throw-away PKI made in a temporary directory; keys are loaded once, as a
worker holding them would. Rows:

* sign 1 / 50 pages: `sign_personal` with the blue image and four lines of Vietnamese text, on a draft already
  given its number fields by `prepare_draft`;
* verify 1 / 50 pages: `verify_pdf` of the leader-signed and sealed document (two signatures, diff analysis,
  hard-fail revocation against the CRLs);
* flow 10 pages: `prepare_draft` + `sign_personal` + `seal_agency` (fill number and date, red seal), the whole
  outgoing-document path; the target is < 0.5 s.

Each figure is the median of --rounds runs after one warm-up run (the warm-up pays the one-time cost of
cutting the font down to Vietnamese, reported apart).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.ttfonts import TTFont  # noqa: E402
from reportlab.pdfgen.canvas import Canvas  # noqa: E402

from app.signing import keys, pdf, verify  # noqa: E402
from app.signing.pki import AgencySpec, PersonSpec, generate_test_pki  # noqa: E402

NOW = datetime(2026, 11, 24, 3, 15, 30, tzinfo=UTC)
AGENCY = "ỦY BAN NHÂN DÂN TỈNH THỬ NGHIỆM"
FONT = ROOT / "app" / "signing" / "fonts" / "NotoSerif-Regular.ttf"


def draft(pages: int) -> bytes:
    if "NotoSerif" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("NotoSerif", str(FONT)))
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    for page in range(pages):
        canvas.setFont("NotoSerif", 13)
        if page == 0:
            canvas.drawString(100, 727, "Số:")
        for line in range(30):
            canvas.drawString(85, 780 - 20 * line, f"Trang {page + 1}, dòng {line + 1}: nội dung văn bản thử nghiệm.")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def png(colour: tuple[int, int, int], size: tuple[int, int], *, ring: bool) -> bytes:
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if ring:
        draw.ellipse((4, 4, size[0] - 4, size[1] - 4), outline=(*colour, 255), width=10)
    else:
        draw.line([(10, 80), (80, 20), (150, 75), (220, 25), (290, 70)], fill=(*colour, 255), width=6)
    buffer = BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def median_ms(action: Callable[[], object], rounds: int) -> float:
    action()  # warm-up
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    verify.quiet_logs()

    with tempfile.TemporaryDirectory() as directory:
        test_pki = generate_test_pki(
            Path(directory),
            people=[PersonSpec("hung", "Nguyễn Văn Hùng", AGENCY)],
            agencies=[AgencySpec("UBND", AGENCY)],
            password="bench",
            now=NOW,
        )
        leader = keys.load_pkcs12(test_pki.person_p12["hung"].read_bytes(), "bench")
        agency = keys.load_pkcs12(test_pki.agency_p12["UBND"].read_bytes(), "bench")
        roots = [test_pki.root_pem.read_bytes()]
        crls = [path.read_bytes() for path in test_pki.crls]
    blue, red = png((20, 40, 170), (300, 100), ring=False), png((210, 20, 20), (300, 300), ring=True)

    def sign(document: bytes) -> bytes:
        return pdf.sign_personal(
            document, leader, full_name="Nguyễn Văn Hùng", position="CHỦ TỊCH", agency_name=AGENCY,
            signed_at=NOW, image_png=blue,
        )  # fmt: skip

    def seal(document: bytes) -> bytes:
        return pdf.seal_agency(
            document, agency, number="12/QĐ-UBND", date_line="Thử Nghiệm, ngày 24 tháng 11 năm 2026",
            seal_png=red, signed_at=NOW,
        )  # fmt: skip

    start = time.perf_counter()
    sign(pdf.prepare_draft(draft(1)))
    first_call_ms = (time.perf_counter() - start) * 1000

    rows = []
    for pages in (1, 50):
        prepared = pdf.prepare_draft(draft(pages))
        sealed = seal(sign(prepared))
        check = verify.verify_pdf(sealed, trust_roots=roots, crls=crls, at=NOW + timedelta(hours=1))
        assert check.all_valid, check
        rows.append((f"sign {pages} p", median_ms(lambda document=prepared: sign(document), args.rounds)))
        rows.append(
            (
                f"verify {pages} p (2 signatures)",
                median_ms(
                    lambda document=sealed: verify.verify_pdf(
                        document, trust_roots=roots, crls=crls, at=NOW + timedelta(hours=1)
                    ),
                    args.rounds,
                ),
            )
        )
    ten = draft(10)
    rows.append(
        ("flow 10 p: prepare + sign + seal", median_ms(lambda: seal(sign(pdf.prepare_draft(ten))), args.rounds))
    )

    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, median of {args.rounds}")
    print(f"first signature in the process (font cut to Vietnamese once): {first_call_ms:.0f} ms")
    print("| operation | median ms |\n|---|---:|")
    for name, value in rows:
        print(f"| {name} | {value:.0f} |")


if __name__ == "__main__":
    main()
