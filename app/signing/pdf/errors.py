"""Why a PDF is refused: InvalidPdf, the messages for it, mapped_errors, and opening readers and writers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from typing import Any

from pyhanko.pdf_utils.crypt.api import AuthStatus, PdfKeyNotAvailableError
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import LayoutError
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.general import SigningError

from app.errors import N_
from app.signing.images import BAD_STAMP, is_pdf
from app.signing.keys import TOKEN_FAILED, SigningFailure

logger = logging.getLogger(__name__)

EMPTY = N_("The file is empty.")
NOT_A_PDF = N_("The file is not a PDF.")
DAMAGED = N_("The PDF is damaged and cannot be read.")
ENCRYPTED = N_("The PDF is password-protected; remove the password and upload it again.")
NO_NUMBER_FIELDS = N_("The document has no number and date fields; prepare it before the leader signs.")
NUMBER_ALREADY_FILLED = N_("The number and date of this document were already filled in.")
ALREADY_SIGNED_HERE = N_("The document is already signed in this place.")
FIELDS_AFTER_SIGNING = N_("The document is already signed; its number and date fields can no longer be added.")
NO_SUCH_PAGE = N_("The document has no such page.")
SIGNING_FAILED = N_("The document could not be signed.")
BAD_IMAGE = BAD_STAMP
APPEARANCE_TOO_BIG = N_("The signature text does not fit in its box.")
ONLY_RSA = N_("Only RSA certificates can sign at the signer's computer.")
TOKEN_SIGNATURE_MISMATCH = N_("The token's signature does not match this document and certificate; sign again.")
NOTHING_TO_DIGITISE = N_("Upload either one PDF or one or more PNG, JPEG or TIFF images.")


class InvalidPdf(ValueError):
    """Input that is not a usable PDF; `message` is an English sentence for translation, `detail` is for logs."""

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message if not detail else f"{message} ({detail})")
        self.message = message
        self.detail = detail


def read_pdf(data: bytes, *, open_without_password: bool = False) -> PdfFileReader:
    """A reader over `data` after the checks every entry point shares; InvalidPdf when unusable."""
    # Signing refuses any encryption (it would need the owner password); reading may open a PDF whose user
    # password is empty, as viewers do without asking.
    _check_header(data)
    with mapped_errors(InvalidPdf):
        reader = PdfFileReader(BytesIO(data), strict=False)
        if reader.encrypted and not (open_without_password and reader.decrypt("").status != AuthStatus.FAILED):
            raise InvalidPdf(ENCRYPTED)
        int(reader.root["/Pages"]["/Count"])
    return reader


def _check_header(data: bytes) -> None:
    if not data:
        raise InvalidPdf(EMPTY)
    if not is_pdf(data):
        raise InvalidPdf(NOT_A_PDF)


def _open_writer(pdf: bytes) -> IncrementalPdfFileWriter:
    _check_header(pdf)
    with mapped_errors(InvalidPdf):
        writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
        if writer.prev.encrypted:
            raise InvalidPdf(ENCRYPTED)
        int(writer.root["/Pages"]["/Count"])
        return writer


def _write(output: Any) -> bytes:
    if isinstance(output, IncrementalPdfFileWriter):
        buffer = BytesIO()
        output.write(buffer)
        return buffer.getvalue()
    return bytes(output.getvalue())


@contextmanager
def mapped_errors(fallback: type[InvalidPdf] | type[SigningFailure]) -> Iterator[None]:
    """Turn whatever pyHanko, the PDF or the token raise into InvalidPdf or SigningFailure."""
    try:
        yield
    except (InvalidPdf, SigningFailure):
        raise
    except PdfKeyNotAvailableError as error:
        raise InvalidPdf(ENCRYPTED) from error
    except PdfError as error:
        raise InvalidPdf(DAMAGED, detail=f"{type(error).__name__}: {error}") from error
    except SigningError as error:
        text = str(error)
        message = ALREADY_SIGNED_HERE if "filled already" in text else SIGNING_FAILED
        raise SigningFailure(message, detail=text) from error
    except LayoutError as error:
        raise SigningFailure(APPEARANCE_TOO_BIG, detail=str(error)) from error
    except RecursionError as error:  # deeply nested hostile objects
        raise InvalidPdf(DAMAGED, detail="recursion") from error
    except Exception as error:
        if _is_token_error(error):
            raise SigningFailure(TOKEN_FAILED, detail=repr(error)) from error
        if isinstance(error, RuntimeError) and "event loop" in str(error):
            raise  # a programming error: the sync API called from async code
        logger.info("Mapped %r to %s", error, fallback.__name__, exc_info=True)
        message = DAMAGED if fallback is InvalidPdf else SIGNING_FAILED
        raise fallback(message, detail=f"{type(error).__name__}: {error}") from error


def _is_token_error(error: Exception) -> bool:
    return type(error).__module__.startswith("pkcs11")
