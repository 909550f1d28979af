"""Registering incoming documents: the next số đến, attachments, and the start of the agency's process."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import PurePath
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import clock, filetypes
from app.documents.models import Attachment, IncomingDocument, Register
from app.documents.search import search_text
from app.documents.types import TYPE_NAMES
from app.engine import services as engine
from app.errors import N_, InvalidInput, NotFound, PermissionDenied
from app.org.models import Role, User
from app.signing import services as signing

INCOMING_PROCESS = "incoming"
ALLOWED_EXTENSIONS = filetypes.ALLOWED_EXTENSIONS  # DOC-1, shared with the exchange intake
MAX_FILE_BYTES = 50 * 1024 * 1024  # DOC-2
MAX_NAME_LENGTH = 50
CORE_FIELDS = {"organ_name", "number_symbol", "issued_date", "type_name", "subject", "urgency", "page_amount"}
AGENCY_CODE = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")  # mã định danh, QCVN 102 / QĐ 20/2020
NUMBER_SYMBOL = re.compile(r"^(?:(\d{1,11})/)?([^\s/][^\s]{0,29})$")
VIEWER_ROLES = {Role.CLERK, Role.LEADER, Role.DEPUTY_LEADER, Role.ADMIN, Role.AUDITOR}


@dataclass(frozen=True)
class Upload:
    file_name: str
    content_type: str
    content: bytes
    chosen_name: str = ""  # the DOC-2 name the person chose instead of ours; empty: safe_file_name decides


def take_number(session: Session, agency_id: int, kind: str, year: int) -> tuple[int, int]:
    """Give the next gapless number of the register (IN-5), taken under its row lock: (register id, number)."""
    register = _register(session, agency_id, kind, year)
    number = register.next_number
    session.execute(update(Register).where(Register.id == register.id).values(next_number=number + 1))
    return register.id, number


def _register(session: Session, agency_id: int, kind: str, year: int) -> Register:
    query = (
        select(Register)
        .where(Register.agency_id == agency_id, Register.kind == kind, Register.year == year)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    register = session.scalars(query).first()
    if register is not None:
        return register
    try:
        with session.begin_nested():  # two clerks opening the year's register at once: one insert wins
            session.add(Register(agency_id=agency_id, kind=kind, year=year, next_number=1))
    except IntegrityError:
        pass
    return session.scalars(query).one()


def document_code(organ_code: str, year: int, number: str) -> str:
    """Mã định danh văn bản (QĐ 28/2018 Điều 10.2b, DOC-5): agency code, year, number — when all are known."""
    return f"{organ_code},{year},{number}" if organ_code and number else ""


def safe_file_name(name: str) -> str:
    """A name that DOC-2 accepts: no diacritics or special characters, at most 50 characters."""
    path = PurePath(name.replace("\\", "/"))
    stem, suffix = path.stem, path.suffix.lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,10}", suffix):  # 'báo cáo.đ', 'a. b': no extension, part of the name
        stem, suffix = path.name, ""
    ascii_stem = unicodedata.normalize("NFKD", stem.replace("đ", "d").replace("Đ", "D"))
    ascii_stem = "".join(ch for ch in ascii_stem if not unicodedata.combining(ch))
    ascii_stem = re.sub(r"[^A-Za-z0-9_-]+", "_", ascii_stem).strip("_")
    # Cut, then trim again: a cut ending in '_' would be trimmed by the next correction (not stable).
    return (ascii_stem[: MAX_NAME_LENGTH - len(suffix)].strip("_") or "tep") + suffix


def check_upload(upload: Upload) -> None:
    suffix = PurePath(upload.file_name).suffix.lower()
    if suffix not in ALLOWED_EXTENSIONS:
        raise InvalidInput(
            N_("Files of type %(suffix)s are not accepted (DOC-1)."),
            {"attachment": N_("Accepted: text, Word, OpenDocument, PDF, spreadsheets and images.")},
            suffix=suffix or "?",
        )
    if len(upload.content) > MAX_FILE_BYTES:
        raise InvalidInput(N_("A file may be at most 50 MB (DOC-2)."), {"attachment": N_("File too large.")})
    if not upload.content:
        raise InvalidInput(N_("The file is empty."), {"attachment": N_("The file is empty.")})
    filetypes.check_content(upload.file_name, upload.content)
    if upload.chosen_name:
        check_file_name(upload.chosen_name, suffix, "attachment")


def check_registrar(user: User) -> None:
    """Only a clerk registers incoming documents (IN-5): asked before the form is read, so that a refused person
    gets 403, not the form's errors."""
    if not user.has_role(Role.CLERK):
        raise PermissionDenied(N_("Only a clerk registers incoming documents."))


def register_incoming(
    session: Session,
    clerk: User,
    values: dict[str, Any],
    uploads: list[Upload],
    *,
    now: datetime,
    signing_secret: str = "",
) -> IncomingDocument:
    """Register an incoming document with the next số đến of the year and start its process (IN-5); a paper
    document's scan becomes one PDF signed with the agency's certificate first (IN-4)."""
    check_registrar(clerk)
    missing = sorted(CORE_FIELDS - values.keys())
    if missing:
        raise InvalidInput(N_("The registration form lacks the fields %(fields)s."), fields=", ".join(missing))
    match = NUMBER_SYMBOL.match(str(values["number_symbol"]).strip())
    if match is None:
        raise InvalidInput(N_("Some fields need correcting."), {"number_symbol": N_("Write it as 12/QĐ-UBND.")})
    if values["type_name"] not in TYPE_NAMES:
        raise InvalidInput(N_("Some fields need correcting."), {"type_name": N_("Choose one of the offered values.")})
    if int(values.get("secrecy") or 0) > 0:
        raise InvalidInput(
            N_("Classified documents (Mật, Tối mật, Tuyệt mật) must not be managed in this system (DOC-4)."),
            {"secrecy": N_("Handle it on paper, outside the system.")},
        )
    organ_code = str(values.get("organ_code") or "").strip()
    if organ_code and not AGENCY_CODE.match(organ_code):
        raise InvalidInput(N_("Some fields need correcting."), {"organ_code": N_("Write it as 000.00.12.H34.")})
    for upload in uploads:
        check_upload(upload)
    if values.get("is_paper"):
        if not uploads:
            raise InvalidInput(N_("Upload the scan of the paper document."), {"attachment": N_("Upload the scan.")})
        scanned = signing.digitise(
            session, clerk, [(u.file_name, u.content) for u in uploads], secret=signing_secret, now=now
        )
        uploads = [Upload(f"ban_so_hoa_{clock.local(now):%Y%m%d_%H%M%S}.pdf", "application/pdf", scanned)]
    issued_on = date.fromisoformat(values["issued_date"])
    year = clock.local(now).year
    register_id, number = take_number(session, clerk.agency_id, "incoming", year)
    document = IncomingDocument(
        agency_id=clerk.agency_id,
        register_id=register_id,
        arrival_number=number,
        arrival_at=now,
        organ_name=values["organ_name"],
        organ_code=organ_code,
        document_code=document_code(organ_code, issued_on.year, match.group(1) or ""),
        language=str(values.get("language") or "Tiếng Việt")[:30],
        received_via=str(values.get("received_via") or "")[:30],
        code_number=match.group(1) or "",
        code_notation=match.group(2),
        issued_date=issued_on,
        type_name=values["type_name"],
        subject=values["subject"],
        urgency=int(values["urgency"] or 0),
        page_amount=int(values["page_amount"] or 1),
        signer_position=values.get("signer_position") or "",
        signer_name=values.get("signer_name") or "",
        due_date=date.fromisoformat(values["due_date"]) if values.get("due_date") else None,
        description=values.get("description") or "",
        is_paper=bool(values.get("is_paper")),
        extra_json=json.dumps({k: v for k, v in values.items() if k not in _COLUMNS}, ensure_ascii=False),
        registered_by_id=clerk.id,
    )
    document.search_text = search_text(document)
    session.add(document)
    session.flush()
    for upload in uploads:
        session.add(
            Attachment(
                document_id=document.id,
                file_name=upload.chosen_name or safe_file_name(upload.file_name),
                original_name=upload.file_name[:255],
                content_type=filetypes.type_for(upload.file_name),
                size=len(upload.content),
                sha256=hashlib.sha256(upload.content).hexdigest(),
                content=upload.content,
                uploaded_at=now,
            )
        )
    data = {
        **{k: v for k, v in values.items() if isinstance(v, str | int | float | bool) or v is None},
        "document_id": document.id,
        "arrival_number": number,
        "number_symbol": document.number_symbol,
        "registered_by": clerk.username,
    }
    started = engine.start_instance(
        session,
        clerk.agency,
        INCOMING_PROCESS,
        business_key=f"incoming:{document.id}",
        data=data,
        actor=clerk.username,
        now=now,
    )
    document.instance_id = started.instance.id
    session.flush()
    return document


_COLUMNS = CORE_FIELDS | {
    "signer_position",
    "signer_name",
    "due_date",
    "description",
    "is_paper",
    "organ_code",
    "secrecy",
    "language",
    "received_via",
}


def can_view(session: Session, user: User, document: IncomingDocument) -> bool:
    """A document is seen in its own agency by clerks, leaders, administrators and auditors, and by its handlers."""
    if document.agency_id != user.agency_id:
        return False
    if user.roles & VIEWER_ROLES:
        return True
    if document.instance_id is None:
        return False
    return engine.has_taken_part(session, user, document.instance_id)


def incoming_for(session: Session, user: User, document_id: int) -> IncomingDocument:
    document = session.get(IncomingDocument, document_id)
    if document is None:
        raise NotFound(N_("No such document."))
    if not can_view(session, user, document):
        raise PermissionDenied(N_("This document is outside your scope."))
    return document


def signature_checks(session: Session, document: IncomingDocument, *, now: datetime) -> dict[int, Any]:
    """The signature panel of each PDF attachment, checked now against the trust anchors (IN-1, DOC-6)."""
    checks: dict[int, Any] = {}
    for attachment in document.attachments:
        if attachment.file_name.lower().endswith(".pdf"):
            try:
                checks[attachment.id] = signing.verify_document(session, attachment.content, now=now)
            except InvalidInput as error:
                checks[attachment.id] = error
    return checks


PAPER_KEEPERS = {Role.CLERK, Role.LEADER, Role.DEPUTY_LEADER, Role.UNIT_LEADER}


def set_paper_holder(session: Session, user: User, document: IncomingDocument, holder: str) -> None:
    """Note who holds the paper that came with the electronic document (IN-13): the lead unit, usually."""
    if document.agency_id != user.agency_id or not user.roles & PAPER_KEEPERS:
        raise PermissionDenied(N_("Only the clerk and leaders note where the paper copy is."))
    document.paper_holder = holder.strip()[:200]
    session.flush()


def is_valid_file_name(name: str) -> bool:
    """A name meets DOC-2 exactly when correcting it changes nothing."""
    return safe_file_name(name) == name


def check_file_name(name: str, extension: str, field: str) -> None:
    """A name a person chose must meet DOC-2 itself and keep the file's extension, which says how to open it."""
    if not is_valid_file_name(name) or PurePath(name).suffix != extension:
        raise InvalidInput(
            N_("“%(name)s” cannot be used as a file name (DOC-2); “%(suggestion)s” can."),
            {field: N_("At most 50 characters: letters without diacritics, digits, _ and -, keeping the extension.")},
            name=name,
            suggestion=safe_file_name((PurePath(name.replace("\\", "/")).stem or "tep") + extension),
        )


def rename_attachment(session: Session, clerk: User, attachment: Attachment, file_name: str) -> Attachment:
    """Give an attachment another DOC-2 name; its content and original name stay as they are (DOC-2)."""
    if attachment.document.agency_id != clerk.agency_id or not clerk.has_role(Role.CLERK):
        raise PermissionDenied(N_("Only a clerk of the document's agency renames its files."))
    check_file_name(file_name, PurePath(attachment.file_name).suffix, "file_name")
    attachment.file_name = file_name
    session.flush()
    return attachment
