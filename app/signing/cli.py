"""`flask signing …`: a test PKI for the demo province, and sign, seal, verify from the command line."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale
from sqlalchemy import select

from app import clock
from app.db import transaction
from app.errors import DomainError
from app.extensions import db
from app.org.models import Agency, User
from app.org.services import agency_by_code
from app.signing import pki, services, specimens
from app.signing.models import AnchorKind

cli = AppGroup("signing", help="Digital signatures: test PKI, sign, seal, verify.")
TEST_PASSWORD = "Demo@2026"  # the PKCS#12 password of every test key (a person types it to sign)


def _fail(error: DomainError) -> None:
    with force_locale("en"):
        click.echo(f"ERROR: {error.translated()}", err=True)
    sys.exit(1)


@cli.command("test-pki")
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=None, help="Where to write the files.")
def test_pki_command(directory: Path | None) -> None:
    """Generate an offline test PKI for every agency and person in the database and import it."""
    directory = directory or Path(current_app.config["INSTANCE_DIR"]) / "test-pki"
    directory.mkdir(parents=True, exist_ok=True)
    reader = db.session()
    agencies = list(reader.scalars(select(Agency).order_by(Agency.code)))
    people = list(reader.scalars(select(User).order_by(User.username)))
    names = {agency.id: agency.name for agency in agencies}
    now = clock.now()
    generated = pki.generate_test_pki(
        directory,
        people=[pki.PersonSpec(user.username, user.full_name, names[user.agency_id]) for user in people],
        agencies=[pki.AgencySpec(agency.code, agency.name) for agency in agencies],
        password=TEST_PASSWORD,
        now=now,
    )
    secret = current_app.config["SIGNING_SECRET"]
    with transaction() as session:
        for user in people:
            services.store_pkcs12(
                session,
                agency=user.agency,
                user=user,
                data=generated.person_p12[user.username].read_bytes(),
                password=TEST_PASSWORD,
                image_png=specimens.signature_png(user.full_name),
                secret=secret,
                actor="cli",
                now=now,
            )
        for agency in agencies:
            services.store_pkcs12(
                session,
                agency=agency,
                user=None,
                data=generated.agency_p12[agency.code].read_bytes(),
                password=TEST_PASSWORD,
                image_png=specimens.seal_png(agency.name),
                secret=secret,
                actor="cli",
                now=now,
            )
        services.store_trust_anchor(session, AnchorKind.ROOT, "Test root", generated.root_pem.read_bytes(), now=now)
        services.store_trust_anchor(
            session, AnchorKind.INTERMEDIATE, "Test intermediate", generated.intermediate_pem.read_bytes(), now=now
        )
        for crl in generated.crls:
            services.store_trust_anchor(session, AnchorKind.CRL, crl.name, crl.read_bytes(), now=now)
    click.echo(f"Test PKI in {directory}: {len(people)} personal and {len(agencies)} agency keys imported.")
    click.echo(f"Key password of every test key: {TEST_PASSWORD}")


@cli.command("sign")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--user", "username", required=True)
@click.option("--password", prompt=True, hide_input=True, help="The key's password (or the token PIN).")
def sign_command(source: Path, target: Path, username: str, password: str) -> None:
    """Sign SOURCE with USER's personal key (visible signature) and write TARGET."""
    try:
        with transaction() as session:
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                raise click.UsageError(f"no user {username}")
            signed = services.sign_personal(
                session,
                user,
                source.read_bytes(),
                password,
                secret=current_app.config["SIGNING_SECRET"],
                now=clock.now(),
            )
    except DomainError as error:
        _fail(error)
    target.write_bytes(signed)
    click.echo(f"signed: {target}")


@cli.command("seal")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--agency", "agency_code", required=True)
@click.option("--number", required=True, help='The issued number, e.g. "12/QĐ-UBND".')
@click.option("--date", "issued", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Issue date (default: today).")
@click.option(
    "--appendix", is_flag=True, help="SOURCE is an appendix in its own file: number and time at the top right."
)
def seal_command(
    source: Path, target: Path, agency_code: str, number: str, issued: datetime | None, appendix: bool
) -> None:
    """Write the number and date into SOURCE and add the agency's seal signature (or seal an appendix)."""
    secret = current_app.config["SIGNING_SECRET"]
    try:
        with transaction() as session:
            agency = agency_by_code(session, agency_code)
            day = issued.date() if issued is not None else clock.local(clock.now()).date()
            if appendix:
                signed = services.seal_appendix_as_agency(
                    session, agency, source.read_bytes(), number=number, secret=secret, now=clock.now()
                )
            else:
                signed = services.seal_as_agency(
                    session, agency, source.read_bytes(), number=number, issued_on=day, secret=secret, now=clock.now()
                )
    except DomainError as error:
        _fail(error)
    target.write_bytes(signed)
    click.echo(f"sealed: {target}")


@cli.command("verify")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_command(source: Path) -> None:
    """Print each signature's facts; exit 1 when the file has no signature or any signature fails."""
    try:
        result = services.verify_document(db.session(), source.read_bytes(), now=clock.now())
    except DomainError as error:
        _fail(error)
    if not result.signatures:
        click.echo("no digital signature")
        sys.exit(1)
    for index, report in enumerate(result.signatures, start=1):
        verdict = "VALID" if report.bottom_line else "INVALID"
        when = clock.local(report.signing_time).isoformat(timespec="seconds") if report.signing_time else "-"
        click.echo(f"{index}. {verdict} {report.signer_name} ({report.organization}) signed {when}")
        click.echo(
            f"   intact={report.is_intact} trusted={report.is_trusted} revoked={report.is_revoked} "
            f"expired={report.is_expired_now} whole_document={report.covers_whole_document}"
        )
        if report.problem:
            click.echo(f"   problem: {report.problem}")
    if not result.all_valid:
        sys.exit(1)


@cli.command("token")
@click.option("--agency", "agency_code", required=True, help="The agency (mã định danh) the key belongs to.")
@click.option("--user", "username", default=None, help="A person's key; without it, the agency's seal key.")
@click.option("--module", "module_path", required=True, help="Path of the PKCS#11 library.")
@click.option("--token", "token_label", required=True)
@click.option("--key-label", required=True)
@click.option("--cert-label", required=True)
@click.option("--cert", "cert_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--pin", default="", help="The agency token's PIN (stored encrypted); a person types it to sign.")
def token_command(
    agency_code: str,
    username: str | None,
    module_path: str,
    token_label: str,
    key_label: str,
    cert_label: str,
    cert_file: Path,
    pin: str,
) -> None:
    """Use a key on a PKCS#11 token or HSM for a person or for the agency."""
    try:
        with transaction() as session:
            agency = agency_by_code(session, agency_code)
            user = session.scalar(select(User).where(User.username == username)) if username else None
            if username and (user is None or user.agency_id != agency.id):
                raise click.UsageError(f"no user {username} in {agency_code}")
            services.store_pkcs11(
                session,
                agency=agency,
                user=user,
                config={
                    "module_path": module_path,
                    "token_label": token_label,
                    "key_label": key_label,
                    "cert_label": cert_label,
                },
                certificate=cert_file.read_bytes(),
                pin=pin,
                secret=current_app.config["SIGNING_SECRET"],
                actor="cli",
                now=clock.now(),
            )
    except DomainError as error:
        _fail(error)
    click.echo(f"token key recorded for {username or agency_code}")
