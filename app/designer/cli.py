"""`flask processes …`: deploy one BPMN file for an agency, deploy every changed file, list versions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
from flask import current_app
from flask.cli import AppGroup

from app import clock
from app.db import transaction
from app.engine import definitions
from app.engine.models import DEFAULT_SCOPE
from app.errors import DomainError, InvalidDefinition, NotFound
from app.extensions import db
from app.org.services import agency_by_code

cli = AppGroup("processes", help="Deploy and list BPMN process versions.")


def refuse(what: str, error: DomainError) -> NoReturn:
    click.echo(f"REFUSED {what}: {error}", err=True)
    for problem in getattr(error, "problems", []):
        click.echo(f"  {problem.render()}", err=True)
    sys.exit(1)


@cli.command("deploy")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--agency", "agency_code", default=DEFAULT_SCOPE, help="Agency code (mã định danh), or _default.")
def deploy_command(file: Path, agency_code: str) -> None:
    """Lint FILE and deploy it as the agency's next version of its process."""
    try:
        with transaction() as session:
            if agency_code != DEFAULT_SCOPE:
                agency_by_code(session, agency_code)
            definition, is_new = definitions.deploy(
                session,
                file.name,
                file.read_bytes(),
                scope=agency_code,
                forms_dir=current_app.config["FORMS_DIR"],
                actor="cli",
                now=clock.now(),
            )
    except (InvalidDefinition, NotFound) as error:
        refuse(file.name, error)
    state = "deployed" if is_new else "unchanged"
    click.echo(f"{state}: {definition.scope}/{definition.process_key} v{definition.version}")


@cli.command("sync")
def sync_command() -> None:
    """Deploy every file of processes/ whose diagram or forms changed."""
    try:
        with transaction() as session:
            deployed = definitions.sync(
                session,
                processes_dir=current_app.config["PROCESSES_DIR"],
                forms_dir=current_app.config["FORMS_DIR"],
                actor="cli",
                now=clock.now(),
            )
    except InvalidDefinition as error:
        refuse(error.params.get("file", "processes/"), error)
    for definition in deployed:
        click.echo(f"deployed: {definition.scope}/{definition.process_key} v{definition.version}")
    click.echo(f"{len(deployed)} new versions")


@cli.command("list")
def list_command() -> None:
    """Every deployed version, newest first within each agency and process."""
    for definition in definitions.versions(db.session()):
        click.echo(
            f"{definition.scope}\t{definition.process_key}\tv{definition.version}\t"
            f"{definition.deployed_at:%Y-%m-%d %H:%M}\t{definition.content_hash[:12]}"
        )
