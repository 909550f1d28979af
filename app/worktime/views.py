"""The working calendar for the province's administrator: holidays, make-up working days, extra days off."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app import clock
from app.db import transaction
from app.errors import N_, InvalidInput, PermissionDenied
from app.extensions import db
from app.worktime import services
from app.worktime.calendar import statutory_name

bp = Blueprint("worktime", __name__, url_prefix="/worktime", template_folder="templates")


YEARS = (1900, 2999)  # the calendar's holidays are computed for these years only
ADMIN = "admin"  # org's Role.ADMIN; worktime sits beside org and does not import it


def _may_edit() -> bool:
    # One calendar serves every agency of the installation: only the top agency's administrator edits it.
    return ADMIN in current_user.roles and current_user.agency.parent_id is None


def _require_calendar_admin() -> None:
    if not _may_edit():
        raise PermissionDenied(N_("Only the administrator of the provincial office edits the working calendar."))


@bp.get("/")
@login_required
def show_calendar() -> str:
    this_year = clock.local(clock.now()).year
    year = request.args.get("year", type=int) or this_year
    if not YEARS[0] <= year <= YEARS[1]:
        raise InvalidInput(N_("Give a year between %(first)s and %(last)s."), first=YEARS[0], last=YEARS[1])
    calendar = services.load_calendar(db.session())
    overrides = {row.day: row for row in services.list_days(db.session(), year)}
    days = [
        (
            day,
            calendar.is_working_day(day),
            overrides[day].note if day in overrides else statutory_name(day),
            day in overrides,
        )
        for day in calendar.special_days(year)
    ]
    can_edit = _may_edit()
    return render_template("worktime/calendar.html", year=year, days=days, can_edit=can_edit)


@bp.post("/")
@login_required
def set_day() -> Response:
    _require_calendar_admin()
    try:
        day = date.fromisoformat(request.form.get("day", ""))
    except ValueError:
        flash(gettext("Enter a date."), "error")
        return redirect(url_for("worktime.show_calendar"))
    with transaction() as session:
        services.set_day(session, day, request.form.get("kind") == "working", request.form.get("note", "")[:200])
    flash(gettext("Saved: deadlines from now on count %(day)s accordingly.", day=day.strftime("%d/%m/%Y")), "success")
    return redirect(url_for("worktime.show_calendar", year=day.year))


@bp.post("/<day>/clear")
@login_required
def clear_day(day: str) -> Response:
    _require_calendar_admin()
    parsed = date.fromisoformat(day)
    with transaction() as session:
        services.clear_day(session, parsed)
    return redirect(url_for("worktime.show_calendar", year=parsed.year))
