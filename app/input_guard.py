"""Request text that no database or document can hold is refused at the door, and ids stay in range.

PostgreSQL refuses NUL in text, XML (edXML packages) refuses the other C0 controls, and an id beyond a 32-bit
integer makes PostgreSQL raise "integer out of range": each would be a 500 deep inside a view or a job.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask import Flask, request
from werkzeug.routing import IntegerConverter

from app.errors import N_, DomainError

# The largest id of an INTEGER column on PostgreSQL (SQLite's are 64-bit: the smaller bound holds for both).
MAX_ID = 2**31 - 1
# NUL and the C0 controls other than tab and line breaks, lone surrogates and the two non-characters XML refuses.
UNUSABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Views that read the raw body themselves (with their own size limit): their body is never parsed as a form here.
RAW_BODY_ENDPOINTS = {"interop.receive_package"}


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: a non-negative id no larger than MAX_ID; any other number is not found."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def parse_id(raw: str | None) -> int | None:
    """An id typed in a query string or a form ('12'), or None when it is not one (ASCII digits, ≤ MAX_ID)."""
    value = (raw or "").strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 10 or int(value) > MAX_ID:
        return None
    return int(value)


def is_usable(text: str) -> bool:
    return UNUSABLE.search(text) is None


def _texts() -> Iterable[str]:
    yield from request.args.keys()
    for values in request.args.listvalues():
        yield from values
    # File contents are not text: only the form's own fields (and the files' names) are checked.
    if request.mimetype in FORM_TYPES and request.endpoint not in RAW_BODY_ENDPOINTS:
        yield from request.form.keys()
        for values in request.form.listvalues():
            yield from values
        for _name, upload in request.files.items(multi=True):
            yield upload.filename or ""
    for value in (request.view_args or {}).values():
        if isinstance(value, str):
            yield value


def refuse_unusable_input() -> None:
    if not all(is_usable(text) for text in _texts()):
        raise DomainError(
            N_(
                "The request holds characters that cannot be stored (such as a NUL character). "
                "Remove them and try again."
            )
        )


def install(app: Flask) -> None:
    """Before any blueprint is registered (the converter is bound when a route is added) and before CSRF."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_unusable_input)
