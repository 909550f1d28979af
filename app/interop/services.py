"""Documents and statuses as edXML packages, in and out (INT-1, INT-2, OUT-13, OUT-14, OUT-16).

Out: the documents domain hands each delivery to a transport by name (`exchange.register_transport`). Within the
installation the package is written and read back in the same transaction; to the `directory` and `http`
transports it is stored as an `OutboundPackage` with the step that caused it and handed over by the worker after
commit, retried with back-off (`push`), so a lost Redis or a killed worker delays a package but never loses it.

In: `take_in` is the one door for every package, whatever brought it (HTTP, the inbox folder, the command line):
a document becomes a received document waiting for its clerk, a status updates the sender's delivery, a recall
reaches the clerk; anything else is kept byte for byte in quarantine with its reason and, where the sender can be
read, answered with the standard's refusal (02 for a document, 16 for a recall, update or replacement)."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from app.documents import exchange
from app.documents.exchange import WITHIN, Outgoing
from app.documents.models import Delivery, ExchangeStatus, ReceivedDocument, ReceivedState
from app.documents.services import Upload, check_upload
from app.errors import N_, DomainError, InvalidInput, NotFound, PermissionDenied
from app.interop import directory
from app.interop.edxml import ORGAN_ID, read_package, read_status, write_package, write_status
from app.interop.endpoints import Policy
from app.interop.messages import (
    NEW,
    RECALL,
    Attachment,
    DocumentRef,
    Message,
    PackageError,
    StaffInfo,
    StatusMessage,
    StatusNotDocument,
    split_number_symbol,
)
from app.interop.models import OutboundPackage, PackageState, QuarantinedPackage, QuarantineState
from app.org.models import Agency, Role, User
from app.signing import services as signing

DIRECTORY, HTTP = "directory", "http"
OUTSIDE = (DIRECTORY, HTTP)
PDF_TYPES = {"application/pdf", "application/x-pdf"}
# A status a recipient reports, as the sender records it; 13 travels as a recall package, never as a status here.
INCOMING_STATUSES = {code.value: code for code in ExchangeStatus if code.value not in ("00", "13")}
STALE_CLAIM_SECONDS = 600
LEASE = timedelta(minutes=10)  # how long a worker may take to hand a package over before another tries


@dataclass
class Settings:
    """What create_app read from the configuration (config.py documents each)."""

    outbox_dir: str = ""
    inbox_dir: str = ""
    default_transport: str = ""
    http_url: str = ""
    http_token: str = ""
    http_timeout: float = 30.0
    max_attempts: int = 12
    first_retry_seconds: int = 30
    endpoint_policy: Policy = field(default_factory=Policy)
    translations_dir: str = str(Path(__file__).resolve().parent.parent / "translations")


settings = Settings()


@dataclass
class Intake:
    """What one package did: the received documents it made or found, the delivery a status moved, the
    received documents a recall reached, or the quarantine entry that keeps it."""

    kind: str  # document | status | recall | quarantined
    received: list[ReceivedDocument] = field(default_factory=list)
    delivery: Delivery | None = None
    quarantined: QuarantinedPackage | None = None


class Refused(DomainError):
    """A package that cannot be taken in; `answer` is the status to send back (02 or 16), if any."""

    status = 422

    def __init__(self, message: str, *, answer: str = ExchangeStatus.RETURNED, **params: Any) -> None:
        super().__init__(message, **params)
        self.answer = answer


# ------------------------------------------------------------------------------------------------ sending


def message_of(outgoing: Outgoing, *, business_type: int = NEW, reason: str = "") -> Message:
    """One delivery's package: addressed to its recipient alone, so that an installation hosting several
    recipients takes each delivery in once, with its own id."""
    delivery = outgoing.delivery
    return Message(
        header=outgoing.header,
        recipients=[(delivery.recipient_code, delivery.recipient_name)],
        message_id=delivery.message_id,
        attachments=[
            Attachment(upload.file_name, upload.content_type or "application/octet-stream", upload.content)
            for upload in outgoing.files
        ],
        business_type=business_type,
        business_reason=reason,
        response_for=[
            DocumentRef(organ, number_symbol, date.fromisoformat(day) if day else None, document_id)
            for organ, number_symbol, day, document_id in outgoing.header.response_for
        ],
        steering_type=outgoing.header.steering_type,
        sent_at=delivery.sent_at,
    )


def send_within(session: Session, outgoing: Outgoing) -> None:
    """Within the installation the package is written and taken in at once: the recipient reads exactly what an
    agency outside would (statuses come back to the sender's row in the same transaction)."""
    message = message_of(outgoing)
    outgoing.delivery.document_id = message.document_id
    data = write_package(message)
    intake = take_in(
        session,
        data,
        transport=WITHIN,
        source=outgoing.sender.code,
        now=outgoing.delivery.sent_at,
        delivery_id=outgoing.delivery.id,
        strict=True,
    )
    assert intake.kind == "document"


def send_outside(session: Session, outgoing: Outgoing) -> None:
    """A delivery to an agency outside: its package waits in the database for the worker to hand it over."""
    message = message_of(outgoing)
    delivery = outgoing.delivery
    delivery.document_id = message.document_id
    delivery.transport_note = ""
    enqueue(
        session,
        write_package(message),
        kind="document",
        to=delivery.recipient_code,
        came_by=delivery.transport,
        file_name=f"{delivery.message_id}.edxml",
        delivery_id=delivery.id,
        agency_id=delivery.sender_agency_id,
        now=delivery.sent_at,
    )


def send_status(
    session: Session,
    received: ReceivedDocument,
    status: ExchangeStatus,
    note: str,
    by: str,
    now: datetime,
) -> None:
    """A status of a document that came from outside, back to its sender as a status package (INT-2)."""
    agency = session.get(Agency, received.agency_id)
    assert agency is not None
    header = exchange.header_of(received)
    reference = DocumentRef(received.sender_code, received.number_symbol, header.issued_date, received.document_id)
    package = StatusMessage(
        response_for=reference,
        sender_code=agency.code,
        sender_name=agency.name,
        status_code=status.value,
        timestamp=now,
        description=note[:500],
        staff=StaffInfo(staff=by[:100]),
    )
    enqueue(
        session,
        write_status(package),
        kind="status",
        to=received.sender_code,
        came_by=received.transport,
        file_name=f"status-{uuid.uuid4()}.edxml",
        agency_id=received.agency_id,
        now=now,
    )


def send_recall(session: Session, delivery: Delivery, reason: str, now: datetime) -> None:
    """OUT-14 to an agency outside: the delivered package again, as BussinessDocType 1 with the reason and
    without its files; the recipient answers 15 or 16 as a status."""
    original = session.scalar(
        select(OutboundPackage)
        .options(undefer(OutboundPackage.content))
        .where(OutboundPackage.delivery_id == delivery.id, OutboundPackage.kind == "document")
        .order_by(OutboundPackage.id)
        .limit(1)
    )
    if original is None:
        raise NotFound(N_("The package of this delivery is not kept here; it cannot be recalled electronically."))
    message = read_package(original.content, allowed_organ_ids=directory.other_codes(session))
    recall = replace(
        message,
        message_id=str(uuid.uuid4()),
        business_type=RECALL,
        business_reason=reason[:500],
        attachments=[],
        sent_at=now,
    )
    enqueue(
        session,
        write_package(recall),
        kind="document",
        to=delivery.recipient_code,
        came_by=delivery.transport,
        file_name=f"{recall.message_id}.edxml",
        agency_id=delivery.sender_agency_id,
        now=now,
    )


def route(session: Session, code: str, fallback: str = "") -> tuple[str, str]:
    """(transport, endpoint) for packages to `code`: its directory entry's, else the installation's default."""
    entry = directory.entry_for(session, code)
    if entry is not None and entry.transport in OUTSIDE:
        return entry.transport, entry.endpoint if entry.transport == HTTP else ""
    transport = fallback if fallback in OUTSIDE else settings.default_transport
    if transport not in OUTSIDE:
        raise InvalidInput(
            N_("The agency %(code)s is not in this installation and no exchange transport is configured for it."),
            code=code,
        )
    return transport, settings.http_url if transport == HTTP else ""


def router(session: Session, code: str) -> tuple[str, str] | None:
    """The documents domain's router: a directory entry that names a transport wins (an agency hosted
    elsewhere); an agency not of the installation goes by the default transport."""
    entry = directory.entry_for(session, code)
    if entry is not None and entry.transport in OUTSIDE:
        return entry.transport, entry.name
    ours = session.scalar(select(Agency.id).where(Agency.code == code, Agency.is_active.is_(True)))
    if ours is None and settings.default_transport in OUTSIDE:
        return settings.default_transport, entry.name if entry is not None else code
    return None


def enqueue(
    session: Session,
    data: bytes,
    *,
    kind: str,
    to: str,
    came_by: str = "",
    file_name: str,
    delivery_id: int | None = None,
    agency_id: int | None,
    now: datetime,
) -> OutboundPackage:
    """Store a package for agency `to` (routed by the directory, else as the package it answers `came_by`, else
    the default transport); the worker hands it over after commit."""
    recipient_code = to
    transport, endpoint = route(session, to, came_by)
    if transport == HTTP and not endpoint:
        raise InvalidInput(N_("No URL is configured for sending packages to %(code)s over HTTP."), code=recipient_code)
    package = OutboundPackage(
        kind=kind,
        transport=transport,
        endpoint=endpoint,
        recipient_code=recipient_code,
        file_name=file_name,
        content=data,
        delivery_id=delivery_id,
        agency_id=agency_id,
        state=PackageState.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(package)
    session.flush()
    _schedule(session, package.id)
    return package


def _schedule(session: Session, package_id: int, at: datetime | None = None) -> None:
    from app.interop import jobs
    from app.jobs import enqueue_after_commit

    enqueue_after_commit(session, jobs.push_package, package_id, at=at)


def push(session: Session, package_id: int, *, now: datetime, commit: Callable[[], None]) -> str:
    """Hand one waiting package to its transport; on failure wait longer each time, then give up (the sender's
    table says why). Run by the worker.

    No transaction stays open across the network: the package is first leased (its next attempt moved
    LEASE ahead, committed), then handed over, then marked. A worker killed in between leaves the lease to
    expire and the sweep to send it again; receivers take the same package twice as once."""
    from app.interop import transports

    package = session.scalar(
        select(OutboundPackage)
        .options(undefer(OutboundPackage.content))
        .where(OutboundPackage.id == package_id)
        .with_for_update(skip_locked=True)
    )
    if package is None or package.state != PackageState.PENDING or package.next_attempt_at > now:
        return "skipped"  # sent, given up, leased by another worker, or not yet due
    package.next_attempt_at = now + LEASE
    content, transport, endpoint, file_name = package.content, package.transport, package.endpoint, package.file_name
    commit()
    try:
        transports.deliver(transport, endpoint, file_name, content, settings)
        error = ""
    except transports.TransportError as failure:
        error = str(failure)[:2000]
    package = session.get(OutboundPackage, package_id)
    assert package is not None
    delivery = session.get(Delivery, package.delivery_id) if package.delivery_id else None
    if not error:
        package.state, package.sent_at, package.last_error = PackageState.SENT, now, ""
        if delivery is not None:
            delivery.handed_at, delivery.transport_note = now, ""
        return "sent"
    package.attempts += 1
    package.last_error = error
    if package.attempts >= settings.max_attempts:
        package.state = PackageState.FAILED
    else:
        package.next_attempt_at = now + backoff(package.attempts)
        _schedule(session, package.id, at=package.next_attempt_at)
    if delivery is not None:
        delivery.transport_note = error[:500]
    return "failed" if package.state == PackageState.FAILED else "retry"


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … doubling up to 6 hours between attempts."""
    return timedelta(seconds=min(settings.first_retry_seconds * 2 ** (attempts - 1), 6 * 3600))


def due_packages(session: Session, now: datetime, *, limit: int = 500) -> list[int]:
    """Waiting packages whose attempt is due: the sweep queues them again (Redis may have lost their job)."""
    query = (
        select(OutboundPackage.id)
        .where(OutboundPackage.state == PackageState.PENDING, OutboundPackage.next_attempt_at <= now)
        .order_by(OutboundPackage.next_attempt_at)
        .limit(limit)
    )
    return list(session.scalars(query))


def outbound_list(session: Session, admin: User, *, limit: int = 200) -> list[OutboundPackage]:
    """The agency's packages still waiting or given up on, then the most recently sent."""
    if not admin.has_role(Role.ADMIN):
        raise PermissionDenied(N_("Only an administrator sees the packages waiting to leave."))
    query = (
        select(OutboundPackage)
        .where(OutboundPackage.agency_id == admin.agency_id)
        .order_by((OutboundPackage.state == PackageState.SENT).asc(), OutboundPackage.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def send_again(session: Session, admin: User, package_id: int, *, now: datetime) -> OutboundPackage:
    """An operator sends a package that was given up on once more (its attempts start again)."""
    if not admin.has_role(Role.ADMIN):
        raise PermissionDenied(N_("Only an administrator sends a package again."))
    package = session.get(OutboundPackage, package_id)
    if package is None or package.agency_id != admin.agency_id:
        raise NotFound(N_("No such package."))
    if package.state != PackageState.FAILED:
        raise InvalidInput(N_("Only a package that was given up on is sent again."))
    package.state, package.attempts, package.next_attempt_at = PackageState.PENDING, 0, now
    _schedule(session, package.id)
    return package


# ------------------------------------------------------------------------------------------------ receiving


def take_in(
    session: Session,
    data: bytes,
    *,
    transport: str,
    source: str,
    now: datetime,
    agency_code: str = "",
    delivery_id: int | None = None,
    strict: bool = False,
) -> Intake:
    """Take in one package of any kind. What cannot be taken in goes to quarantine (`strict`: raised instead,
    for packages the installation wrote itself). `agency_code`: the package must be for this agency of ours."""
    try:
        with session.begin_nested():
            return _take_in(session, data, transport, now, agency_code, delivery_id)
    except (Refused, PackageError, InvalidInput) as error:
        if strict:
            raise
        answer = error.answer if isinstance(error, Refused) else ExchangeStatus.RETURNED
        entry = quarantine(
            session, data, error.message, error.params, transport=transport, source=source, now=now, answer=answer
        )
        return Intake("quarantined", quarantined=entry)


def _take_in(
    session: Session, data: bytes, transport: str, now: datetime, agency_code: str, delivery_id: int | None
) -> Intake:
    allowed = directory.other_codes(session)
    try:
        message = read_package(data, allowed_organ_ids=allowed)
    except StatusNotDocument:
        return Intake("status", delivery=_apply_status(session, read_status(data, allowed_organ_ids=allowed)))
    agencies = _our_recipients(session, message, agency_code)
    if message.business_type == RECALL:
        return Intake("recall", received=_recall(session, message, agencies, now))
    if message.business_type != NEW:
        raise Refused(
            N_("Updating or replacing a document (BussinessDocType %(type)s) is not supported; the sender is told."),
            answer=ExchangeStatus.RECALL_REFUSED,
            type=message.business_type,
        )
    message_id = message.message_id or hashlib.sha256(data).hexdigest()
    if len(message_id) > 64:  # another system's id longer than ours: its digest stands for it
        message_id = hashlib.sha256(message_id.encode()).hexdigest()
    order = [agency.id for agency in agencies]
    known = session.scalars(
        select(ReceivedDocument).where(ReceivedDocument.message_id == message_id, ReceivedDocument.agency_id.in_(order))
    ).all()
    if len(known) == len(agencies):  # a package sent again: taken in before, its files already checked
        return Intake("document", received=sorted(known, key=lambda item: order.index(item.agency_id)))
    files = _files(session, message, now)
    header = replace(
        message.header,
        steering_type=message.steering_type,
        response_for=tuple(
            (ref.organ_code, ref.number_symbol, ref.issued_date.isoformat() if ref.issued_date else "", ref.document_id)
            for ref in message.response_for
        ),
    )
    received = [
        exchange.receive(
            session,
            agency,
            message_id=message_id,
            transport=transport,
            sender_code=message.sender_code,
            sender_name=message.sender_name or message.sender_code,
            header=header,
            files=files,
            now=now,
            delivery_id=delivery_id,
            document_id=message.document_id,
        )
        for agency in agencies
    ]
    return Intake("document", received=received)


def _our_recipients(session: Session, message: Message, agency_code: str) -> list[Agency]:
    codes = [code for code, _ in message.recipients]
    if agency_code and agency_code not in codes:
        raise Refused(
            N_("The package is addressed to %(codes)s, not to %(code)s."), codes=", ".join(codes), code=agency_code
        )
    wanted = [agency_code] if agency_code else codes
    agencies = list(session.scalars(select(Agency).where(Agency.code.in_(wanted), Agency.is_active.is_(True))))
    if not agencies:
        raise Refused(
            N_("The package is addressed to %(codes)s, none of which is an agency of this installation."),
            codes=", ".join(wanted),
        )
    return sorted(agencies, key=lambda agency: codes.index(agency.code))


def _files(session: Session, message: Message, now: datetime) -> list[Upload]:
    """The attachments as the clerk will get them; every one must be a file the system accepts, and every one
    that says it is a PDF must be one (its signatures are then shown to the clerk, IN-1)."""
    if not message.attachments:
        raise Refused(N_("The package carries no document file (QĐ 28 Điều 10.1: the document and all its files)."))
    files = []
    for attachment in message.attachments:
        upload = Upload(attachment.name, attachment.content_type, attachment.content)
        try:
            check_upload(upload)
        except InvalidInput as error:
            raise Refused(
                N_("The attachment %(name)s is refused: %(reason)s"),
                name=attachment.name,
                reason=in_vietnamese(error.message, error.params),
            ) from None
        is_pdf = attachment.content_type.lower() in PDF_TYPES or attachment.name.lower().endswith(".pdf")
        if is_pdf:
            if not attachment.content.startswith(b"%PDF-"):
                raise Refused(N_("The attachment %(name)s says it is a PDF but is not one."), name=attachment.name)
            try:
                signing.verify_document(session, attachment.content, now=now)
            except InvalidInput:
                raise Refused(
                    N_("The attachment %(name)s says it is a PDF but cannot be read as one."), name=attachment.name
                ) from None
        files.append(upload)
    return files


def _apply_status(session: Session, status: StatusMessage) -> Delivery:
    """A recipient's status at the sender: the delivery of that document to that agency (the newest one, if the
    document was sent to it again), never moved backwards."""
    reference = status.response_for
    if status.status_code not in INCOMING_STATUSES:
        raise Refused(N_("Status %(code)s is not one a recipient sends."), answer="", code=status.status_code)
    delivery = session.scalar(
        select(Delivery)
        .join(Agency, Agency.id == Delivery.sender_agency_id)
        .where(
            Delivery.document_id == reference.document_id,
            Delivery.recipient_code == status.sender_code,
            Agency.code == reference.organ_code,
        )
        .order_by(Delivery.id.desc())
        .limit(1)
    )
    if delivery is None:
        raise Refused(
            N_("A status from %(sender)s for document %(document)s, which this installation did not send to it."),
            answer="",
            sender=status.sender_code,
            document=reference.document_id,
        )
    by = ", ".join(part for part in (status.staff.staff, status.sender_name) if part)
    exchange.record_status(
        session,
        delivery,
        INCOMING_STATUSES[status.status_code],
        note=status.description,
        by=by or status.sender_code,
        at=status.timestamp.astimezone(UTC),
    )
    return delivery


def _recall(session: Session, message: Message, agencies: list[Agency], now: datetime) -> list[ReceivedDocument]:
    """The sender asks for its document back: each recipient's clerk sees the request (OUT-14)."""
    found = []
    for agency in agencies:
        received = session.scalar(
            select(ReceivedDocument)
            .where(
                ReceivedDocument.agency_id == agency.id,
                ReceivedDocument.sender_code == message.sender_code,
                ReceivedDocument.document_id == message.document_id,
            )
            .order_by(ReceivedDocument.id.desc())
            .limit(1)
        )
        if received is None:
            raise Refused(
                N_("A recall of document %(document)s, which %(agency)s never received."),
                answer=ExchangeStatus.RECALL_REFUSED,
                document=message.document_id,
                agency=agency.code,
            )
        if received.state != ReceivedState.RECALLED:
            exchange.recall_arrived(session, received, message.business_reason or "", now=now)
        found.append(received)
    return found


# ------------------------------------------------------------------------------------------------ quarantine


def quarantine(
    session: Session,
    data: bytes,
    reason: str,
    params: dict[str, Any],
    *,
    transport: str,
    source: str,
    now: datetime,
    answer: str = ExchangeStatus.RETURNED,
) -> QuarantinedPackage:
    """Keep the package as it came, with the reason; the same bytes again only count once more. The sender is
    answered with `answer` (02 or 16) when its code and the document can be read from the package."""
    digest = hashlib.sha256(data).hexdigest()
    entry = session.scalar(select(QuarantinedPackage).where(QuarantinedPackage.sha256 == digest))
    if entry is not None:
        entry.times_received += 1
        entry.last_received_at = now
        return entry
    salvaged = salvage(data)
    ours = session.scalars(
        select(Agency).where(Agency.code.in_(salvaged.recipients or ["-"]), Agency.is_active.is_(True))
    ).all()
    entry = QuarantinedPackage(
        sha256=digest,
        content=data,
        size=len(data),
        transport=transport[:20],
        source=source[:300],
        reason=reason,
        reason_params=json.dumps({key: str(value) for key, value in params.items()}, ensure_ascii=False),
        sender_code=salvaged.sender_code[:40],
        recipient_codes=",".join(salvaged.recipients)[:500],
        agency_id=ours[0].id if len(ours) == 1 else None,
        state=QuarantineState.HELD,
        times_received=1,
        received_at=now,
        last_received_at=now,
    )
    session.add(entry)
    session.flush()
    entry.answer = _answer(session, entry, salvaged, answer, ours[0] if ours else None, reason, params, now)
    return entry


@dataclass
class Salvaged:
    """What can still be read from a package that does not parse or validate, to answer its sender."""

    sender_code: str = ""
    sender_name: str = ""
    recipients: list[str] = field(default_factory=list)
    number_symbol: str = ""
    document_id: str = ""
    is_status: bool = False


def salvage(data: bytes) -> Salvaged:
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
    try:
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError):
        return Salvaged()
    if root is None:
        return Salvaged()

    def texts(path: str) -> list[str]:
        return [str(value).strip() for value in root.xpath(path) if str(value).strip()]

    def first(path: str) -> str:
        found = texts(path)
        return found[0] if found else ""

    header = "//*[local-name()='MessageHeader']"
    number = first(f"{header}/*[local-name()='Code']/*[local-name()='CodeNumber']/text()")
    notation = first(f"{header}/*[local-name()='Code']/*[local-name()='CodeNotation']/text()")
    return Salvaged(
        sender_code=first(f"{header}/*[local-name()='From']/*[local-name()='OrganId']/text()"),
        sender_name=first(f"{header}/*[local-name()='From']/*[local-name()='OrganName']/text()"),
        recipients=list(dict.fromkeys(texts(f"{header}/*[local-name()='To']/*[local-name()='OrganId']/text()"))),
        number_symbol=f"{number}/{notation}" if number and notation else number,
        document_id=first(f"{header}/*[local-name()='DocumentId']/text()")
        or first("//*[local-name()='Bussiness' or local-name()='Business']/*[local-name()='DocumentId']/text()"),
        is_status=bool(root.xpath("//*[local-name()='Status']")) and not root.xpath(header),
    )


def _answer(
    session: Session,
    entry: QuarantinedPackage,
    salvaged: Salvaged,
    status: str,
    agency: Agency | None,
    reason: str,
    params: dict[str, Any],
    now: datetime,
) -> str:
    """Send the refusal and say (as JSON: message id and parameters) what was sent, or why nothing could be; a
    status is never answered."""
    if not status or salvaged.is_status:
        return _said(N_("A status package is not answered."))
    if not ORGAN_ID.fullmatch(salvaged.sender_code) and salvaged.sender_code not in directory.other_codes(session):
        return _said(N_("No answer: the sender's code cannot be read from the package."))
    if not salvaged.document_id and not salvaged.number_symbol:
        return _said(N_("No answer: the package does not say which document it is."))
    reporter_code = agency.code if agency else (salvaged.recipients[0] if salvaged.recipients else "")
    reporter_name = agency.name if agency else reporter_code
    if not reporter_code:
        return _said(N_("No answer: the package names no recipient to answer for."))
    number = split_number_symbol(salvaged.number_symbol)[0]
    package = StatusMessage(
        response_for=DocumentRef(
            salvaged.sender_code,
            salvaged.number_symbol,
            None,
            salvaged.document_id or f"{salvaged.sender_code},,{number}",
        ),
        sender_code=reporter_code,
        sender_name=reporter_name,
        status_code=status,
        timestamp=now,
        description=in_vietnamese(reason, params)[:500],
    )
    try:
        answer = enqueue(
            session,
            write_status(package),
            kind="status",
            to=salvaged.sender_code,
            came_by=entry.transport,
            file_name=f"status-{uuid.uuid4()}.edxml",
            agency_id=agency.id if agency else None,
            now=now,
        )
    except (InvalidInput, PackageError) as error:
        return _said(N_("No answer could be sent: %(reason)s"), reason=in_vietnamese(error.message, error.params))
    return _said(
        N_("Status %(code)s was sent to %(sender)s through %(transport)s."),
        code=status,
        sender=salvaged.sender_code,
        transport=answer.transport,
    )


def _said(message: str, **params: Any) -> str:
    return json.dumps({"message": message, "params": {key: str(value) for key, value in params.items()}})


def reason_of(entry: QuarantinedPackage) -> tuple[str, dict[str, str]]:
    return entry.reason, json.loads(entry.reason_params or "{}")


def answer_of(entry: QuarantinedPackage) -> tuple[str, dict[str, str]]:
    """What was said to the sender (a message id to translate and its parameters); ("", {}) when nothing yet."""
    if not entry.answer:
        return "", {}
    said = json.loads(entry.answer)
    return said["message"], said["params"]


def quarantine_list(session: Session, admin: User, *, state: str = QuarantineState.HELD) -> list[QuarantinedPackage]:
    """What the administrator of an agency sees: packages for that agency; those for no agency of ours only the
    installation's administrator sees (issue 12)."""
    _check_admin(admin)
    mine = QuarantinedPackage.agency_id == admin.agency_id
    query = select(QuarantinedPackage).where(
        mine | QuarantinedPackage.agency_id.is_(None) if admin.is_installation_admin else mine
    )
    if state:
        query = query.where(QuarantinedPackage.state == state)
    return list(session.scalars(query.order_by(QuarantinedPackage.last_received_at.desc()).limit(500)))


def quarantined(session: Session, admin: User, entry_id: int) -> QuarantinedPackage:
    _check_admin(admin)
    entry = session.get(QuarantinedPackage, entry_id)
    if entry is None:
        raise NotFound(N_("No such package."))
    if entry.agency_id is None and not admin.is_installation_admin:
        raise PermissionDenied(N_("Only the installation's administrator deals with packages for no agency of ours."))
    if entry.agency_id is not None and entry.agency_id != admin.agency_id:
        raise PermissionDenied(N_("This package is for another agency."))
    return entry


def release(session: Session, admin: User, entry_id: int, *, now: datetime) -> Intake:
    """Take a quarantined package in after all (once the directory or the installation has what it lacked); if it
    still cannot be, the reason is updated and nothing else changes."""
    entry = quarantined(session, admin, entry_id)
    if entry.state != QuarantineState.HELD:
        raise InvalidInput(N_("This package is no longer held."))
    try:
        with session.begin_nested():
            intake = _take_in(session, entry.content, entry.transport, now, "", None)
    except (Refused, PackageError, InvalidInput) as error:
        entry.reason = error.message
        entry.reason_params = json.dumps({key: str(value) for key, value in error.params.items()}, ensure_ascii=False)
        raise InvalidInput(N_("The package still cannot be taken in: %(reason)s"), reason=error.translated()) from None
    entry.state, entry.decided_at, entry.decided_by = QuarantineState.RELEASED, now, admin.username
    return intake


def dismiss(session: Session, admin: User, entry_id: int, *, now: datetime) -> QuarantinedPackage:
    entry = quarantined(session, admin, entry_id)
    entry.state, entry.decided_at, entry.decided_by = QuarantineState.DISMISSED, now, admin.username
    return entry


def _check_admin(user: User) -> None:
    if not user.has_role(Role.ADMIN):
        raise PermissionDenied(N_("Only an administrator sees the quarantine."))


# ------------------------------------------------------------------------------------------------ folders


def poll_inbox(session: Session, *, now: datetime, commit: Callable[[], None], limit: int = 200) -> dict[str, int]:
    """Take in every package waiting in the inbox folder, each committed on its own: a file is claimed by
    renaming it (two workers never take the same one) and moved to `done/` once its transaction committed; a
    crash in between leaves it claimed, and the next poll takes it again (the same package twice is one)."""
    counts = {"document": 0, "status": 0, "recall": 0, "quarantined": 0}
    if not settings.inbox_dir:
        return counts
    inbox = Path(settings.inbox_dir)
    claimed_dir, done_dir = inbox / "claimed", inbox / "done"
    claimed_dir.mkdir(parents=True, exist_ok=True)
    done_dir.mkdir(parents=True, exist_ok=True)
    names = sorted(path.name for path in inbox.iterdir() if path.is_file() and not path.name.startswith("."))
    # A file claimed more than STALE_CLAIM_SECONDS ago belongs to a worker that died before it finished.
    stale = time.time() - STALE_CLAIM_SECONDS
    leftovers = sorted(path.name for path in claimed_dir.iterdir() if path.is_file() and path.stat().st_mtime < stale)
    for name in (leftovers + names)[:limit]:
        claimed = claimed_dir / name
        if name in names:
            try:
                os.replace(inbox / name, claimed)
                os.utime(claimed)  # the claim's time, for the stale test above
            except FileNotFoundError:
                continue  # another worker took it
        intake = take_in(session, claimed.read_bytes(), transport=DIRECTORY, source=name, now=now)
        commit()
        counts[intake.kind] += 1
        os.replace(claimed, done_dir / f"{now:%Y%m%dT%H%M%S}-{_safe(name)}")
    return counts


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:150]


# ------------------------------------------------------------------------------------------------ language


def in_vietnamese(message: str, params: Mapping[str, Any]) -> str:
    """A reason in Vietnamese, for the other agency's people (the standard's Description is free text)."""
    text = _vietnamese_catalog(settings.translations_dir).gettext(message)
    return text % params if params else text


@functools.lru_cache(maxsize=2)
def _vietnamese_catalog(translations_dir: str) -> NullTranslations:
    return Translations.load(translations_dir, ["vi"], "messages")
