"""`flask reports …`: print a register of an agency to a PDF file."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from app import clock
from app.errors import DomainError
from app.extensions import db
from app.org.services import agency_by_code
from app.reports import registers

cli = AppGroup("reports", help="Registers printed for binding (Decree 30/2020, Appendix IV).")


@cli.command("incoming-register")
@click.option("--agency", "agency_code", required=True, help="The agency's code (mã định danh), e.g. 000.00.12.H34.")
@click.option("--year", type=click.IntRange(registers.FIRST_YEAR, registers.LAST_YEAR), required=True)
@click.argument("out", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def incoming_register_command(agency_code: str, year: int, out: Path) -> None:
    """Write the agency's register of incoming documents of YEAR to OUT as a PDF (IN-6)."""
    session = db.session()
    try:
        agency = agency_by_code(session, agency_code)
    except DomainError as error:
        raise click.ClickException(str(error)) from error
    pdf = registers.incoming_register_pdf(session, agency, year, now=clock.now())
    out.write_bytes(pdf)
    click.echo(f"{out}: incoming register {year} of {agency.code}, {len(pdf)} bytes")
