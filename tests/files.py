"""Small real files of each accepted kind, and the hostile ones a download or an upload must never trust."""

from __future__ import annotations

import zipfile
from io import BytesIO

from PIL import Image


def minimal_pdf(text: str = "") -> bytes:
    """A one-page PDF with a correct cross-reference table (opens in pyHanko and in every viewer)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    out = bytearray(b"%PDF-1.4\n%" + text.encode() + b"\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def docx(text: str = "Phụ lục") -> bytes:
    """The parts Word needs to call a file a document: content types, relationships, the main part."""
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        archive.writestr("word/document.xml", f'<?xml version="1.0"?><w:document><w:t>{text}</w:t></w:document>')
    return buffer.getvalue()


def odt() -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text", compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", '<?xml version="1.0"?><office:document-content/>')
    return buffer.getvalue()


def png() -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


MARKER = "xss-marker-7f3a"
# A page that announces itself if a browser ever runs it: it changes the title and calls a URL with the marker.
HTML_PAYLOAD = (
    f"<!doctype html><html><head><title>safe</title></head><body><script>document.title='{MARKER}';"
    f"fetch('/{MARKER}');</script><img src=x onerror=\"document.title='{MARKER}'\"></body></html>"
).encode()
JS_PAYLOAD = f"document.title='{MARKER}'; fetch('/{MARKER}');".encode()
SVG_PAYLOAD = (f'<svg xmlns="http://www.w3.org/2000/svg"><script>document.title="{MARKER}"</script></svg>').encode()
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"This program cannot be run"
