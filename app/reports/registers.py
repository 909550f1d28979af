"""Registers printed for binding (Nghị định 30/2020 Phụ lục IV): the yearly sổ đăng ký văn bản đến (IN-6)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, load_only

from app.clock import local
from app.documents.models import IncomingDocument, Register
from app.engine.models import HistoryEvent
from app.errors import N_, PermissionDenied
from app.org.models import Agency, Role, Unit, User
from app.reports.pdf import Column, Cover, day, register_pdf

INCOMING = "incoming"  # Register.kind
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


def ensure_may_print_registers(user: User, agency: Agency) -> None:
    """Only the clerks, leaders, deputy leaders and administrators of the agency print its registers (IN-6)."""
    if user.agency_id != agency.id or not user.has_role(*PRINTING_ROLES):
        raise PermissionDenied(N_("Only the clerks, leaders and administrators of the agency print its registers."))


def register_years(session: Session, agency_id: int, kind: str = INCOMING) -> list[int]:
    """The years in which the agency opened a register of this kind, latest first."""
    query = select(Register.year).where(Register.agency_id == agency_id, Register.kind == kind)
    return list(session.scalars(query.distinct().order_by(Register.year.desc())))


def incoming_entries(session: Session, agency_id: int, year: int) -> list[IncomingEntry]:
    """The incoming register of the year in số đến order, with each document's direction (one query each)."""
    of_the_year = (
        select(IncomingDocument)
        .join(Register, Register.id == IncomingDocument.register_id)
        .where(Register.agency_id == agency_id, Register.kind == INCOMING, Register.year == year)
    )
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


def incoming_register_pdf(session: Session, agency: Agency, year: int, *, now: datetime) -> bytes:
    """The sổ đăng ký văn bản đến of the year as a PDF to print and bind: cover, then the table (IN-6)."""
    entries = incoming_entries(session, agency.id, year)
    cover = Cover(
        agency=agency,
        title="SỔ ĐĂNG KÝ VĂN BẢN ĐẾN",
        year=year,
        first_on=entries[0].arrival_on if entries else None,
        last_on=entries[-1].arrival_on if entries else None,
        first_number=entries[0].arrival_number if entries else None,
        last_number=entries[-1].arrival_number if entries else None,
    )
    rows = (
        (
            day(entry.arrival_on),
            str(entry.arrival_number),
            entry.organ_name,
            entry.number_symbol,
            day(entry.issued_on),
            f"{entry.type_name} – {entry.subject}" if entry.type_name else entry.subject,
            entry.recipient,
            day(entry.handed_over_on),
            "",
            entry.description,
        )
        for entry in entries
    )
    return register_pdf(cover, INCOMING_COLUMNS, rows, now=now)
