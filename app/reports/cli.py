"""`flask reports …`: print a register of an agency to a PDF file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask.cli import AppGroup

from app import clock
from app.errors import DomainError
from app.extensions import db
from app.org.services import agency_by_code
from app.reports import registers

cli = AppGroup("reports", help="Registers printed for binding (Decree 30/2020, Appendix IV).")

agency_option = click.option(
    "--agency", "agency_code", required=True, help="The agency's code (mã định danh), e.g. 000.00.12.H34."
)
year_option = click.option("--year", type=click.IntRange(registers.FIRST_YEAR, registers.LAST_YEAR), required=True)
out_argument = click.argument("out", type=click.Path(dir_okay=False, writable=True, path_type=Path))


@contextmanager
def _reported() -> Iterator[None]:
    """An unknown agency or a wrong register ends the command with its message, not a traceback."""
    try:
        yield
    except DomainError as error:
        raise click.ClickException(str(error)) from error


@cli.command("incoming-register")
@agency_option
@year_option
@out_argument
def incoming_register_command(agency_code: str, year: int, out: Path) -> None:
    """Write the agency's register of incoming documents of YEAR to OUT as a PDF (IN-6)."""
    session = db.session()
    with _reported():
        agency = agency_by_code(session, agency_code)
    pdf = registers.incoming_register_pdf(session, agency, year, now=clock.now())
    out.write_bytes(pdf)
    click.echo(f"{out}: incoming register {year} of {agency.code}, {len(pdf)} bytes")


@cli.command("outgoing-register")
@agency_option
@year_option
@click.option(
    "--kind",
    default=registers.OUTGOING,
    show_default=True,
    help="The register: outgoing, or a further one such as outgoing:QĐ.",
)
@out_argument
def outgoing_register_command(agency_code: str, year: int, kind: str, out: Path) -> None:
    """Write the agency's register of outgoing documents of YEAR to OUT as a PDF (OUT-15)."""
    session = db.session()
    with _reported():
        agency = agency_by_code(session, agency_code)
        pdf = registers.outgoing_register_pdf(session, agency, year, kind=kind, now=clock.now())
    out.write_bytes(pdf)
    click.echo(f"{out}: outgoing register {kind} {year} of {agency.code}, {len(pdf)} bytes")
