"""`flask audit verify`: check the hash chain of every instance's history."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from app.audit import services
from app.extensions import db

cli = AppGroup("audit", help="Verify the history of process instances.")


@cli.command("verify")
def verify_command() -> None:
    """Check every instance's event chain; print the first broken link of each; exit 1 if any."""
    result = services.verify_all(db.session())
    for link in result.broken:
        click.echo(f"BROKEN instance {link.instance_id} at event {link.seq}: {link.reason}")
    click.echo(f"{result.instances} instances, {result.events} events checked, {len(result.broken)} broken")
    if result.broken:
        sys.exit(1)
