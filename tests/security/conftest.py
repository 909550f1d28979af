"""One committed world for the authorisation matrix: a province P whose administrator administers the
installation, its two children A and B with a person of every role each, and an object of agency A behind every
route parameter. Built once per module (hundreds of requests read it), every row removed afterwards."""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select

from app import clock
from app.db import transaction
from app.documents import exchange
from app.documents.models import Attachment, DraftVersion, IncomingDocument, OutgoingDocument, ReceivedDocument
from app.documents.services import Upload
from app.documents.specimen import document_pdf
from app.engine import definitions
from app.engine.models import OpenTask, ProcessDefinition, ProcessInstance
from app.extensions import db as database
from app.inbox.models import FilterPage, Notification, SavedFilter
from app.interop import services as interop
from app.interop.models import DirectoryEntry, OutboundPackage, PackageState
from app.org import services as org
from app.org.models import Agency, Delegation, Role, Unit, User
from config import ROOT
from tests.conftest import BASE_TABLES, PASSWORD, WebClient

MARKER = "MATRIXA7Q"  # in the subjects, names and contents of agency A's objects: never served to B or anonymous
P_CODE, A_CODE, B_CODE, OUTSIDE_CODE = "000.00.00.H96", "000.00.41.H96", "000.00.42.H96", "000.00.12.H34"
UNIT_OF = {Role.CLERK: "VP", Role.UNIT_LEADER: "KT", Role.SPECIALIST: "KT"}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def pdf(subject: str) -> bytes:
    return document_pdf(
        agency_name="UBND xã Thử nghiệm",
        type_name="Công văn",
        subject=subject,
        body="Nội dung thử nghiệm.",
        signer_position="Chủ tịch",
        signer_name="Nguyễn Văn An",
    )


class Actor:
    """A logged-in browser (or none for anonymous) with its CSRF token, fetched once from a page that changes
    nothing."""

    def __init__(self, app: Flask, name: str, username: str | None) -> None:
        self.app, self.name, self.username = app, name, username
        self.login()

    def login(self) -> None:
        client = self.app.test_client()
        # Each actor asks from its own address (TEST-NET-2), as people do: the login limits count per address.
        client.environ_base["REMOTE_ADDR"] = f"198.51.100.{zlib.crc32(self.name.encode()) % 250 + 1}"
        self.web = WebClient(client)
        if self.username is not None:
            response = self.web.login(self.username)
            assert response.status_code == 302, (self.name, response.get_data(as_text=True)[:500])
        page = "/org/password" if self.username is not None else "/org/login"
        match = TOKEN.search(self.web.get(page).get_data(as_text=True))
        assert match, f"no CSRF token for {self.name}"
        self.token = match.group(1)

    def request(self, method: str, url: str, data: dict[str, Any] | None = None) -> Any:
        if method == "GET":
            return self.web.client.get(url)
        form = {"csrf_token": self.token, **(data or {})}
        return self.web.client.open(url, method=method, data=form)


@dataclass
class World:
    ids: dict[str, Any] = field(default_factory=dict)
    actors: dict[str, Actor] = field(default_factory=dict)


def _agency(session, code: str, name: str, parent: Agency | None) -> Agency:
    agency = org.create_agency(session, code, name, "UBND", parent=parent)
    session.add_all(Unit(agency_id=agency.id, code=unit, name=f"Phòng {unit}") for unit in ("VP", "KT"))
    session.flush()
    return agency


def _people(session, agency: Agency, prefix: str) -> dict[Role, User]:
    people = {}
    units = {unit.code: unit for unit in session.scalars(select(Unit).where(Unit.agency_id == agency.id))}
    for role in Role:
        unit = units[UNIT_OF[role]] if role in UNIT_OF else None
        user = org.create_user(
            session, agency, f"mx.{prefix}.{role.value}", f"Người {prefix} {role.value}", PASSWORD, [role], unit=unit
        )
        user.must_change_password = False
        people[role] = user
    session.flush()
    return people


def _files(client: WebClient, url: str, fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> Any:
    data: dict[str, Any] = {**fields, "csrf_token": client.token(url)}
    for name, (file_name, content) in files.items():
        data[name] = (io.BytesIO(content), file_name)
    return client.client.post(url, data=data, content_type="multipart/form-data")


def _build(app: Flask) -> dict[str, Any]:
    now = clock.now()
    ids: dict[str, Any] = {}
    with app.app_context(), transaction() as session:
        province = _agency(session, P_CODE, "UBND tỉnh Ma Trận", None)
        a = _agency(session, A_CODE, "UBND xã Thử Nghiệm", province)
        b = _agency(session, B_CODE, "UBND xã Bên Kia", province)
        installation_admin = org.create_user(
            session, province, "mx.root.admin", "Quản trị hệ thống", PASSWORD, [Role.ADMIN]
        )
        installation_admin.must_change_password = False
        people = {"A": _people(session, a, "a"), "B": _people(session, b, "b")}
        ids |= {"a": a.id, "b": b.id, "p": province.id}
        # Agency A's own version of the incoming process (its documents start on it).
        xml = (ROOT / "processes" / "_default" / "incoming.bpmn").read_bytes()
        xml = xml.replace(b'name="X', f'name="{MARKER} X'.encode(), 1)
        definitions.deploy(
            session, "incoming.bpmn", xml, scope=A_CODE, forms_dir=app.config["FORMS_DIR"], actor="tests", now=now
        )
        ids["users"] = {
            f"{side}.{role.value}": user.username for side, group in people.items() for role, user in group.items()
        }
        ids["users"]["root"] = installation_admin.username
        session.add(
            DirectoryEntry(
                code=OUTSIDE_CODE,
                name="Sở Nội vụ tỉnh Quảng Ngãi",
                transport="directory",
                updated_at=now,
                updated_by="tests",
            )
        )
        a_leader = people["A"][Role.LEADER]
        session.add(
            SavedFilter(user_id=a_leader.id, page=FilterPage.INBOX, name=f"Lọc {MARKER}", query="", created_at=now)
        )
        session.add(Notification(user_id=a_leader.id, agency_id=a.id, message=f"Báo {MARKER}", created_at=now))
        ids["a_leader"] = a_leader.id
        # The unit head's delegation: revoking it (a row of the matrix) changes no one's view of the leader's task.
        a_unit_leader, a_specialist = people["A"][Role.UNIT_LEADER], people["A"][Role.SPECIALIST]
        org.delegate(session, a_unit_leader, a_specialist, starts_at=now, ends_at=now + timedelta(days=7), now=now)
        # A document from the province to A, waiting for A's clerk.
        header = exchange.Header(
            organ_code=P_CODE,
            organ_name="UBND tỉnh Ma Trận",
            number_symbol="45/UBND-VP",
            issued_date=date(2026, 11, 24),
            type_name="Công văn",
            subject=f"V/v đến xã {MARKER}",
            urgency=0,
            signer_position="Chánh Văn phòng",
            signer_name="Trần Văn Bình",
        )
        exchange.send(
            session,
            province,
            header,
            [Upload("45_UBND-VP.pdf", "application/pdf", pdf(header.subject))],
            [a.code],
            actor="tests",
            now=now,
        )
        entry = interop.quarantine(
            session,
            f"<edXML>{MARKER}</edXML>".encode(),
            "The package is not well-formed XML.",
            {},
            transport="http",
            source="tests",
            now=now,
        )
        entry.agency_id = a.id
        package = OutboundPackage(
            kind="document",
            transport="directory",
            recipient_code=OUTSIDE_CODE,
            file_name=f"{MARKER}.edxml",
            content=b"<edXML/>",
            agency_id=a.id,
            state=PackageState.FAILED,
            attempts=12,
            next_attempt_at=now,
            last_error=f"lỗi {MARKER}",
            created_at=now,
        )
        session.add(package)
        session.flush()
        ids["quarantine"], ids["package"] = entry.id, package.id
    with app.app_context():
        session = database.session()
        ids["directory"] = session.scalar(select(DirectoryEntry.id).where(DirectoryEntry.code == OUTSIDE_CODE))
        ids["filter"] = session.scalar(select(SavedFilter.id).where(SavedFilter.user_id == ids["a_leader"]))
        ids["delegation"] = session.scalar(select(Delegation.id).where(Delegation.agency_id == ids["a"]))
        received = session.scalar(select(ReceivedDocument).where(ReceivedDocument.agency_id == ids["a"]))
        assert received is not None
        ids["received"], ids["received_file"] = received.id, received.files[0].id
        database.session.remove()

    clerk = WebClient(app.test_client())
    assert clerk.login(ids["users"]["A.clerk"]).status_code == 302
    registration = {
        "organ_name": "Bộ Nội vụ",
        "number_symbol": "12/BNV-CCVC",
        "issued_date": "2026-11-20",
        "type_name": "Công văn",
        "subject": f"Về việc {MARKER}",
        "urgency": "0",
        "secrecy": "0",
        "page_amount": "2",
    }
    response = _files(clerk, "/documents/incoming/new", registration, {"attachment": ("den.pdf", pdf(MARKER))})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    drafter = WebClient(app.test_client())
    assert drafter.login(ids["users"]["A.specialist"]).status_code == 302
    draft = {
        "type_name": "Quyết định",
        "subject": f"Quyết định {MARKER}",
        "urgency": "0",
        "secrecy": "0",
        "consult_days": "2",
        "signer": ids["users"]["A.leader"],
        "reviewer": ids["users"]["A.deputy_leader"],
        "recipients": B_CODE,
        "internal_units": "VP",
    }
    files = {"draft": ("du_thao.pdf", pdf(MARKER)), "submission": ("phieu_trinh.pdf", pdf("Phiếu trình"))}
    response = _files(drafter, "/outgoing/new", draft, files)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    with app.app_context():
        session = database.session()
        incoming = session.scalar(select(IncomingDocument).where(IncomingDocument.agency_id == ids["a"]))
        outgoing = session.scalar(select(OutgoingDocument).where(OutgoingDocument.agency_id == ids["a"]))
        assert incoming is not None and outgoing is not None
        ids["incoming"], ids["instance"] = incoming.id, incoming.instance_id
        ids["attachment"] = session.scalar(select(Attachment.id).where(Attachment.document_id == incoming.id))
        ids["outgoing"] = outgoing.id
        ids["version"] = session.scalar(select(DraftVersion.id).where(DraftVersion.document_id == outgoing.id))
        ids["task"] = session.scalar(select(OpenTask.task_uuid).where(OpenTask.instance_id == incoming.instance_id))
        instance = session.get(ProcessInstance, incoming.instance_id)
        assert instance is not None
        ids["definition"] = instance.definition_id
        database.session.remove()
    assert all(value is not None for value in ids.values()), ids
    return ids


@pytest.fixture(scope="module")
def world(app: Flask) -> Iterator[World]:
    try:
        ids = _build(app)
        # No app context stays pushed while requests run: each request gets its own `g` (the logged-in user).
        actors = {"anonymous": Actor(app, "anonymous", None)}
        actors |= {name: Actor(app, name, username) for name, username in ids["users"].items()}
        yield World(ids=ids, actors=actors)
    finally:
        with app.app_context():
            database.session.remove()
            tables = [t for t in reversed(database.metadata.sorted_tables) if t.name not in BASE_TABLES]
            with database.engine.begin() as connection:
                for table in tables:
                    connection.execute(table.delete())
                connection.execute(delete(ProcessDefinition).where(ProcessDefinition.scope == A_CODE))
