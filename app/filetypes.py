"""What a stored file is, told from its bytes: the file types both doors accept (DOC-1) and their checks.

The name a person gives a file and the type a browser or a sending agency declares are claims; the server
decides from the content. Registration, drafts, appendices and the exchange intake share `check_content`, and
every download is typed by `content_type` (app/downloads.py), so a row that still carries a declared type is
served by what its bytes are, never by what it claims.
"""

from __future__ import annotations

import re
import zipfile
from io import BytesIO
from pathlib import PurePath

from app.errors import N_, InvalidInput
from app.signing.pdf import ENCRYPTED, InvalidPdf, read_pdf

PDF = "application/pdf"
OCTET_STREAM = "application/octet-stream"
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc, .xls: the Compound File Binary header
ODF = {
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
}
OOXML = {
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
IMAGES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"BM", "image/bmp"),
)
# DOC-1: what each accepted extension must contain, as the server names it.
ACCEPTED = {
    ".pdf": PDF,
    ".doc": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".docx": OOXML["word/"],
    ".xlsx": OOXML["xl/"],
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".rtf": "application/rtf",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".bmp": "image/bmp",
}
ALLOWED_EXTENSIONS = frozenset(ACCEPTED)
# Markup a browser would render: WHATWG sniffing looks at the start; a script tag anywhere is refused too.
MARKUP_START = re.compile(rb"^\s*<\s*(?:[!?/]|[a-z])", re.IGNORECASE)
SCRIPT_TAG = re.compile(rb"<\s*(?:script|svg|html|iframe|object|embed)\b", re.IGNORECASE)
CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f]")
TEXT_TYPES = frozenset({"text/plain", "text/csv"})

NOT_WHAT_IT_SAYS = N_("The file %(name)s is not a %(suffix)s file: its content is of another kind.")
NOT_A_PDF = N_("The file %(name)s says it is a PDF but is not one.")
UNREADABLE_PDF = N_("The file %(name)s says it is a PDF but cannot be read as one.")
ACCEPTED_KINDS = N_("Accepted: text, Word, OpenDocument, PDF, spreadsheets and images.")
MARKUP = N_("The file %(name)s is a web page, an SVG drawing or a script, which is not accepted.")


def is_readable_pdf(content: bytes) -> bool:
    """A PDF by its header that pyHanko opens (cross-reference table and page tree read); cheap: no page is
    drawn and no signature checked. A password-protected PDF is still a PDF."""
    try:
        read_pdf(content, open_without_password=True)
    except InvalidPdf as error:
        return error.message == ENCRYPTED
    return True


def content_type(content: bytes) -> str:
    """The type of the bytes, for a download: a PDF that opens, an image, an office document; anything else
    (text, markup, scripts, unknown) is application/octet-stream."""
    if b"%PDF-" in content[:1024]:  # where readers look for the header
        return PDF if is_readable_pdf(content) else OCTET_STREAM
    for magic, kind in IMAGES:
        if content.startswith(magic):
            return kind
    return _office_type(content) or OCTET_STREAM


def type_for(file_name: str) -> str:
    """The type stored with a file whose content `check_content` accepted for its extension."""
    return ACCEPTED.get(PurePath(file_name).suffix.lower(), OCTET_STREAM)


def check_content(file_name: str, content: bytes) -> str:
    """The server's type of an uploaded file whose extension is accepted; InvalidInput naming the file when
    its content is not what the extension says (a "PDF" that is HTML, an .exe renamed .docx, an SVG)."""
    suffix = PurePath(file_name).suffix.lower()
    expected = ACCEPTED[suffix]
    if expected in TEXT_TYPES:
        text = _text_of(content)
        if text is None:
            raise _refused(NOT_WHAT_IT_SAYS, file_name, suffix)
        if _is_markup(text):
            raise _refused(MARKUP, file_name, suffix)
        return expected
    if MARKUP_START.match(content[:1024]):  # a PDF may carry junk before its header, never a web page
        raise _refused(MARKUP, file_name, suffix)
    if expected == PDF:
        if b"%PDF-" not in content[:1024]:
            raise _refused(NOT_A_PDF, file_name, suffix)
        if not is_readable_pdf(content):
            raise _refused(UNREADABLE_PDF, file_name, suffix)
        return PDF
    if expected == "application/rtf":
        found = expected if content.startswith(b"{\\rtf") else None
    elif expected in ("application/msword", "application/vnd.ms-excel"):
        found = expected if content.startswith(OLE2) else None  # both share the header; the name tells which
    else:
        found = _image_type(content) or _office_type(content)
    if found != expected:
        raise _refused(NOT_WHAT_IT_SAYS, file_name, suffix)
    return expected


def _refused(message: str, file_name: str, suffix: str) -> InvalidInput:
    return InvalidInput(message, {"attachment": ACCEPTED_KINDS}, name=file_name, suffix=suffix)


def _image_type(content: bytes) -> str | None:
    return next((kind for magic, kind in IMAGES if content.startswith(magic)), None)


def _office_type(content: bytes) -> str | None:
    """OpenDocument by its stored `mimetype` member, Office Open XML by its content types and main part."""
    if not content.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(BytesIO(content)) as archive:
            names = archive.namelist()
            if names and names[0] == "mimetype":
                if archive.getinfo("mimetype").file_size > 100:  # read a few bytes, never a bomb
                    return None
                declared = archive.read("mimetype").decode("ascii", "replace").strip()
                return declared if declared in ODF else None
            if "[Content_Types].xml" in names:
                for folder, kind in OOXML.items():
                    if any(name.startswith(folder) for name in names):
                        return kind
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, RuntimeError):
        return None
    return None


def _text_of(content: bytes) -> bytes | None:
    """The text as UTF-8 when the bytes are text a person wrote (UTF-8, UTF-16 with its mark, or the older
    Vietnamese Windows code page) without control characters; None for anything else."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            data = content.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            return None
    else:
        data = content.removeprefix(b"\xef\xbb\xbf")
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                data = data.decode("cp1258").encode("utf-8")
            except UnicodeDecodeError:
                return None
    if CONTROL.search(data):
        return None
    return data


def _is_markup(text: bytes) -> bool:
    """What a browser would take for a web page or a script if it ever rendered the text."""
    return bool(MARKUP_START.match(text[:1024]) or SCRIPT_TAG.search(text[: 1024 * 1024]))
