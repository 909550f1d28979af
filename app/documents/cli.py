"""`flask exchange inject …`: put a document from another agency in an agency's list of documents to accept,
as if that agency had published it (for demos, tests and support staff)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.db import transaction
from app.documents import exchange, specimen
from app.documents.models import Delivery
from app.documents.services import AGENCY_CODE, Upload
from app.documents.types import TYPE_NAMES
from app.errors import DomainError
from app.org.models import Agency
from app.org.services import agency_by_code
from app.signing import services as signing

cli = AppGroup("exchange", help="Documents between agencies.")


@cli.command("inject")
@click.option("--to", "to_code", required=True, help="The receiving agency's code, e.g. 000.00.12.H34.")
@click.option("--from", "from_code", required=True, help="The sending agency's code (in this installation or not).")
@click.option("--from-name", default="", help="The sender's name, when it is not an agency of this installation.")
@click.option("--number", "number_symbol", default="", help="Number and symbol, e.g. 12/UBND-VP.")
@click.option("--type", "type_name", default="Công văn", show_default=True)
@click.option("--subject", default="V/v phối hợp triển khai nhiệm vụ", show_default=True)
@click.option("--urgency", type=click.IntRange(0, 3), default=0, show_default=True)
@click.option("--file", "files", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--unsigned", is_flag=True, help="Do not seal the generated PDF with the sender's certificate.")
def inject_command(
    to_code: str,
    from_code: str,
    from_name: str,
    number_symbol: str,
    type_name: str,
    subject: str,
    urgency: int,
    files: tuple[Path, ...],
    unsigned: bool,
) -> None:
    """Send a document from --from to --to. Without --file a one-page PDF is made and sealed with the sender's
    agency certificate (when the sender is here and has one)."""
    if type_name not in TYPE_NAMES:
        raise click.BadParameter(f"one of: {', '.join(sorted(TYPE_NAMES))}", param_hint="--type")
    if not AGENCY_CODE.match(from_code):
        raise click.BadParameter("write it as 000.00.01.H34", param_hint="--from")
    now = clock.now()
    try:
        with transaction() as session:
            recipient = agency_by_code(session, to_code)
            sender = session.scalar(select(Agency).where(Agency.code == from_code))
            count = session.scalar(select(func.count()).select_from(Delivery)) or 0
            number_symbol = number_symbol or f"{count + 1}/{sender.abbreviation if sender else 'CV'}"
            uploads = [
                Upload(path.name, "application/pdf" if path.suffix.lower() == ".pdf" else "", path.read_bytes())
                for path in files
            ] or [
                generated_document(
                    session,
                    sender,
                    from_name or from_code,
                    type_name,
                    subject,
                    number_symbol,
                    unsigned=unsigned,
                    now=now,
                )
            ]
            header = exchange.Header(
                organ_code=from_code,
                organ_name=sender.name if sender else (from_name or from_code),
                number_symbol=number_symbol,
                issued_date=clock.local(now).date(),
                type_name=type_name,
                subject=subject,
                urgency=urgency,
                signer_position="Chánh Văn phòng",
                signer_name="Người ký thử",
            )
            if sender is not None:
                exchange.send(session, sender, header, uploads, [recipient.code], actor="exchange inject", now=now)
            else:
                exchange.receive(
                    session,
                    recipient,
                    message_id=f"inject-{now.timestamp():.0f}-{count}",
                    transport="injected",
                    sender_code=from_code,
                    sender_name=header.organ_name,
                    header=header,
                    files=uploads,
                    now=now,
                )
    except DomainError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{number_symbol} from {from_code} is waiting for the clerk of {to_code}.")


def generated_document(
    session: Session,
    sender: Agency | None,
    sender_name: str,
    type_name: str,
    subject: str,
    number_symbol: str,
    *,
    unsigned: bool,
    now: datetime,
) -> Upload:
    document = specimen.document_pdf(
        agency_name=sender.name if sender else sender_name,
        type_name=type_name,
        subject=subject,
        body="Văn bản được gửi bằng lệnh thử nghiệm flask exchange inject để kiểm tra việc tiếp nhận văn bản điện tử.",
        signer_position="Chánh Văn phòng",
        signer_name="Người ký thử",
    )
    if sender is not None and not unsigned:
        try:
            document = signing.seal_unsigned(
                session,
                sender,
                document,
                number=number_symbol,
                issued_on=clock.local(now).date(),
                secret=current_app.config["SIGNING_SECRET"],
                now=now,
            )
        except DomainError as error:
            click.echo(f"not sealed ({error}); sending it unsigned", err=True)
    return Upload(f"{number_symbol.replace('/', '_')}.pdf", "application/pdf", document)
