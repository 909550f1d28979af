"""`flask audit verify`: check the hash chain of every instance's history."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from app.audit import services
from app.extensions import db

cli = AppGroup("audit", help="Verify the history of process instances.")


@cli.command("verify")
@click.option("--replay", "with_replay", is_flag=True, help="Also re-execute every instance and compare states.")
def verify_command(with_replay: bool) -> None:
    """Check every instance's event chain; print the first broken link of each; exit 1 if any."""
    result = services.verify_all(db.session())
    for link in result.broken:
        click.echo(f"BROKEN instance {link.instance_id} at event {link.seq}: {link.reason}")
    click.echo(f"{result.instances} instances, {result.events} events checked, {len(result.broken)} broken")
    diverged = 0
    if with_replay:
        for instance_id, outcome in services.replay_all(db.session()):
            if not outcome.is_reproduced:
                diverged += 1
                click.echo(f"DIVERGED instance {instance_id} at event {outcome.seq or '-'}: {outcome.reason}")
        click.echo(f"replay: {diverged} instances diverged")
    if result.broken or diverged:
        sys.exit(1)
