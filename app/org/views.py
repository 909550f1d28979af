"""Login, logout, password change at first login, language choice."""

from __future__ import annotations

from datetime import date, datetime, time
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from app import clock
from app.db import transaction
from app.errors import N_, InvalidInput, translated_field_errors
from app.extensions import db
from app.org import services
from app.org.models import User
from app.org.services import LoginFailed

bp = Blueprint("org", __name__, url_prefix="/org", template_folder="templates")


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    if request.method == "GET":
        return render_template("org/login.html")
    username = request.form.get("username", "")
    failure: LoginFailed | None = None
    with transaction() as db_session:
        try:
            user = services.authenticate(
                db_session,
                username,
                request.form.get("password", ""),
                now=clock.now(),
                max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                lock_minutes=current_app.config["LOGIN_LOCK_MINUTES"],
            )
        except LoginFailed as error:
            failure = error  # caught inside the transaction so the failure count is committed
    if failure is not None:
        flash(failure.translated(), "error")
        return render_template("org/login.html", username=username), 401
    session.clear()
    login_user(user)
    session["last_seen"] = clock.now().isoformat()
    target = request.args.get("next", "")
    if not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        target = url_for("index")
    return redirect(target)


@bp.get("/logout")
def logout() -> Response:
    logout_user()
    session.clear()
    return redirect(url_for("org.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password() -> str | Response | tuple[str, int]:
    if request.method == "GET":
        return render_template("org/password.html", errors={})
    try:
        with transaction() as db_session:
            services.change_password(
                db_session, current_user, request.form.get("current", ""), request.form.get("new", ""), now=clock.now()
            )
    except InvalidInput as error:
        errors = translated_field_errors(error)
        flash(error.translated(), "error")
        return render_template("org/password.html", errors=errors), 422
    flash(gettext("Your password was changed."), "success")
    return redirect(url_for("index"))


@bp.post("/language")
def set_language() -> Response:
    locale = request.form.get("locale", "vi")
    if locale in current_app.config["LANGUAGES"]:
        session["locale"] = locale
        if current_user.is_authenticated:
            with transaction():
                current_user.locale = locale
    referrer = request.referrer or ""
    return redirect(referrer if urlsplit(referrer).netloc in ("", request.host) and referrer else url_for("index"))


@bp.get("/delegations")
@login_required
def list_delegations() -> str:
    session = db.session()
    colleagues = session.scalars(
        select(User)
        .where(User.agency_id == current_user.agency_id, User.id != current_user.id)
        .order_by(User.full_name)
    )
    return render_template(
        "org/delegations.html", delegations=services.delegations_of(session, current_user), colleagues=list(colleagues)
    )


@bp.post("/delegations")
@login_required
def create_delegation() -> Response:
    services.check_delegator(current_user)
    try:
        starts = datetime.combine(date.fromisoformat(request.form.get("starts_on", "")), time(0), clock.VN)
        ends = datetime.combine(date.fromisoformat(request.form.get("ends_on", "")), time(23, 59), clock.VN)
    except ValueError:
        raise InvalidInput(N_("Enter the dates of the period.")) from None
    with transaction() as session:
        chosen = session.scalar(
            select(User).where(
                User.username == request.form.get("delegate", ""), User.agency_id == current_user.agency_id
            )
        )
        if chosen is None:
            raise InvalidInput(N_("Choose another person of your agency."))
        services.delegate(session, current_user, chosen, starts_at=starts, ends_at=ends, now=clock.now())
    flash(gettext("Delegated until %(day)s.", day=ends.strftime("%d/%m/%Y")), "success")
    return redirect(url_for("org.list_delegations"))


@bp.post("/delegations/<int:delegation_id>/revoke")
@login_required
def revoke_delegation(delegation_id: int) -> Response:
    with transaction() as session:
        services.revoke_delegation(session, current_user, delegation_id, now=clock.now())
    return redirect(url_for("org.list_delegations"))
