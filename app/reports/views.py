"""The registers page and the yearly incoming register as a PDF download (IN-6)."""

from __future__ import annotations

import io

from flask import Blueprint, Response, render_template, request, send_file
from flask_login import current_user, login_required

from app import clock
from app.errors import N_, InvalidInput
from app.extensions import db
from app.reports import registers

bp = Blueprint("reports", __name__, url_prefix="/reports", template_folder="templates")


@bp.get("/")
@login_required
def list_registers() -> str:
    registers.ensure_may_print_registers(current_user, current_user.agency)
    this_year = clock.local(clock.now()).year
    years = sorted({this_year, *registers.register_years(db.session(), current_user.agency_id)}, reverse=True)
    return render_template("reports/registers.html", years=years)


@bp.get("/incoming-register")
@login_required
def download_incoming_register() -> Response:
    agency = current_user.agency
    registers.ensure_may_print_registers(current_user, agency)
    now = clock.now()
    year = request.args.get("year", clock.local(now).year, type=int)
    if not registers.FIRST_YEAR <= year <= registers.LAST_YEAR:
        raise InvalidInput(N_("Give the year of the register, such as %(year)s."), year=clock.local(now).year)
    pdf = registers.incoming_register_pdf(db.session(), agency, year, now=now)
    return send_file(
        io.BytesIO(pdf),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"so_dang_ky_van_ban_den_{year}.pdf",
    )
