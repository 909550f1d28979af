"""`flask worktime …`: show a year's days off and make-up days, enter overrides."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from app.db import transaction
from app.extensions import db
from app.worktime import services
from app.worktime.calendar import statutory_name

cli = AppGroup("worktime", help="Working days, public holidays and make-up days.")

_date = click.DateTime(formats=["%Y-%m-%d"])


@cli.command("holidays")
@click.argument("year", type=int)
def holidays_command(year: int) -> None:
    """Print the weekdays off and the weekend working days of YEAR."""
    session = db.session()
    calendar = services.load_calendar(session)
    notes = {row.day: row.note for row in services.list_days(session, year)}
    for day in calendar.special_days(year):
        fallback = "Ngày làm việc" if calendar.is_working_day(day) else "Ngày nghỉ"
        click.echo(f"{day.isoformat()}  {notes.get(day) or statutory_name(day) or fallback}")


@cli.command("set-day")
@click.argument("day", type=_date, metavar="YYYY-MM-DD")
@click.option("--working/--off", "is_working_day", required=True, help="Working day or day off.")
@click.option("--note", default="", help="Why, e.g. the decision that moved the day.")
def set_day_command(day: datetime, is_working_day: bool, note: str) -> None:
    """Override the public-holiday calendar on the given day."""
    with transaction() as session:
        services.set_day(session, day.date(), is_working_day, note)
    click.echo(f"{day.date().isoformat()}  {'working' if is_working_day else 'off'}")


@cli.command("clear-day")
@click.argument("day", type=_date, metavar="YYYY-MM-DD")
def clear_day_command(day: datetime) -> None:
    """Remove the override on the given day."""
    with transaction() as session:
        services.clear_day(session, day.date())
    click.echo(f"{day.date().isoformat()}  cleared")
