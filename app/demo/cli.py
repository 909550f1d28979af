"""`flask demo load|users|agencies`: the demo province for a first run, demos and browser tests."""

from __future__ import annotations

import sys
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.db import transaction
from app.demo.province import AGENCIES, DIRECTORY, DOCUMENTS, MAIL, PASSWORD
from app.documents.services import register_incoming
from app.engine import definitions
from app.extensions import db
from app.interop.models import DirectoryEntry
from app.org import services as org
from app.org.models import Agency, Role, Unit, User

cli = AppGroup("demo", help="The demo province of Kon Tum.")


def username(agency: dict[str, str], local: str) -> str:
    return f"{agency['prefix']}.{local}"


def load_province(session: Session) -> None:
    """Agencies, units, people, every process deployed, and three incoming documents per agency."""
    now = clock.now()
    definitions.sync(
        session,
        processes_dir=current_app.config["PROCESSES_DIR"],
        forms_dir=current_app.config["FORMS_DIR"],
        actor="demo",
        now=now,
    )
    for code, name, transport in DIRECTORY:
        session.add(DirectoryEntry(code=code, name=name, transport=transport, updated_at=now, updated_by="demo"))
    parent: Agency | None = None
    for spec in AGENCIES:
        agency = org.create_agency(
            session, spec["code"], spec["name"], spec["abbreviation"], place_name=spec["place_name"], parent=parent
        )
        parent = parent or agency
        session.add(DirectoryEntry(code=agency.code, name=agency.name, updated_at=now, updated_by="demo"))
        units = {}
        for code, name in spec["units"]:
            unit = Unit(agency_id=agency.id, code=code, name=name)
            session.add(unit)
            units[code] = unit
        session.flush()
        for local, full_name, position, roles, unit_code in spec["people"]:
            org.create_user(
                session,
                agency,
                username(spec, local),
                full_name,
                PASSWORD,
                roles,
                unit=units.get(unit_code) if unit_code else None,
                position=position,
            )
        clerk = session.scalar(select(User).where(User.username == username(spec, "vanthu")))
        assert clerk is not None
        for offset, (organ, number_symbol, type_name, subject, urgency) in enumerate(DOCUMENTS):
            values = {
                "organ_name": organ,
                "number_symbol": number_symbol,
                "issued_date": (now - timedelta(days=3)).date().isoformat(),
                "type_name": type_name,
                "subject": subject,
                "urgency": urgency,
                "page_amount": 2 + offset,
                "signer_position": "",
                "signer_name": "",
                "due_date": None,
                "description": "",
            }
            register_incoming(session, clerk, values, [], now=now)


@cli.command("load")
def load_command() -> None:
    """Load the demo province into an empty database."""
    if db.session.scalar(select(Agency.id).limit(1)) is not None:
        click.echo("The database already holds agencies: nothing loaded.", err=True)
        sys.exit(1)
    with transaction() as session:
        load_province(session)
    click.echo(f"Loaded {len(AGENCIES)} agencies. Initial password of every account: {PASSWORD}")


@cli.command("mail")
def mail_command() -> None:
    """Send the demo documents between agencies (after `flask signing test-pki`, so they are sealed)."""
    from app.documents import exchange
    from app.documents.cli import generated_document
    from app.org.services import agency_by_code

    now = clock.now()
    with transaction() as session:
        for sender_code, recipient_code, number, type_name, subject, urgency in MAIL:
            sender = agency_by_code(session, sender_code)
            document = generated_document(
                session, sender, sender.name, type_name, subject, number, unsigned=False, now=now
            )
            header = exchange.Header(
                organ_code=sender.code,
                organ_name=sender.name,
                number_symbol=number,
                issued_date=clock.local(now).date(),
                type_name=type_name,
                subject=subject,
                urgency=urgency,
                signer_position="Chánh Văn phòng",
                signer_name="Trần Văn Hùng",
            )
            exchange.send(session, sender, header, [document], [recipient_code], actor="demo", now=now)
    click.echo(f"Sent {len(MAIL)} documents between agencies.")


@cli.command("users")
def users_command() -> None:
    """One account a line: username, role, agency code, initial password."""
    rows = db.session.execute(select(User, Agency.code).join(Agency).order_by(Agency.code, User.username)).all()
    for user, code in rows:
        roles = ",".join(sorted(role.value for role in user.roles)) or Role.SPECIALIST.value
        click.echo(f"{user.username}\t{roles}\t{code}\t{PASSWORD}")


@cli.command("agencies")
def agencies_command() -> None:
    """One agency a line: code, then name."""
    for agency in db.session.scalars(select(Agency).order_by(Agency.code)):
        click.echo(f"{agency.code}\t{agency.name}")
