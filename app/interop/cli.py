"""`flask interop …`: packages by hand, for gateways and support staff (export, import), and the exchange's
housekeeping (poll the inbox folder, hand over waiting packages now, import the directory of agency codes)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app import clock
from app.db import transaction
from app.documents import outgoing
from app.documents.models import Delivery, OutgoingDocument, OutgoingState
from app.errors import DomainError
from app.interop import services
from app.interop.directory_cli import directory_import
from app.interop.edxml import write_package
from app.interop.messages import Attachment, Message
from app.org.models import Agency

cli = AppGroup("interop", help="edXML packages (QCVN 102:2016) between agencies.")
cli.add_command(directory_import)


@cli.command("export")
@click.argument("document_id", type=int)
@click.argument("target", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--to", "to_code", default="", help="One recipient (its delivery's package id is kept).")
def export_command(document_id: int, target: Path, to_code: str) -> None:
    """Write the package of published outgoing document DOCUMENT_ID to TARGET (all its recipient agencies, or
    --to one of them). Exporting again gives the same package id, so a recipient takes it in once."""
    try:
        with transaction() as session:
            document = session.get(OutgoingDocument, document_id)
            if document is None or document.state not in (OutgoingState.PUBLISHED, OutgoingState.RECALLED):
                raise click.ClickException(f"no published outgoing document {document_id}")
            deliveries = list(session.scalars(select(Delivery).where(Delivery.outgoing_id == document.id)))
            codes = list(json.loads(document.recipients_json))
            if to_code:
                if to_code not in codes:
                    raise click.ClickException(f"{to_code} is not a recipient of document {document_id}")
                codes = [to_code]
            names = {delivery.recipient_code: delivery.recipient_name for delivery in deliveries}
            delivery = next((item for item in deliveries if item.recipient_code == to_code), None)
            message_id = (
                delivery.message_id if delivery else str(uuid.uuid5(uuid.NAMESPACE_URL, f"outgoing/{document.id}"))
            )
            agency = session.get(Agency, document.agency_id)
            assert agency is not None
            message = Message(
                header=outgoing.exchange_header(session, document, agency),
                recipients=[(code, names.get(code, code)) for code in codes],
                message_id=message_id,
                attachments=[
                    Attachment(item.file_name, item.content_type, item.content)
                    for item in outgoing.published_files(session, document)
                ],
                sent_at=document.published_at,
            )
            data = write_package(message)
    except DomainError as error:
        raise click.ClickException(_translated(error.message, error.params)) from error
    target.write_bytes(data)
    click.echo(f"{target}: {document.number_symbol} to {', '.join(codes)} ({len(data)} bytes)")


@cli.command("import")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--agency", "agency_code", required=True, help="The agency of this installation it is for.")
def import_command(source: Path, agency_code: str) -> None:
    """Take in the package SOURCE for --agency: a document waits for its clerk, a status reaches the sender's
    table, a recall reaches the clerk. A package that cannot be taken in is quarantined (exit status 1)."""
    with transaction() as session:
        intake = services.take_in(
            session, source.read_bytes(), transport="cli", source=source.name, now=clock.now(), agency_code=agency_code
        )
        if intake.quarantined is not None:
            reason, params = services.reason_of(intake.quarantined)
            message = f"quarantined as #{intake.quarantined.id}: {_translated(reason, params)}"
        elif intake.kind == "status" and intake.delivery is not None:
            message = f"status {intake.delivery.status} recorded for {intake.delivery.number_symbol}"
        else:
            message = ", ".join(f"{intake.kind} #{item.id} {item.number_symbol}" for item in intake.received)
    if intake.quarantined is not None:
        raise click.ClickException(message)
    click.echo(message)


@cli.command("poll")
def poll_command() -> None:
    """Take in the packages waiting in INTEROP_INBOX_DIR now."""
    from app.extensions import db

    session = db.session()
    counts = services.poll_inbox(session, now=clock.now(), commit=session.commit)
    click.echo(", ".join(f"{kind}: {count}" for kind, count in counts.items()))


@cli.command("push")
def push_command() -> None:
    """Hand every package whose attempt is due to its transport now (without the worker)."""
    results: dict[str, int] = {}
    with transaction() as session:
        ids = services.due_packages(session, clock.now())
    for package_id in ids:
        with transaction() as session:
            result = services.push(session, package_id, now=clock.now(), commit=session.commit)
        results[result] = results.get(result, 0) + 1
    click.echo(", ".join(f"{kind}: {count}" for kind, count in sorted(results.items())) or "nothing due")


def _translated(message: str, params: Mapping[str, object]) -> str:
    """Vietnamese, as the installation's default language (a command line has no user's choice)."""
    return services.in_vietnamese(message, params)
