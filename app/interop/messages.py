"""What an edXML package carries, as plain values: no database, no XML (domain.md §2.3–2.6).

`Header` is the documents domain's (`app.documents.exchange.Header`): the registration fields a package carries.
`organ_code` / `organ_name` are the issuing agency, written as `From`; `extra` holds the optional elements listed
in `edxml.EXTRA_ELEMENTS` by their key (a key not listed there cannot be written)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from app.documents.exchange import Header as Header  # re-exported: the package layer speaks its fields
from app.errors import InvalidInput

# Bussiness.BussinessDocType (§2.5).
NEW, RECALL, UPDATE, REPLACE = 0, 1, 2, 3
BUSINESS_TYPES = (NEW, RECALL, UPDATE, REPLACE)
# DocumentType.Type: 1 văn bản quy phạm pháp luật, 2 văn bản hành chính.
DOCUMENT_TYPES = (1, 2)
# SteeringType: 0 not a steering document, 1 steering document, 2 report on a steering document.
STEERING_TYPES = (0, 1, 2)
# OtherInfo.Priority: 0 Thường, 1 Khẩn, 2 Thượng khẩn, 3 Hỏa tốc, 4 Hỏa tốc hẹn giờ.
PRIORITIES = (0, 1, 2, 3, 4)
# StatusCode of a status package (§2.6); app.documents.models.ExchangeStatus has the same codes plus its own "00".
STATUS_CODES = ("01", "02", "03", "04", "05", "06", "13", "15", "16")


class PackageError(InvalidInput):
    """A package that cannot be read or written; the message names the element or the fault."""

    def __init__(self, reason: str, **params: Any) -> None:
        super().__init__(reason, **params)

    @property
    def reason(self) -> str:
        return str(self)


class StatusNotDocument(PackageError):
    """A status package handed to the document reader: the caller reads it as a status instead."""


class Attachment(NamedTuple):
    name: str
    content_type: str
    content: bytes
    description: str = ""


@dataclass(frozen=True)
class DocumentRef:
    """A document as its sender identifies it (`ResponseFor`): organ, số/ký hiệu, date, DocumentId."""

    organ_code: str
    number_symbol: str
    issued_date: date | None
    document_id: str


@dataclass(frozen=True)
class Message:
    """One edXML document package. The sender is the header's issuing organ (`sender_code`, `sender_name`).

    `document_id` defaults to "OrganId,yyyy,số" from the header (§2.2); `sent_at` is the trace timestamp."""

    header: Header
    recipients: list[tuple[str, str]]
    message_id: str
    attachments: list[Attachment] = field(default_factory=list)
    business_type: int = NEW
    business_reason: str = ""  # BussinessDocReason: why a document is recalled, updated or replaced
    response_for: list[DocumentRef] = field(default_factory=list)
    document_id: str = ""
    document_type: int = 2
    steering_type: int = 0
    to_places: list[str] = field(default_factory=list)
    sent_at: datetime | None = None

    def __post_init__(self) -> None:
        if not self.document_id:
            object.__setattr__(self, "document_id", default_document_id(self.header))

    @property
    def sender_code(self) -> str:
        return self.header.organ_code

    @property
    def sender_name(self) -> str:
        return self.header.organ_name


def split_number_symbol(number_symbol: str) -> tuple[str, str]:
    """ "12/UBND-VP" → ("12", "UBND-VP"): CodeNumber and CodeNotation split at the first slash."""
    number, _, notation = number_symbol.partition("/")
    return number.strip(), notation.strip()


def join_number_symbol(number: str, notation: str) -> str:
    return f"{number}/{notation}" if notation else number


def default_document_id(header: Header) -> str:
    """`<OrganId>,<năm>,<số>` (§2.2; whether số keeps leading zeros is unverified: it is kept as issued)."""
    return f"{header.organ_code},{header.issued_date.year},{split_number_symbol(header.number_symbol)[0]}"


@dataclass(frozen=True)
class StaffInfo:
    department: str = ""
    staff: str = ""
    mobile: str = ""
    email: str = ""


@dataclass(frozen=True)
class StatusMessage:
    """One status package (§2.6): where `response_for` stands at the agency `sender_code`."""

    response_for: DocumentRef
    sender_code: str
    sender_name: str
    status_code: str
    timestamp: datetime
    description: str = ""
    staff: StaffInfo = field(default_factory=StaffInfo)
