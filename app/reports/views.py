"""The registers page and the yearly incoming (IN-6) and outgoing (OUT-15) registers as PDF downloads."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, render_template, request
from flask_login import current_user, login_required

from app import clock
from app.documents.services import safe_file_name
from app.downloads import send_stored
from app.errors import N_, InvalidInput
from app.extensions import db
from app.org.models import Agency
from app.reports import registers

bp = Blueprint("reports", __name__, url_prefix="/reports", template_folder="templates")


@bp.get("/")
@login_required
def list_registers() -> str:
    registers.ensure_may_print_registers(current_user, current_user.agency)
    session, this_year = db.session(), clock.local(clock.now()).year

    def years(kind: str) -> list[int]:
        return sorted({this_year, *registers.register_years(session, current_user.agency_id, kind)}, reverse=True)

    books = registers.outgoing_books(session, current_user.agency_id)
    return render_template(
        "reports/registers.html",
        incoming_years=years(registers.INCOMING),
        outgoing_years=years(registers.OUTGOING),
        books=[(registers.book_name(kind), kind, book_years) for kind, book_years in books.items()],
    )


@bp.get("/incoming-register")
@login_required
def download_incoming_register() -> Response:
    agency, year, now = _register_request()
    pdf = registers.incoming_register_pdf(db.session(), agency, year, now=now)
    return _download(pdf, f"so_dang_ky_van_ban_den_{year}.pdf")


@bp.get("/outgoing-register")
@login_required
def download_outgoing_register() -> Response:
    agency, year, now = _register_request()
    kind = request.args.get("kind", registers.OUTGOING)
    pdf = registers.outgoing_register_pdf(db.session(), agency, year, kind=kind, now=now)
    book = registers.book_name(kind)
    return _download(pdf, safe_file_name(f"so_dang_ky_van_ban_di_{book + '_' if book else ''}{year}.pdf"))


def _register_request() -> tuple[Agency, int, datetime]:
    """The user's agency once they may print its registers, the year asked for (this year by default), now."""
    agency = current_user.agency
    registers.ensure_may_print_registers(current_user, agency)
    now = clock.now()
    year = request.args.get("year", clock.local(now).year, type=int)
    if not registers.FIRST_YEAR <= year <= registers.LAST_YEAR:
        raise InvalidInput(N_("Give the year of the register, such as %(year)s."), year=clock.local(now).year)
    return agency, year, now


def _download(pdf: bytes, file_name: str) -> Response:
    return send_stored(pdf, file_name)
