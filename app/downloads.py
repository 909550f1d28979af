"""Sending stored or generated files to the browser: the one way every download route answers.

The type comes from the bytes (app.filetypes), never from the name or from what an uploader or a sending
agency declared. Everything is an attachment, except a PDF the server opened, which a page may show inline.
"""

from __future__ import annotations

from io import BytesIO

from flask import Response, send_file

from app.filetypes import PDF, content_type

ATTACHMENT_POLICY = "sandbox; default-src 'none'"
# A PDF shown in the browser's viewer: nothing it may fetch or run; Chromium will not start its PDF viewer
# in a sandboxed document, hence no `sandbox` here (the bytes were checked to be a PDF that opens).
INLINE_PDF_POLICY = "default-src 'none'; object-src 'self'; style-src 'unsafe-inline'; img-src data:"


def send_stored(content: bytes, file_name: str, *, inline_pdf: bool = False) -> Response:
    """`content` as a download named `file_name` (RFC 6266, filename* in UTF-8 keeps Vietnamese names);
    shown inline only when `inline_pdf` asks for it and the bytes are a PDF that opens."""
    kind = content_type(content)
    inline = inline_pdf and kind == PDF
    response = send_file(
        BytesIO(content),
        mimetype=kind,
        as_attachment=not inline,
        download_name=file_name or "tep",
        etag=False,
        conditional=False,
        max_age=None,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = INLINE_PDF_POLICY if inline else ATTACHMENT_POLICY
    response.headers["Cache-Control"] = "private, no-store"
    return response
