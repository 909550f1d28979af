"""`flask audit verify | checkpoint | rekey`: check histories against the key and the signed checkpoints."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app import clock
from app.audit import services
from app.audit.models import Checkpoint
from app.db import transaction
from app.errors import DomainError
from app.extensions import db

cli = AppGroup("audit", help="Verify the history of process instances.")


def describe(checkpoint: Checkpoint) -> str:
    at = checkpoint.at.isoformat(timespec="seconds")
    return (
        f"checkpoint #{checkpoint.id} at {at}: {checkpoint.instance_count} instances, "
        f"{checkpoint.event_count} events, mac {checkpoint.mac[:16]}"
    )


@cli.command("verify")
@click.option("--replay", "with_replay", is_flag=True, help="Also re-execute every instance and compare states.")
@click.option(
    "--anchor",
    default="",
    help="The mac (or its first 16 characters) of a checkpoint recorded outside the database: it must still be there.",
)
def verify_command(with_replay: bool, anchor: str) -> None:
    """Check every chain, the checkpoints and the heads they signed; print each finding; exit 1 if any."""
    result = services.verify_all(db.session(), now=clock.now())
    for link in result.broken:
        click.echo(f"BROKEN instance {link.instance_id} at event {link.seq}: {link.reason}")
    for problem in result.checkpoint_problems:
        click.echo(f"BROKEN {problem}")
    if result.unkeyed_events:
        click.echo(
            f"UNKEYED {result.unkeyed_events} events are hashed with plain SHA-256, which anyone able to write the "
            "database can recompute: run `flask audit rekey`"
        )
    for weakness in result.weaknesses:
        click.echo(f"WARNING {weakness}")
    click.echo(describe(result.checkpoint) if result.checkpoint else "no checkpoint yet")
    anchor_missing = False
    if anchor:
        macs = db.session().scalars(select(Checkpoint.mac))
        anchor_missing = len(anchor) < 16 or not any(mac.startswith(anchor.lower()) for mac in macs)
        if anchor_missing:
            click.echo(f"BROKEN the anchored checkpoint {anchor[:16]} is gone: checkpoints were deleted")
    click.echo(f"{result.instances} instances, {result.events} events checked, {len(result.broken)} broken")
    diverged = 0
    if with_replay:
        for instance_id, outcome in services.replay_all(db.session()):
            if not outcome.is_reproduced:
                diverged += 1
                click.echo(f"DIVERGED instance {instance_id} at event {outcome.seq or '-'}: {outcome.reason}")
        click.echo(f"replay: {diverged} instances diverged")
    if not result.is_clean or diverged or anchor_missing:
        sys.exit(1)


@cli.command("checkpoint")
def checkpoint_command() -> None:
    """Verify every chain, then sign a checkpoint of all heads and the instance count."""
    try:
        with transaction():
            checkpoint = services.write_checkpoint(db.session(), now=clock.now())
            line = describe(checkpoint)
    except DomainError as error:
        click.echo(f"ERROR: {error}", err=True)
        sys.exit(1)
    click.echo(f"wrote {line}")


@cli.command("rekey")
def rekey_command() -> None:
    """Re-hash histories written before keying with AUDIT_SECRET (after verifying them), then sign a checkpoint."""
    try:
        with transaction():
            count = services.rekey_all(db.session(), now=clock.now())
            line = describe(services.checkpoints.latest(db.session()))  # type: ignore[arg-type]
    except DomainError as error:
        click.echo(f"ERROR: {error}", err=True)
        sys.exit(1)
    click.echo(f"rekeyed {count} instances; wrote {line}")
