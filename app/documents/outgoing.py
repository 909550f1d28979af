"""Outgoing documents: the draft and its versions (OUT-1, OUT-2, OUT-7), the actions that some steps of the
agency's diagram carry out (revise, sign, number-seal-publish: OUT-6, OUT-8, OUT-9, OUT-12) and recall (OUT-14).

Which steps there are, who does them and in what order is the diagram's business (processes/…/outgoing.bpmn);
a form names an action when its step does something to the document, and the inbox runs that action in the
same transaction as the step itself, so a signature, a number or a publication never exists without its step."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock, filetypes
from app.documents import exchange
from app.documents.models import (
    Delivery,
    DraftVersion,
    FileRole,
    IncomingDocument,
    OutgoingDocument,
    OutgoingState,
)
from app.documents.services import Upload, can_view, check_upload, document_code, safe_file_name, take_number
from app.documents.types import DOCUMENT_TYPES, TYPE_NAMES
from app.engine import services as engine
from app.engine.models import OpenTask
from app.errors import N_, InvalidInput, NotFound, PermissionDenied
from app.org.models import Agency, Role, Unit, User
from app.signing import services as signing

OUTGOING_PROCESS = "outgoing"
DEFAULT_REGISTER = "outgoing"
# OUT-2: kinds that need no phiếu trình — internal documents, comments on others' drafts, professional guidance,
# reports, routine correspondence (công văn and the papers of everyday administration).
SUBMISSION_EXEMPT = {
    "Báo cáo",
    "Công văn",
    "Hướng dẫn",
    "Giấy mời",
    "Giấy giới thiệu",
    "Giấy nghỉ phép",
    "Phiếu gửi",
    "Phiếu chuyển",
    "Phiếu báo",
    "Thư công",
}
TYPE_ABBREVIATIONS = dict(DOCUMENT_TYPES)
VIEWERS = {Role.CLERK, Role.LEADER, Role.DEPUTY_LEADER, Role.ADMIN, Role.AUDITOR}
RECALLERS = {Role.CLERK, Role.LEADER, Role.DEPUTY_LEADER}
FILE_FIELDS = {"draft": FileRole.DRAFT, "submission": FileRole.SUBMISSION, "appendix": FileRole.APPENDIX}

Files = dict[str, list[Upload]]
PublicationListener = Callable[[Session, OutgoingDocument, list[str], datetime], None]
_publication_listeners: dict[str, PublicationListener] = {}


def on_publication(name: str, listener: PublicationListener) -> None:
    """Called when a document is published to units of the agency (the inbox tells their people)."""
    _publication_listeners[name] = listener


# --- drafting --------------------------------------------------------------------------------------------


def start_outgoing(
    session: Session,
    drafter: User,
    values: dict[str, Any],
    files: Files,
    *,
    now: datetime,
    reply_to: int | None = None,
) -> OutgoingDocument:
    """A new draft with its first versions, and the agency's outgoing process started on it (OUT-1)."""
    if drafter.has_role(Role.AUDITOR) and len(drafter.roles) == 1:
        raise PermissionDenied(N_("Auditors do not draft documents."))
    if int(values.get("secrecy") or 0) > 0:
        raise InvalidInput(
            N_("Classified documents (Mật, Tối mật, Tuyệt mật) must not be managed in this system (DOC-4)."),
            {"secrecy": N_("Handle it on paper, outside the system.")},
        )
    type_name = str(values.get("type_name") or "")
    if type_name not in TYPE_NAMES:
        raise InvalidInput(N_("Some fields need correcting."), {"type_name": N_("Choose one of the offered values.")})
    if not files.get("draft"):
        raise InvalidInput(N_("Upload the draft."), {"draft": N_("Upload the draft.")})
    if type_name not in SUBMISSION_EXEMPT and not files.get("submission"):
        raise InvalidInput(
            N_("A %(type)s is submitted with a phiếu trình (OUT-2)."),
            {"submission": N_("Upload the phiếu trình.")},
            type=type_name,
        )
    incoming = None
    if reply_to is not None:
        incoming = session.get(IncomingDocument, reply_to)
        if incoming is None or not can_view(session, drafter, incoming):
            raise PermissionDenied(N_("This document is outside your scope."))
    document = OutgoingDocument(
        agency_id=drafter.agency_id,
        unit_id=drafter.unit_id,
        drafter_id=drafter.id,
        type_name=type_name,
        subject=str(values["subject"])[:500],
        urgency=int(values.get("urgency") or 0),
        due_date=date.fromisoformat(values["due_date"]) if values.get("due_date") else None,
        recipients_json=json.dumps(list(values.get("recipients") or [])),
        internal_units_json=json.dumps(list(values.get("internal_units") or [])),
        reply_to_id=incoming.id if incoming else None,
        state=OutgoingState.DRAFTING,
        created_at=now,
    )
    session.add(document)
    session.flush()
    add_versions(session, document, files, by=drafter.username, now=now)
    data = {
        **{key: value for key, value in values.items() if key not in FILE_FIELDS},
        "document_id": document.id,
        "drafter": drafter.username,
        "drafter_unit": drafter.unit.code if drafter.unit else None,
        "reviewer": values.get("reviewer") or None,
        "consultees": list(values.get("consultees") or []),
    }
    started = engine.start_instance(
        session,
        drafter.agency,
        OUTGOING_PROCESS,
        business_key=f"outgoing:{document.id}",
        data=data,
        actor=drafter.username,
        now=now,
    )
    document.instance_id = started.instance.id
    session.flush()
    return document


def add_versions(session: Session, document: OutgoingDocument, files: Files, *, by: str, now: datetime) -> list[int]:
    """Every upload is a new version of its kind; nothing earlier is overwritten (OUT-7)."""
    added = []
    for field, role in FILE_FIELDS.items():
        for upload in files.get(field, []):
            check_upload(upload)
            added.append(_store(session, document, role, upload, by=by, now=now).version)
    return added


def _store(
    session: Session,
    document: OutgoingDocument,
    role: FileRole,
    upload: Upload,
    *,
    by: str,
    now: datetime,
    note: str = "",
) -> DraftVersion:
    latest = session.scalar(
        select(func.max(DraftVersion.version)).where(DraftVersion.document_id == document.id, DraftVersion.role == role)
    )
    version = DraftVersion(
        document_id=document.id,
        role=role,
        version=(latest or 0) + 1,
        file_name=upload.chosen_name or safe_file_name(upload.file_name),
        original_name=upload.file_name[:255],
        content_type=filetypes.type_for(upload.file_name),
        size=len(upload.content),
        sha256=hashlib.sha256(upload.content).hexdigest(),
        content=upload.content,
        note=note[:500],
        uploaded_by=by,
        uploaded_at=now,
    )
    session.add(version)
    session.flush()
    return version


def latest(session: Session, document: OutgoingDocument, role: FileRole) -> DraftVersion | None:
    query = (
        select(DraftVersion)
        .where(DraftVersion.document_id == document.id, DraftVersion.role == role)
        .order_by(DraftVersion.version.desc())
    )
    return session.scalars(query.limit(1)).first()


def latest_files(session: Session, document: OutgoingDocument) -> list[DraftVersion]:
    """The newest version of each file the handlers work on: draft, phiếu trình, appendices, signed, published."""
    newest: dict[tuple[str, str], DraftVersion] = {}
    for version in sorted(document.versions, key=lambda v: (v.role, v.version)):
        key = (version.role, version.file_name if version.role in (FileRole.APPENDIX, FileRole.PUBLISHED) else "")
        newest[key] = version
    return list(newest.values())


def _latest_appendices(session: Session, document: OutgoingDocument) -> list[DraftVersion]:
    """The newest version of each appendix file."""
    newest: dict[str, DraftVersion] = {}
    query = select(DraftVersion).where(DraftVersion.document_id == document.id, DraftVersion.role == FileRole.APPENDIX)
    for version in session.scalars(query.order_by(DraftVersion.version)):
        newest[version.file_name] = version
    return list(newest.values())


# --- what steps do ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepInput:
    """What a step's form brought besides its kept values: files, and secrets that are used and forgotten."""

    files: Files
    secrets: dict[str, str]
    signing_secret: str


def perform(
    action: str, session: Session, user: User, task: OpenTask, values: dict[str, Any], given: StepInput, now: datetime
) -> dict[str, Any]:
    """Run the action a step's form names, before the step is completed; returns the values to complete it with."""
    document = session.scalar(select(OutgoingDocument).where(OutgoingDocument.instance_id == task.instance_id))
    if document is None:
        raise NotFound(N_("No such document."))
    if action == "outgoing_revise":
        versions = add_versions(session, document, given.files, by=user.username, now=now)
        return {**values, "new_versions": len(versions)}
    if action == "outgoing_sign":
        return _sign_step(session, user, document, values, given, now)
    if action == "outgoing_publish":
        publish(
            session,
            user,
            document,
            now=now,
            signing_secret=given.signing_secret,
            receipt_hours=int(values.get("receipt_hours") or 8),
            page_amount=int(values.get("page_amount") or 1),
            register_kind=str(values.get("register_kind") or DEFAULT_REGISTER),
        )
        return {**values, "number_symbol": document.number_symbol}
    raise InvalidInput(N_("The form names an action %(name)s that does not exist."), name=action)


def _sign_step(
    session: Session, user: User, document: OutgoingDocument, values: dict[str, Any], given: StepInput, now: datetime
) -> dict[str, Any]:
    if values.get("decision") == "return":
        if not values.get("comment"):
            raise InvalidInput(N_("Write what should be changed."), {"comment": N_("Write what should be changed.")})
        return values
    draft = latest(session, document, FileRole.DRAFT)
    if draft is None or not draft.file_name.lower().endswith(".pdf"):
        raise InvalidInput(N_("The latest draft is not a PDF: the drafter uploads the final PDF before signing."))
    password = given.secrets.get("password", "")
    if not password:
        raise InvalidInput(N_("Enter the key password or PIN."), {"password": N_("Enter the key password or PIN.")})
    signed = signing.sign_personal(session, user, draft.content, password, secret=given.signing_secret, now=now)
    stored = _store(
        session,
        document,
        FileRole.SIGNED,
        Upload(draft.file_name, "application/pdf", signed),
        by=user.username,
        now=now,
        note=f"v{draft.version}",
    )
    document.state, document.signed_at = OutgoingState.SIGNED, now
    document.signer_name, document.signer_position = user.full_name[:50], user.position[:100]
    return {**values, "signed_version": stored.version}


def is_outgoing_register(kind: str) -> bool:
    """`outgoing`, the default register, or `outgoing:<book>`, a further one an agency opens (Điều 15.1c),
    such as `outgoing:QĐ` (the kind column holds 20 characters)."""
    base, separator, book = kind.partition(":")
    return base == DEFAULT_REGISTER and bool(separator) == bool(book.strip()) and len(kind) <= 20


def notation(document: OutgoingDocument, agency: Agency, unit: Unit | None) -> str:
    """Ký hiệu: type abbreviation + agency abbreviation (QĐ-UBND); for a công văn the agency's abbreviation and
    the drafting unit's (UBND-VP), Nghị định 30/2020 Phụ lục I II.3."""
    abbreviation = TYPE_ABBREVIATIONS.get(document.type_name, "")
    if abbreviation:
        return f"{abbreviation}-{agency.abbreviation}"
    return f"{agency.abbreviation}-{unit.code}" if unit else agency.abbreviation


def publish(
    session: Session,
    clerk: User,
    document: OutgoingDocument,
    *,
    now: datetime,
    signing_secret: str,
    receipt_hours: int = 8,
    page_amount: int = 1,
    register_kind: str = DEFAULT_REGISTER,
) -> OutgoingDocument:
    """Number (gapless, OUT-8), date and seal the signed document and its appendices (OUT-9), then send it to
    the recipient agencies and units (OUT-12), all in the caller's transaction."""
    if not clerk.has_role(Role.CLERK) or clerk.agency_id != document.agency_id:
        raise PermissionDenied(N_("Only the agency's clerk numbers and publishes its documents."))
    if document.state != OutgoingState.SIGNED:
        raise InvalidInput(N_("Only a signed document is numbered and published."))
    if not is_outgoing_register(register_kind):
        raise InvalidInput(N_("There is no register %(kind)s."), kind=register_kind)
    signed = latest(session, document, FileRole.SIGNED)
    assert signed is not None
    appendices = _latest_appendices(session, document)
    for appendix in appendices:
        if not appendix.file_name.lower().endswith(".pdf"):
            raise InvalidInput(N_("Appendix %(name)s is not a PDF; it cannot be sealed."), name=appendix.file_name)
    agency = clerk.agency
    local_day = clock.local(now).date()
    register_id, number = take_number(session, agency.id, register_kind, local_day.year)
    unit = session.get(Unit, document.unit_id) if document.unit_id else None
    document.register_id, document.number = register_id, number
    document.code_number = f"{number:02d}"  # numbers below 10 take a leading 0 (Phụ lục I II.3c)
    document.code_notation = notation(document, agency, unit)
    document.issued_date, document.page_amount = local_day, page_amount
    document.document_code = document_code(agency.code, local_day.year, document.code_number)
    number_text = document.number_symbol
    sealed = signing.seal_document(session, clerk, signed.content, number=number_text, secret=signing_secret, now=now)
    published = [
        _store(
            session,
            document,
            FileRole.PUBLISHED,
            Upload(f"{number_text.replace('/', '_')}.pdf", "application/pdf", sealed, chosen_name=""),
            by=clerk.username,
            now=now,
        )
    ]
    for appendix in appendices:
        content = signing.seal_appendix(
            session, clerk, appendix.content, number=number_text, secret=signing_secret, now=now
        )
        upload = Upload(appendix.file_name, "application/pdf", content)
        published.append(_store(session, document, FileRole.PUBLISHED, upload, by=clerk.username, now=now))
    document.state, document.published_at = OutgoingState.PUBLISHED, now
    session.flush()
    recipients = json.loads(document.recipients_json)
    if recipients:
        header = exchange_header(session, document, agency)
        files = [Upload(v.file_name, v.content_type, v.content) for v in published]
        exchange.send(
            session,
            agency,
            header,
            files,
            recipients,
            actor=clerk.username,
            now=now,
            outgoing_id=document.id,
            flag_after=now + timedelta(hours=receipt_hours),
        )
    units = json.loads(document.internal_units_json)
    if units:
        for listener in _publication_listeners.values():
            listener(session, document, units, now)
    return document


def exchange_header(session: Session, document: OutgoingDocument, agency: Agency) -> exchange.Header:
    """What travels with the published document (the recipients' registration fields)."""
    assert document.issued_date is not None
    return exchange.Header(
        organ_code=agency.code,
        organ_name=agency.name,
        number_symbol=document.number_symbol,
        issued_date=document.issued_date,
        type_name=document.type_name,
        subject=document.subject,
        urgency=document.urgency,
        page_amount=document.page_amount,
        signer_position=document.signer_position,
        signer_name=document.signer_name,
        due_date=document.due_date,
        extra={"place": agency.place_name} if agency.place_name else {},
        response_for=_answered(session, document),
    )


def published_files(session: Session, document: OutgoingDocument) -> list[Upload]:
    """The sealed document and appendices as they were sent."""
    query = (
        select(DraftVersion)
        .where(DraftVersion.document_id == document.id, DraftVersion.role == FileRole.PUBLISHED)
        .order_by(DraftVersion.id)
    )
    return [Upload(v.file_name, v.content_type, v.content) for v in session.scalars(query)]


def _answered(session: Session, document: OutgoingDocument) -> tuple[tuple[str, str, str, str], ...]:
    """The incoming document this one replies to, as its sender identifies it (QCVN 102 ResponseFor)."""
    answered = session.get(IncomingDocument, document.reply_to_id) if document.reply_to_id else None
    if answered is None:
        return ()
    return ((answered.organ_code, answered.number_symbol, answered.issued_date.isoformat(), answered.document_code),)


# --- reading ---------------------------------------------------------------------------------------------


def can_view_outgoing(session: Session, user: User, document: OutgoingDocument) -> bool:
    if document.agency_id != user.agency_id:
        return False
    if user.roles & VIEWERS or document.drafter_id == user.id:
        return True
    in_a_recipient_unit = user.unit is not None and user.unit.code in json.loads(document.internal_units_json)
    if document.state == OutgoingState.PUBLISHED and in_a_recipient_unit:
        return True
    return document.instance_id is not None and engine.has_taken_part(session, user, document.instance_id)


def outgoing_for(session: Session, user: User, document_id: int) -> OutgoingDocument:
    document = session.get(OutgoingDocument, document_id)
    if document is None:
        raise NotFound(N_("No such document."))
    if not can_view_outgoing(session, user, document):
        raise PermissionDenied(N_("This document is outside your scope."))
    return document


def outgoing_list(session: Session, user: User, *, limit: int = 200) -> list[OutgoingDocument]:
    query = select(OutgoingDocument).where(OutgoingDocument.agency_id == user.agency_id)
    if not user.roles & VIEWERS:
        query = query.where(OutgoingDocument.drafter_id == user.id)
    return list(session.scalars(query.order_by(OutgoingDocument.created_at.desc()).limit(limit)))


def deliveries_of(session: Session, document: OutgoingDocument) -> list[Delivery]:
    query = select(Delivery).where(Delivery.outgoing_id == document.id).order_by(Delivery.id)
    return list(session.scalars(query))


def of_instance(session: Session, instance_id: int) -> OutgoingDocument | None:
    return session.scalar(select(OutgoingDocument).where(OutgoingDocument.instance_id == instance_id))


def version_for(session: Session, user: User, version_id: int) -> DraftVersion:
    version = session.get(DraftVersion, version_id)
    if version is None:
        raise NotFound(N_("No such file."))
    outgoing_for(session, user, version.document_id)
    return version


# --- recall ----------------------------------------------------------------------------------------------


def recall(session: Session, user: User, document: OutgoingDocument, reason: str, *, now: datetime) -> list[Delivery]:
    """Ask every recipient to cancel the published document (OUT-14); each one's clerk confirms or refuses."""
    if user.agency_id != document.agency_id or not user.roles & RECALLERS:
        raise PermissionDenied(N_("Only the agency's clerk or leaders recall a document."))
    if document.state != OutgoingState.PUBLISHED:
        raise InvalidInput(N_("Only a published document can be recalled."))
    reason = reason.strip()
    if len(reason) < 5:
        raise InvalidInput(N_("Write why the document is recalled."), {"reason": N_("Write why it is recalled.")})
    document.state, document.recalled_at = OutgoingState.RECALLED, now
    deliveries = deliveries_of(session, document)
    for delivery in deliveries:
        exchange.request_recall(session, delivery, reason, by=f"{user.full_name} ({user.agency.name})", now=now)
    session.flush()
    return deliveries
