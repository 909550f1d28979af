"""Registers printed for binding (Nghị định 30/2020 Phụ lục IV): the yearly sổ đăng ký văn bản đến (IN-6) and
sổ đăng ký văn bản đi (OUT-15)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, load_only

from app.clock import local
from app.documents.models import IncomingDocument, OutgoingDocument, OutgoingState, Register
from app.documents.outgoing import is_outgoing_register
from app.engine.models import HistoryEvent
from app.errors import N_, InvalidInput, PermissionDenied
from app.org.models import Agency, Role, Unit, User
from app.reports.pdf import Column, Cover, day, register_pdf

# Register.kind: the incoming register, the default outgoing one, and further outgoing ones the head of the
# agency may open (Điều 15.1c), named "outgoing:<book>" such as "outgoing:QĐ".
INCOMING, OUTGOING = "incoming", "outgoing"
BOOK_SEPARATOR = ":"
MAX_KIND_LENGTH = 20  # Register.kind's column
FIRST_YEAR, LAST_YEAR = 1900, 9999  # what the cover and dd/mm/yyyy can show
PRINTING_ROLES = frozenset({Role.CLERK, Role.LEADER, Role.DEPUTY_LEADER, Role.ADMIN})


@dataclass(frozen=True)
class IncomingEntry:
    """One line of the incoming register, in the order of Phụ lục IV."""

    arrival_on: date
    arrival_number: int
    organ_name: str
    number_symbol: str
    issued_on: date
    type_name: str
    subject: str
    recipient: str  # the lead unit's name or the lead person's full name, from the leader's direction
    handed_over_on: date | None  # ngày chuyển: when that direction was given
    description: str


@dataclass(frozen=True)
class OutgoingEntry:
    """One line of an outgoing register, in the order of Phụ lục IV."""

    number: int
    number_symbol: str
    issued_on: date | None
    type_name: str
    subject: str
    signer_name: str
    recipients: tuple[str, ...]  # agencies by name (by code when not known here), then the agency's own units
    kept_by: str  # đơn vị nhận bản lưu: the drafting unit (the clerk keeps the original)
    handed_over_on: date | None  # ngày chuyển: the day it was published to its recipients
    note: str


INCOMING_COLUMNS = (
    Column("Ngày đến", 19, is_centred=True),
    Column("Số đến", 12, is_centred=True),
    Column("Tác giả", 38),
    Column("Số, ký hiệu văn bản", 28),
    Column("Ngày tháng văn bản", 19, is_centred=True),
    Column("Tên loại và trích yếu nội dung", 70),
    Column("Đơn vị hoặc người nhận", 32),
    Column("Ngày chuyển", 19, is_centred=True),
    Column("Ký nhận", 17),
    Column("Ghi chú", 19),
)
OUTGOING_COLUMNS = (
    Column("Số, ký hiệu văn bản", 24),
    Column("Ngày tháng văn bản", 19, is_centred=True),
    Column("Tên loại và trích yếu nội dung", 64),
    Column("Người ký", 28),
    Column("Nơi nhận văn bản", 44),
    Column("Đơn vị, người nhận bản lưu", 28),
    Column("Số lượng bản", 14, is_centred=True),  # IssuedAmount is not recorded: written by hand, as Ký nhận
    Column("Ngày chuyển", 19, is_centred=True),
    Column("Ký nhận", 15),
    Column("Ghi chú", 18),
)

_Numbered = TypeVar("_Numbered", IncomingDocument, OutgoingDocument)
_Line = tuple[int, date | None, tuple[str, ...]]  # a register's number, its day, its cells


def ensure_may_print_registers(user: User, agency: Agency) -> None:
    """Only the clerks, leaders, deputy leaders and administrators of the agency print its registers (IN-6,
    OUT-15)."""
    if user.agency_id != agency.id or not user.has_role(*PRINTING_ROLES):
        raise PermissionDenied(N_("Only the clerks, leaders and administrators of the agency print its registers."))


def is_outgoing_kind(kind: str) -> bool:
    """`outgoing`, the default outgoing register, or `outgoing:<book>`, a further one such as `outgoing:QĐ`."""
    return is_outgoing_register(kind)


def book_name(kind: str) -> str:
    """The name of a further register (`QĐ` of `outgoing:QĐ`); empty for a default one."""
    return kind.partition(BOOK_SEPARATOR)[2]


def register_years(session: Session, agency_id: int, kind: str = INCOMING) -> list[int]:
    """The years in which the agency opened a register of this kind, latest first."""
    query = select(Register.year).where(Register.agency_id == agency_id, Register.kind == kind)
    return list(session.scalars(query.distinct().order_by(Register.year.desc())))


def outgoing_books(session: Session, agency_id: int) -> dict[str, list[int]]:
    """The agency's further outgoing registers by kind, each with the years it was opened, latest first."""
    further = Register.kind.startswith(OUTGOING + BOOK_SEPARATOR, autoescape=True)
    books: dict[str, list[int]] = {}
    for kind, year in session.execute(
        select(Register.kind, Register.year)
        .where(Register.agency_id == agency_id, further)
        .order_by(Register.kind, Register.year.desc())
    ):
        books.setdefault(kind, []).append(year)
    return books


def _of_the_register(document: type[_Numbered], agency_id: int, kind: str, year: int) -> Select[_Numbered]:
    """The documents numbered in the agency's register of this kind and year."""
    return (
        select(document)
        .join(Register, Register.id == document.register_id)
        .where(Register.agency_id == agency_id, Register.kind == kind, Register.year == year)
    )


def incoming_entries(session: Session, agency_id: int, year: int) -> list[IncomingEntry]:
    """The incoming register of the year in số đến order, with each document's direction (one query each)."""
    of_the_year = _of_the_register(IncomingDocument, agency_id, INCOMING, year)
    documents = session.scalars(
        of_the_year.options(
            load_only(
                IncomingDocument.arrival_at,
                IncomingDocument.arrival_number,
                IncomingDocument.organ_name,
                IncomingDocument.code_number,
                IncomingDocument.code_notation,
                IncomingDocument.issued_date,
                IncomingDocument.type_name,
                IncomingDocument.subject,
                IncomingDocument.description,
                IncomingDocument.instance_id,
            )
        ).order_by(IncomingDocument.arrival_number)
    ).all()
    instance_ids = of_the_year.with_only_columns(IncomingDocument.instance_id).where(
        IncomingDocument.instance_id.is_not(None)
    )
    directions = _directions(session, agency_id, instance_ids)
    return [
        IncomingEntry(
            arrival_on=local(document.arrival_at).date(),
            arrival_number=document.arrival_number,
            organ_name=document.organ_name,
            number_symbol=document.number_symbol,
            issued_on=document.issued_date,
            type_name=document.type_name,
            subject=document.subject,
            recipient=directions[document.instance_id][0] if document.instance_id in directions else "",
            handed_over_on=directions[document.instance_id][1] if document.instance_id in directions else None,
            description=document.description or "",
        )
        for document in documents
    ]


def _directions(session: Session, agency_id: int, instance_ids: Select[Any]) -> dict[int, tuple[str, date]]:
    """The first completed task of each instance that named a lead handler or unit: (its name, the day)."""
    events = session.execute(
        select(HistoryEvent.instance_id, HistoryEvent.at, HistoryEvent.data_after)
        .where(
            HistoryEvent.instance_id.in_(instance_ids),
            HistoryEvent.kind == "task_completed",
            HistoryEvent.data_after.contains('"lead', autoescape=True),  # lead or lead_unit: skip the others
        )
        .order_by(HistoryEvent.instance_id, HistoryEvent.seq)
    )
    leads: dict[int, tuple[str, str, datetime]] = {}
    for instance_id, at, data_after in events:
        if instance_id in leads:
            continue
        data = json.loads(data_after)
        lead, lead_unit = str(data.get("lead") or ""), str(data.get("lead_unit") or "")
        if lead or lead_unit:
            leads[instance_id] = (lead, lead_unit, at)
    if not leads:
        return {}
    units = {
        code: name for code, name in session.execute(select(Unit.code, Unit.name).where(Unit.agency_id == agency_id))
    }
    usernames = {lead for lead, _unit, _at in leads.values() if lead}
    people = {
        username: full_name
        for username, full_name in session.execute(
            select(User.username, User.full_name).where(User.username.in_(usernames))
        )
    }
    return {
        instance_id: (
            " – ".join(name for name in (units.get(unit, unit), people.get(lead, lead)) if name),
            local(at).date(),
        )
        for instance_id, (lead, unit, at) in leads.items()
    }


def outgoing_entries(session: Session, agency_id: int, year: int, kind: str = OUTGOING) -> list[OutgoingEntry]:
    """An outgoing register of the year in number order, recipients and units by name (three queries)."""
    documents = session.scalars(
        _of_the_register(OutgoingDocument, agency_id, kind, year)
        .where(OutgoingDocument.number.is_not(None))
        .options(
            load_only(
                OutgoingDocument.number,
                OutgoingDocument.code_number,
                OutgoingDocument.code_notation,
                OutgoingDocument.issued_date,
                OutgoingDocument.type_name,
                OutgoingDocument.subject,
                OutgoingDocument.signer_name,
                OutgoingDocument.signer_position,
                OutgoingDocument.recipients_json,
                OutgoingDocument.internal_units_json,
                OutgoingDocument.unit_id,
                OutgoingDocument.state,
                OutgoingDocument.published_at,
                OutgoingDocument.recalled_at,
            )
        )
        .order_by(OutgoingDocument.number)
    ).all()
    recipients = {document.id: _codes(document.recipients_json) for document in documents}
    codes = set().union(*recipients.values())
    agencies: dict[str, str] = {}
    if codes:
        agencies = {
            code: name for code, name in session.execute(select(Agency.code, Agency.name).where(Agency.code.in_(codes)))
        }
    units = session.execute(select(Unit.id, Unit.code, Unit.name).where(Unit.agency_id == agency_id)).all()
    unit_by_code = {code: name for _id, code, name in units}
    unit_by_id = {unit_id: name for unit_id, _code, name in units}
    return [
        OutgoingEntry(
            number=number,
            number_symbol=document.number_symbol or "/".join(filter(None, (f"{number:02d}", document.code_notation))),
            issued_on=document.issued_date,
            type_name=document.type_name,
            subject=document.subject,
            signer_name=document.signer_name or document.signer_position,
            recipients=(
                *(agencies.get(code, code) for code in recipients[document.id]),
                *(unit_by_code.get(code, code) for code in _codes(document.internal_units_json)),
            ),
            kept_by=unit_by_id.get(document.unit_id, "") if document.unit_id is not None else "",
            handed_over_on=local(document.published_at).date() if document.published_at else None,
            note=_outgoing_note(document),
        )
        for document in documents
        if (number := document.number) is not None
    ]


def _codes(json_list: str) -> list[str]:
    return [str(code) for code in json.loads(json_list or "[]") if code]


def _outgoing_note(document: OutgoingDocument) -> str:
    """A recalled or cancelled document keeps its line, so the numbers stay gapless; the note says why."""
    if document.state == OutgoingState.RECALLED:
        return f"Đã thu hồi ngày {day(local(document.recalled_at).date())}" if document.recalled_at else "Đã thu hồi"
    return "Đã hủy" if document.state == OutgoingState.CANCELLED else ""


def _type_and_subject(type_name: str, subject: str) -> str:
    return f"{type_name} – {subject}" if type_name else subject


def _register_pdf(
    agency: Agency,
    title: str,
    year: int,
    columns: tuple[Column, ...],
    lines: list[_Line],
    *,
    now: datetime,
    book: str = "",
) -> bytes:
    """A register whose cover runs from the first line's number and day to the last line's, then its table."""
    first, last = (lines[0], lines[-1]) if lines else (None, None)
    cover = Cover(
        agency=agency,
        title=title,
        year=year,
        first_on=first[1] if first else None,
        last_on=last[1] if last else None,
        first_number=first[0] if first else None,
        last_number=last[0] if last else None,
        book=book,
    )
    return register_pdf(cover, columns, (cells for _number, _on, cells in lines), now=now)


def incoming_register_pdf(session: Session, agency: Agency, year: int, *, now: datetime) -> bytes:
    """The sổ đăng ký văn bản đến of the year as a PDF to print and bind: cover, then the table (IN-6)."""
    lines: list[_Line] = [
        (
            entry.arrival_number,
            entry.arrival_on,
            (
                day(entry.arrival_on),
                str(entry.arrival_number),
                entry.organ_name,
                entry.number_symbol,
                day(entry.issued_on),
                _type_and_subject(entry.type_name, entry.subject),
                entry.recipient,
                day(entry.handed_over_on),
                "",
                entry.description,
            ),
        )
        for entry in incoming_entries(session, agency.id, year)
    ]
    return _register_pdf(agency, "SỔ ĐĂNG KÝ VĂN BẢN ĐẾN", year, INCOMING_COLUMNS, lines, now=now)


def outgoing_register_pdf(session: Session, agency: Agency, year: int, *, kind: str = OUTGOING, now: datetime) -> bytes:
    """The sổ đăng ký văn bản đi of the year, or of a further outgoing register, as a PDF to bind (OUT-15)."""
    if not is_outgoing_kind(kind):
        raise InvalidInput(N_("%(kind)s is not an outgoing register."), kind=kind)
    lines: list[_Line] = [
        (
            entry.number,
            entry.issued_on,
            (
                entry.number_symbol,
                day(entry.issued_on),
                _type_and_subject(entry.type_name, entry.subject),
                entry.signer_name,
                "; ".join(entry.recipients),
                entry.kept_by,
                "",
                day(entry.handed_over_on),
                "",
                entry.note,
            ),
        )
        for entry in outgoing_entries(session, agency.id, year, kind)
    ]
    return _register_pdf(agency, "SỔ ĐĂNG KÝ VĂN BẢN ĐI", year, OUTGOING_COLUMNS, lines, now=now, book=book_name(kind))
