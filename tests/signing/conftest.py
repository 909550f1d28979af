"""Fixtures for the signing core: one offline PKI per session, NĐ30-like drafts, stamp images, verification."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from io import BytesIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from PIL import Image, ImageDraw
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from app.signing import keys, pdf, verify
from app.signing.pki import AgencySpec, PersonSpec, TestPki, generate_test_pki

NOW = datetime(2026, 11, 24, 3, 15, 30, tzinfo=UTC)  # 10:15:30 in Hà Nội
LATER = NOW + timedelta(minutes=5)  # when the tests check what was signed at NOW
PASSWORD = "test1234"
AGENCY_NAME = "ỦY BAN NHÂN DÂN TỈNH THỬ NGHIỆM"
PEOPLE = [
    PersonSpec("hung", "Nguyễn Văn Hùng", AGENCY_NAME),
    PersonSpec("lan", "Trần Thị Lan", AGENCY_NAME),
    PersonSpec("duc", "Đặng Quốc Đức", "SỞ NỘI VỤ TỈNH THỬ NGHIỆM"),
]
AGENCIES = [AgencySpec("UBND", AGENCY_NAME), AgencySpec("SNV", "SỞ NỘI VỤ TỈNH THỬ NGHIỆM")]
NUMBER = "12/QĐ-UBND"
DATE_LINE = "Thử Nghiệm, ngày 24 tháng 11 năm 2026"
FONTS = Path(__file__).resolve().parents[2] / "app" / "signing" / "fonts"


@dataclass(frozen=True)
class Trust:
    roots: list[bytes]
    crls: list[bytes]

    def verify(self, data: bytes, *, at: datetime = LATER) -> verify.PdfVerification:
        return verify.verify_pdf(data, trust_roots=self.roots, crls=self.crls, at=at)


@pytest.fixture(scope="session", autouse=True)
def _quiet_pyhanko() -> None:
    verify.quiet_logs()


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return generate_test_pki(
        tmp_path_factory.mktemp("pki"), people=PEOPLE, agencies=AGENCIES, password=PASSWORD, now=NOW
    )


@pytest.fixture(scope="session")
def trust(test_pki: TestPki) -> Trust:
    return Trust(roots=[test_pki.root_pem.read_bytes()], crls=[path.read_bytes() for path in test_pki.crls])


@pytest.fixture(scope="session")
def load_signer() -> Callable[[Path], keys.Signer]:
    @cache
    def load(path: Path) -> keys.Signer:
        return keys.load_pkcs12(path.read_bytes(), PASSWORD)

    return load


@pytest.fixture(scope="session")
def leader(test_pki: TestPki, load_signer: Callable[[Path], keys.Signer]) -> keys.Signer:
    return load_signer(test_pki.person_p12["hung"])


@pytest.fixture(scope="session")
def agency(test_pki: TestPki, load_signer: Callable[[Path], keys.Signer]) -> keys.Signer:
    return load_signer(test_pki.agency_p12["UBND"])


def make_draft(pages: int = 1, *, encrypt: str | None = None) -> bytes:
    """An A4 decision laid out like Phụ lục I: agency and motto on top, "Số:" label, the leader's block last."""
    for name, file in (("NotoSerif", "NotoSerif-Regular.ttf"), ("NotoSerif-Bold", "NotoSerif-Bold.ttf")):
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, str(FONTS / file)))
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=A4, encrypt=encrypt)
    for page in range(pages):
        if page == 0:
            canvas.setFont("NotoSerif", 12)
            canvas.drawCentredString(177, 772, "ỦY BAN NHÂN DÂN")
            canvas.setFont("NotoSerif-Bold", 12)
            canvas.drawCentredString(177, 757, "TỈNH THỬ NGHIỆM")
            canvas.drawCentredString(409, 772, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
            canvas.drawCentredString(409, 757, "Độc lập - Tự do - Hạnh phúc")
            canvas.setFont("NotoSerif", 13)
            canvas.drawString(100, 727, "Số:")
            canvas.setFont("NotoSerif-Bold", 14)
            canvas.drawCentredString(312, 680, "QUYẾT ĐỊNH")
        canvas.setFont("NotoSerif", 13)
        for line in range(12):
            canvas.drawString(85, 640 - 20 * line, f"Trang {page + 1}, dòng {line + 1}: nội dung thử nghiệm.")
        if page == pages - 1:
            canvas.setFont("NotoSerif-Bold", 13)
            canvas.drawCentredString(405, 250, "CHỦ TỊCH")
            canvas.drawCentredString(405, 120, "Nguyễn Văn Hùng")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def make_png(colour: tuple[int, int, int], size: tuple[int, int], *, ring: bool = False) -> bytes:
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if ring:
        draw.ellipse((4, 4, size[0] - 4, size[1] - 4), outline=(*colour, 255), width=10)
    else:
        draw.line([(10, 80), (80, 20), (150, 75), (220, 25), (290, 70)], fill=(*colour, 255), width=6)
    buffer = BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def draft() -> bytes:
    return make_draft(1)


@pytest.fixture(scope="session")
def draft_10_pages() -> bytes:
    return make_draft(10)


@pytest.fixture(scope="session")
def blue_png() -> bytes:
    return make_png((20, 40, 170), (300, 100))


@pytest.fixture(scope="session")
def red_png() -> bytes:
    return make_png((210, 20, 20), (300, 300), ring=True)


@pytest.fixture(scope="session")
def sign_as_leader(blue_png: bytes) -> Callable[..., bytes]:
    def sign(document: bytes, signer: keys.Signer, **overrides: object) -> bytes:
        arguments: dict[str, object] = {
            "full_name": "Nguyễn Văn Hùng",
            "position": "CHỦ TỊCH",
            "agency_name": AGENCY_NAME,
            "signed_at": NOW,
            "image_png": blue_png,
        }
        return pdf.sign_personal(document, signer, **{**arguments, **overrides})

    return sign


@pytest.fixture(scope="session")
def leader_signed(draft: bytes, leader: keys.Signer, sign_as_leader: Callable[..., bytes]) -> bytes:
    return sign_as_leader(pdf.prepare_draft(draft), leader)


@pytest.fixture(scope="session")
def sealed(leader_signed: bytes, agency: keys.Signer, red_png: bytes) -> bytes:
    return pdf.seal_agency(
        leader_signed, agency, number=NUMBER, date_line=DATE_LINE, seal_png=red_png, signed_at=NOW + timedelta(hours=1)
    )


def appearance_text(document: bytes, field_name: str) -> str:
    """The text of a field's appearance, from the /ActualText pyHanko writes beside each line."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(BytesIO(document), strict=False)
    for ref in reader.root["/AcroForm"]["/Fields"]:
        field = ref.get_object()
        if field["/T"] == field_name:
            widget = field["/Kids"][0].get_object() if "/Kids" in field else field
            stream = widget["/AP"]["/N"].data
            return "\n".join(_pdf_string(match) for match in re.findall(rb"/ActualText \(((?:\\.|[^\\)])*)\)", stream))
    raise KeyError(field_name)


def widget_rect(document: bytes, field_name: str) -> tuple[float, float, float, float]:
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(BytesIO(document), strict=False)
    for ref in reader.root["/AcroForm"]["/Fields"]:
        field = ref.get_object()
        if field["/T"] == field_name:
            widget = field["/Kids"][0].get_object() if "/Kids" in field else field
            x1, y1, x2, y2 = (float(value) for value in widget["/Rect"])
            return x1, y1, x2, y2
    raise KeyError(field_name)


def _pdf_string(literal: bytes) -> str:
    """Decode a PDF literal string body: UTF-16BE after a byte-order mark, else (ASCII) PDFDocEncoding."""
    escapes = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}
    out = bytearray()
    index = 0
    while index < len(literal):
        char = literal[index : index + 1]
        if char != b"\\":
            out += char
            index += 1
            continue
        octal = re.match(rb"[0-7]{1,3}", literal[index + 1 : index + 4])
        if octal:
            out.append(int(octal.group(), 8))
            index += 1 + len(octal.group())
        else:
            following = literal[index + 1 : index + 2]
            out += escapes.get(following, following)
            index += 2
    data = bytes(out)
    return data[2:].decode("utf-16-be") if data.startswith(b"\xfe\xff") else data.decode("latin-1")


MODULE_CANDIDATES = [
    os.environ.get("PKCS11_MODULE", ""),
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
]
TOKEN, PIN = "TEST-TOKEN", "1234"


@pytest.fixture(scope="session")
def softhsm_token(tmp_path_factory: pytest.TempPathFactory, test_pki: TestPki) -> Iterator[keys.Pkcs11Config]:
    """A fresh SoftHSM2 token holding the leader's key and certificate under the label "leader"."""
    module = next((path for path in MODULE_CANDIDATES if path and Path(path).exists()), None)
    if module is None or shutil.which("softhsm2-util") is None:
        pytest.skip("softhsm2 is not installed")
    import pkcs11
    from pkcs11 import Attribute, CertificateType, ObjectClass

    directory = tmp_path_factory.mktemp("softhsm")
    (directory / "tokens").mkdir()
    config = directory / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {directory / 'tokens'}\nobjectstore.backend = file\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOFTHSM2_CONF", str(config))  # read when the module initialises
        run = ["softhsm2-util", "--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", "5678"]
        subprocess.run(run, check=True, capture_output=True)
        key, cert, chain = pkcs12.load_key_and_certificates(test_pki.person_p12["hung"].read_bytes(), PASSWORD.encode())
        assert key is not None and cert is not None
        key_file = directory / "leader.pem"
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        run = ["softhsm2-util", "--import", str(key_file), "--token", TOKEN, "--label", "leader", "--id", "01"]
        subprocess.run([*run, "--pin", PIN], check=True, capture_output=True)
        key_file.unlink()
        token = pkcs11.lib(module).get_token(token_label=TOKEN)
        with token.open(rw=True, user_pin=PIN) as session:
            session.create_object(
                {
                    Attribute.CLASS: ObjectClass.CERTIFICATE,
                    Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                    Attribute.TOKEN: True,
                    Attribute.LABEL: "leader",
                    Attribute.ID: b"\x01",
                    Attribute.SUBJECT: cert.subject.public_bytes(),
                    Attribute.VALUE: cert.public_bytes(serialization.Encoding.DER),
                }
            )
        chain_pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain)
        yield keys.Pkcs11Config(module, TOKEN, key_label="leader", cert_label="leader", pin=PIN, chain_pem=chain_pem)
