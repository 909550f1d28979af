"""`flask accounts …`: list and unlock accounts locked by failed logins."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app import clock
from app.db import transaction
from app.org import services
from app.org.models import User

cli = AppGroup("accounts", help="Accounts locked by failed logins.")


@cli.command("locked")
def locked_command() -> None:
    """Print the accounts locked now, with the time the lock ends."""
    with transaction() as session:
        now = clock.now()
        for user in session.scalars(select(User).where(User.locked_until > now).order_by(User.username)):
            click.echo(f"{user.username}  {user.locked_until.isoformat() if user.locked_until else ''}")


@cli.command("unlock")
@click.argument("username")
def unlock_command(username: str) -> None:
    """Unlock USERNAME now and forget its failed logins (recorded in the log)."""
    with transaction() as session:
        user = session.scalar(select(User).where(User.username == username.strip().lower()))
        if user is None:
            raise click.ClickException(f"Không có tài khoản {username}.")
        services.unlock_account(session, None, user.id, now=clock.now())
    click.echo(f"Đã mở khóa {user.username}.")
