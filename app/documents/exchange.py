"""Documents between agencies: sending to recipients, receiving, the clerk's accept or return (IN-1 … IN-3), and
the status each recipient reports back to the sender (OUT-13, OUT-16).

Within the installation a document travels as rows: the sender's `Delivery` and the recipient's
`ReceivedDocument` are written in the same transaction, and every status the recipient reports updates the
sender's row at once. Agencies outside the installation are reached through transports that app/interop
registers (edXML packages); to this module a transport is a function, and the statuses are those of QCVN 102."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app import filetypes
from app.documents.models import (
    Delivery,
    DeliveryEvent,
    ExchangeStatus,
    IncomingDocument,
    ReceivedDocument,
    ReceivedFile,
    ReceivedState,
)
from app.documents.services import AGENCY_CODE, Upload, check_upload, register_incoming
from app.engine.models import ProcessInstance
from app.engine.scripting import ScriptContext
from app.engine.services import cancel_instance
from app.errors import N_, InvalidInput, NotFound, PermissionDenied
from app.org.models import Agency, Role, User

WITHIN = "internal"  # the transport of agencies in this installation
RECEIVED_VIA = "Trục liên thông"  # the registration's "received via" value for documents that came electronically
VIEWERS = {Role.CLERK, Role.LEADER, Role.DEPUTY_LEADER, Role.ADMIN}
# Where each status stands in the recipient's handling; a status never moves a delivery backwards.
STAGE = {
    ExchangeStatus.SENT: 0,
    ExchangeStatus.ARRIVED: 1,
    ExchangeStatus.RETURNED: 2,
    ExchangeStatus.ACCEPTED: 2,
    ExchangeStatus.ASSIGNED: 3,
    ExchangeStatus.IN_PROGRESS: 4,
    ExchangeStatus.COMPLETED: 5,
}
PROCESS_STATUSES = {  # what a diagram may report with report_status(...)
    "assigned": ExchangeStatus.ASSIGNED,
    "in_progress": ExchangeStatus.IN_PROGRESS,
    "completed": ExchangeStatus.COMPLETED,
}


@dataclass(frozen=True)
class Header:
    """What travels with a document: the fields the recipient's registration is filled from (Phụ lục VI)."""

    organ_code: str
    organ_name: str
    number_symbol: str
    issued_date: date
    type_name: str
    subject: str
    urgency: int = 0
    page_amount: int = 1
    signer_position: str = ""
    signer_name: str = ""
    due_date: date | None = None
    description: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    steering_type: int = 0  # 0 not a steering document, 1 steering, 2 report on one (QCVN 102 SteeringType)
    # The documents this one answers: (organ code, số/ký hiệu, ISO date, mã định danh văn bản) each (IN-11).
    response_for: tuple[tuple[str, str, str, str], ...] = ()

    def to_json(self) -> str:
        data = asdict(self)
        data["issued_date"] = self.issued_date.isoformat()
        data["due_date"] = self.due_date.isoformat() if self.due_date else None
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Header:
        data = json.loads(text)
        data["issued_date"] = date.fromisoformat(data["issued_date"])
        data["due_date"] = date.fromisoformat(data["due_date"]) if data.get("due_date") else None
        data["response_for"] = tuple(tuple(item) for item in data.get("response_for", ()))
        return cls(**data)

    def registration_values(self) -> dict[str, str]:
        """The registration form's fields, as the clerk finds them filled in when accepting."""
        return {
            "organ_name": self.organ_name,
            "organ_code": self.organ_code,
            "number_symbol": self.number_symbol,
            "issued_date": self.issued_date.isoformat(),
            "type_name": self.type_name,
            "subject": self.subject,
            "urgency": str(self.urgency),
            "page_amount": str(self.page_amount),
            "signer_position": self.signer_position,
            "signer_name": self.signer_name,
            "due_date": self.due_date.isoformat() if self.due_date else "",
            "description": self.description,
            "received_via": RECEIVED_VIA,
        }


@dataclass(frozen=True)
class Outgoing:
    """A document leaving one agency for one recipient outside the installation, for a transport to carry."""

    delivery: Delivery
    sender: Agency
    header: Header
    files: list[Upload]


# Transports for recipients outside the installation, and for status reports back to senders outside it,
# registered by app/interop (by name, so a second app in one process replaces rather than doubles them).
Transport = Callable[[Session, Outgoing], None]
StatusSender = Callable[[Session, ReceivedDocument, ExchangeStatus, str, str, datetime], None]
Listener = Callable[[Session, Any, datetime], None]
_transports: dict[str, Transport] = {}
_status_senders: dict[str, StatusSender] = {}
_arrival_listeners: dict[str, Listener] = {}
_status_listeners: dict[str, Listener] = {}
_recall_senders: dict[str, Callable[[Session, Delivery, str, datetime], None]] = {}
_recall_listeners: dict[str, Listener] = {}


RecallSender = Callable[[Session, Delivery, str, datetime], None]
# code → (transport, name) when the directory says how an agency is reached (app/interop's directory); None: the
# agency is reached within the installation when it is ours, else by the only or the named transport.
Router = Callable[[Session, str], "tuple[str, str] | None"]
_routers: dict[str, Router] = {}


def register_transport(
    name: str,
    transport: Transport,
    status_sender: StatusSender | None = None,
    recall_sender: RecallSender | None = None,
) -> None:
    """A way for documents to travel. Registering WITHIN replaces the row-to-row path inside the installation
    (app/interop carries the same packages there as outside); its statuses still go to the sender's row."""
    _transports[name] = transport
    if status_sender is not None:
        _status_senders[name] = status_sender
    if recall_sender is not None:
        _recall_senders[name] = recall_sender


def register_router(name: str, router: Router) -> None:
    _routers[name] = router


def _route(session: Session, code: str) -> tuple[str, str] | None:
    for router in _routers.values():
        route = router(session, code)
        if route is not None:
            return route
    return None


def on_arrival(name: str, listener: Callable[[Session, ReceivedDocument, datetime], None]) -> None:
    """Called in the transaction that brought a new document to an agency (the inbox tells its clerks)."""
    _arrival_listeners[name] = listener


def on_status(name: str, listener: Callable[[Session, DeliveryEvent, datetime], None]) -> None:
    """Called in the transaction that recorded a recipient's status at the sender (the inbox tells its clerks)."""
    _status_listeners[name] = listener


# --- sending ---------------------------------------------------------------------------------------------


def send(
    session: Session,
    sender: Agency,
    header: Header,
    files: list[Upload],
    recipient_codes: list[str],
    *,
    actor: str,
    now: datetime,
    transport: str = "",
    outgoing_id: int | None = None,
    flag_after: datetime | None = None,
) -> list[Delivery]:
    """Send one document to each recipient (by mã định danh): agencies of the installation receive it at once;
    others through `transport` (or the only one configured)."""
    if not files:
        raise InvalidInput(N_("A document is sent with its files."))
    for upload in files:
        check_upload(upload)
    codes = list(dict.fromkeys(code.strip() for code in recipient_codes if code.strip()))
    if not codes:
        raise InvalidInput(N_("Choose at least one recipient."), {"recipients": N_("Choose at least one recipient.")})
    deliveries = []
    for code in codes:
        route = _route(session, code)
        if not AGENCY_CODE.match(code) and route is None:
            raise InvalidInput(
                N_("%(code)s is not an agency code (write it as 000.00.12.H34)."),
                {"recipients": N_("Write it as 000.00.12.H34.")},
                code=code,
            )
        if code == sender.code:
            raise InvalidInput(N_("An agency does not send documents to itself; choose its units instead."))
        recipient = session.scalar(select(Agency).where(Agency.code == code, Agency.is_active.is_(True)))
        if route is not None:
            chosen = route[0]
        elif recipient is not None:
            chosen = WITHIN
        else:
            chosen = transport or _only_transport(code)
        delivery = Delivery(
            message_id=str(uuid.uuid4()),
            sender_agency_id=sender.id,
            recipient_code=code,
            recipient_name=recipient.name if recipient else (route[1] if route else code),
            recipient_agency_id=recipient.id if recipient else None,
            transport=chosen,
            number_symbol=header.number_symbol,
            subject=header.subject,
            urgency=header.urgency,
            status=ExchangeStatus.SENT,
            status_at=now,
            sent_at=now,
            sent_by=actor,
            outgoing_id=outgoing_id,
            flag_after=flag_after,
        )
        session.add(delivery)
        session.flush()
        session.add(DeliveryEvent(delivery_id=delivery.id, status=ExchangeStatus.SENT, at=now, reported_by=actor))
        if chosen in _transports:
            _transports[chosen](session, Outgoing(delivery, sender, header, files))
        elif chosen == WITHIN and recipient is not None:
            receive(
                session,
                recipient,
                message_id=delivery.message_id,
                transport=WITHIN,
                sender_code=sender.code,
                sender_name=sender.name,
                header=header,
                files=files,
                now=now,
                delivery_id=delivery.id,
            )
        else:
            raise InvalidInput(N_("There is no exchange transport named %(name)s."), name=chosen)
        deliveries.append(delivery)
    return deliveries


def _only_transport(code: str) -> str:
    outside = [name for name in _transports if name != WITHIN]
    if len(outside) == 1:
        return outside[0]
    raise InvalidInput(
        N_("The agency %(code)s is not in this installation and no exchange transport is configured for it."),
        {"recipients": N_("Not an agency of this installation.")},
        code=code,
    )


def record_status(
    session: Session, delivery: Delivery, status: ExchangeStatus, *, note: str, by: str, at: datetime
) -> DeliveryEvent | None:
    """A recipient's status at the sender: kept in order of handling; a repeated or older status is ignored."""
    current = ExchangeStatus(delivery.status)
    if status in STAGE and current in STAGE and STAGE[status] <= STAGE[current]:
        return None
    event = DeliveryEvent(delivery_id=delivery.id, status=status, at=at, note=note[:4000], reported_by=by[:200])
    session.add(event)
    delivery.status, delivery.status_at, delivery.status_note = status, at, note[:4000]
    session.flush()
    for listener in _status_listeners.values():
        listener(session, event, at)
    return event


# --- receiving ---------------------------------------------------------------------------------------------


def receive(
    session: Session,
    agency: Agency,
    *,
    message_id: str,
    transport: str,
    sender_code: str,
    sender_name: str,
    header: Header,
    files: list[Upload],
    now: datetime,
    delivery_id: int | None = None,
    document_id: str = "",
) -> ReceivedDocument:
    """A document enters the agency's system: kept for its clerk, and "arrived" (01) goes back to the sender
    (OUT-16: the time of receipt is this moment). The same message twice is the same document."""
    existing = session.scalar(
        select(ReceivedDocument).where(
            ReceivedDocument.agency_id == agency.id, ReceivedDocument.message_id == message_id
        )
    )
    if existing is not None:
        return existing
    received = ReceivedDocument(
        agency_id=agency.id,
        message_id=message_id,
        transport=transport,
        delivery_id=delivery_id,
        document_id=document_id[:100],
        sender_code=sender_code,
        sender_name=sender_name[:200],
        number_symbol=header.number_symbol[:42],
        subject=header.subject[:500],
        urgency=header.urgency,
        header_json=header.to_json(),
        state=ReceivedState.PENDING,
        last_status=ExchangeStatus.SENT,
        received_at=now,
    )
    session.add(received)
    session.flush()
    for upload in files:
        session.add(
            ReceivedFile(
                received_id=received.id,
                file_name=upload.file_name[:255],
                content_type=filetypes.type_for(upload.file_name),
                size=len(upload.content),
                sha256=hashlib.sha256(upload.content).hexdigest(),
                content=upload.content,
            )
        )
    report(session, received, ExchangeStatus.ARRIVED, note="", by=agency.name, now=now)
    for listener in _arrival_listeners.values():
        listener(session, received, now)
    return received


def report(
    session: Session, received: ReceivedDocument, status: ExchangeStatus, *, note: str, by: str, now: datetime
) -> bool:
    """Tell the sender where its document stands here; False when the status adds nothing (already said)."""
    if status in STAGE:
        if STAGE[status] <= STAGE.get(ExchangeStatus(received.last_status), 0):
            return False
        received.last_status = status
    if received.delivery_id is not None:
        delivery = session.get(Delivery, received.delivery_id)
        if delivery is not None:
            record_status(session, delivery, status, note=note, by=by, at=now)
    elif received.transport in _status_senders:
        _status_senders[received.transport](session, received, status, note, by, now)
    return True


def pending(session: Session, user: User) -> list[ReceivedDocument]:
    """What waits for the clerk's check: Hỏa tốc first, then oldest first (IN-7)."""
    _check_viewer(user)
    query = (
        select(ReceivedDocument)
        .where(ReceivedDocument.agency_id == user.agency_id, ReceivedDocument.state == ReceivedState.PENDING)
        .order_by(ReceivedDocument.urgency.desc(), ReceivedDocument.received_at)
    )
    return list(session.scalars(query))


def pending_count(session: Session, agency_id: int) -> int:
    query = select(func.count()).where(
        ReceivedDocument.agency_id == agency_id, ReceivedDocument.state == ReceivedState.PENDING
    )
    return int(session.scalar(query) or 0)


def recent_decisions(session: Session, user: User, *, limit: int = 20) -> list[ReceivedDocument]:
    _check_viewer(user)
    query = (
        select(ReceivedDocument)
        .where(ReceivedDocument.agency_id == user.agency_id, ReceivedDocument.state != ReceivedState.PENDING)
        .order_by(ReceivedDocument.decided_at.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def received_for(session: Session, user: User, received_id: int) -> ReceivedDocument:
    received = session.get(ReceivedDocument, received_id)
    if received is None:
        raise NotFound(N_("No such document."))
    if received.agency_id != user.agency_id:
        raise PermissionDenied(N_("This document is outside your scope."))
    _check_viewer(user)
    return received


def header_of(received: ReceivedDocument) -> Header:
    return Header.from_json(received.header_json)


def _check_viewer(user: User) -> None:
    if not user.roles & VIEWERS:
        raise PermissionDenied(N_("Documents waiting for acceptance are seen by the clerk and the leaders."))


def check_decider(received: ReceivedDocument, user: User) -> None:
    """Only the receiving agency's clerk accepts or returns (IN-2, IN-3): asked before the form is read."""
    if not user.has_role(Role.CLERK) or user.agency_id != received.agency_id:
        raise PermissionDenied(N_("Only the agency's clerk accepts or returns a received document."))


def _decide(received: ReceivedDocument, clerk: User) -> None:
    check_decider(received, clerk)
    if received.state != ReceivedState.PENDING:
        raise InvalidInput(N_("This document has already been accepted or returned."))


def return_to_sender(
    session: Session, clerk: User, received: ReceivedDocument, reason: str, *, now: datetime
) -> ReceivedDocument:
    """Send the document back with the reason (IN-2): invalid signature, wrong recipient, …"""
    _lock(session, received)
    _decide(received, clerk)
    reason = reason.strip()
    if len(reason) < 5:
        raise InvalidInput(N_("Write the reason for the sender."), {"reason": N_("Write the reason for the sender.")})
    received.state, received.note = ReceivedState.RETURNED, reason[:4000]
    received.decided_at, received.decided_by_id = now, clerk.id
    report(session, received, ExchangeStatus.RETURNED, note=reason, by=_by(clerk), now=now)
    session.flush()
    return received


def accept(
    session: Session,
    clerk: User,
    received: ReceivedDocument,
    values: dict[str, Any],
    more_files: list[Upload],
    *,
    now: datetime,
    signing_secret: str = "",
) -> IncomingDocument:
    """Register the received document with its files (IN-5) and tell the sender it was accepted (IN-3)."""
    _lock(session, received)
    _decide(received, clerk)
    files = [Upload(item.file_name, item.content_type, item.content) for item in received.files]
    values = {**values, "received_via": values.get("received_via") or RECEIVED_VIA, "is_paper": False}
    document = register_incoming(session, clerk, values, files + more_files, now=now, signing_secret=signing_secret)
    received.state, received.incoming_document_id = ReceivedState.ACCEPTED, document.id
    received.decided_at, received.decided_by_id = now, clerk.id
    report(session, received, ExchangeStatus.ACCEPTED, note=document.number_symbol, by=_by(clerk), now=now)
    session.flush()
    return document


def _lock(session: Session, received: ReceivedDocument) -> None:
    """Two clerks deciding at once: the second waits, then sees the first one's decision."""
    session.execute(select(ReceivedDocument.id).where(ReceivedDocument.id == received.id).with_for_update()).one()
    session.refresh(received)


def _by(user: User) -> str:
    return f"{user.full_name} ({user.agency.name})"


def source_of(session: Session, document: IncomingDocument) -> ReceivedDocument | None:
    return session.scalar(select(ReceivedDocument).where(ReceivedDocument.incoming_document_id == document.id))


# --- recall (OUT-14) ------------------------------------------------------------------------------------


def request_recall(session: Session, delivery: Delivery, reason: str, *, by: str, now: datetime) -> None:
    """The sender asks the recipient to cancel the document (13); the recipient's clerk answers (15 or 16)."""
    record_status(session, delivery, ExchangeStatus.RECALL_REQUESTED, note=reason, by=by, at=now)
    if delivery.transport == WITHIN and delivery.recipient_agency_id is not None:
        received = session.scalar(
            select(ReceivedDocument).where(
                ReceivedDocument.agency_id == delivery.recipient_agency_id,
                ReceivedDocument.message_id == delivery.message_id,
            )
        )
        if received is not None:
            recall_arrived(session, received, reason, now=now)
    elif delivery.transport in _recall_senders:
        _recall_senders[delivery.transport](session, delivery, reason, now)


def on_recall(name: str, listener: Callable[[Session, ReceivedDocument, datetime], None]) -> None:
    """Called when a sender asks for a received document back (the inbox tells the clerks)."""
    _recall_listeners[name] = listener


def recall_arrived(session: Session, received: ReceivedDocument, reason: str, *, now: datetime) -> None:
    if received.state == ReceivedState.RECALLED:
        return
    received.recall_requested_at, received.recall_note = now, reason[:4000]
    session.flush()
    for listener in _recall_listeners.values():
        listener(session, received, now)


def recall_requests(session: Session, user: User) -> list[ReceivedDocument]:
    """Documents whose senders want them back, waiting for the clerk's answer."""
    _check_viewer(user)
    query = select(ReceivedDocument).where(
        ReceivedDocument.agency_id == user.agency_id,
        ReceivedDocument.recall_requested_at.is_not(None),
        ReceivedDocument.state != ReceivedState.RECALLED,
    )
    return list(session.scalars(query.order_by(ReceivedDocument.recall_requested_at)))


def answer_recall(
    session: Session, clerk: User, received: ReceivedDocument, *, agree: bool, note: str, now: datetime
) -> ReceivedDocument:
    """Confirm the cancellation (15: the document's process stops, its history is kept) or refuse it (16)."""
    _lock(session, received)
    if not clerk.has_role(Role.CLERK) or clerk.agency_id != received.agency_id:
        raise PermissionDenied(N_("Only the agency's clerk answers a recall."))
    if received.recall_requested_at is None or received.state == ReceivedState.RECALLED:
        raise InvalidInput(N_("No recall of this document waits for an answer."))
    note = note.strip()
    if not agree:
        if len(note) < 5:
            raise InvalidInput(N_("Write why the recall is refused."), {"note": N_("Write why the recall is refused.")})
        received.recall_requested_at = None
        received.recall_note = f"{received.recall_note} — {note}"[:4000]
        report(session, received, ExchangeStatus.RECALL_REFUSED, note=note, by=_by(clerk), now=now)
        return received
    if received.incoming_document_id is not None:
        document = session.get(IncomingDocument, received.incoming_document_id)
        if document is not None and document.instance_id is not None:
            why = f"Thu hồi theo yêu cầu của {received.sender_name}: {received.recall_note}"
            cancel_instance(session, document.instance_id, actor=clerk.username, reason=why, now=now)
    received.state, received.decided_at, received.decided_by_id = ReceivedState.RECALLED, now, clerk.id
    report(session, received, ExchangeStatus.RECALL_ACCEPTED, note=note, by=_by(clerk), now=now)
    return received


# --- the sender's view -------------------------------------------------------------------------------------


def deliveries_of(session: Session, user: User, *, limit: int = 200) -> list[Delivery]:
    """What the agency sent and where it stands at each recipient, newest first (OUT-13)."""
    _check_viewer(user)
    query = (
        select(Delivery)
        .where(Delivery.sender_agency_id == user.agency_id)
        .options(selectinload(Delivery.events))
        .order_by(Delivery.sent_at.desc(), Delivery.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


# --- statuses from the recipient's process -----------------------------------------------------------------


def report_status_helper(context: ScriptContext) -> Callable[..., None]:
    """`report_status("assigned" | "in_progress" | "completed")` for diagrams: tells the sender of the
    document this process handles, once the advance is saved (the diagram decides when handling stages are
    reached; the end of the process reports "completed" by itself)."""

    def report_status(status: str) -> None:
        if status not in PROCESS_STATUSES:
            raise ValueError(f"report_status takes one of {', '.join(PROCESS_STATUSES)}, not {status!r}")
        context.outbox.append({"kind": "status", "status": PROCESS_STATUSES[status]})

    return report_status


def on_process_status(session: Session, instance: ProcessInstance, item: dict[str, Any], now: datetime) -> None:
    """The outbox handler: a status the diagram reported, or "completed" when the instance ended."""
    status = ExchangeStatus(item["status"]) if item.get("kind") == "status" else ExchangeStatus.COMPLETED
    received = session.scalar(
        select(ReceivedDocument)
        .join(IncomingDocument, IncomingDocument.id == ReceivedDocument.incoming_document_id)
        .where(IncomingDocument.instance_id == instance.id)
    )
    if received is not None:
        agency = session.get(Agency, received.agency_id)
        report(session, received, status, note="", by=agency.name if agency else "", now=now)
