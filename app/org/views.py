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
from app.org import login_sessions, services
from app.org.models import User
from app.org.services import LoginFailed
from app.ratelimits import login_failures_per_account, login_failures_per_address

bp = Blueprint("org", __name__, url_prefix="/org", template_folder="templates")


@bp.route("/login", methods=["GET", "POST"])
@login_failures_per_account
@login_failures_per_address
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
                failure_window_minutes=current_app.config["LOGIN_FAILURE_WINDOW_MINUTES"],
            )
        except LoginFailed as error:
            failure = error  # caught inside the transaction so the failure count is committed
        else:
            previous = str(session.get(login_sessions.COOKIE_KEY, ""))
            if previous:  # a second login in the same browser ends the first
                login_sessions.end(db_session, previous, now=clock.now(), reason=login_sessions.EndReason.LOGOUT)
            token = login_sessions.start(
                db_session,
                user,
                now=clock.now(),
                ip=request.remote_addr or "",
                user_agent=request.headers.get("User-Agent", ""),
            )
    if failure is not None:
        flash(failure.translated(), "error")
        return render_template("org/login.html", username=username), 401
    session.clear()
    login_user(user)
    session[login_sessions.COOKIE_KEY] = token
    target = request.args.get("next", "")
    if not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        target = url_for("index")
    return redirect(target)


@bp.get("/logout")
def confirm_logout() -> str | Response:
    """Logging out changes state, so it is a POST with its CSRF token; an old link only shows the button."""
    if not current_user.is_authenticated:
        return redirect(url_for("org.login"))
    return render_template("org/logout.html")


@bp.post("/logout")
def logout() -> Response:
    token = str(session.get(login_sessions.COOKIE_KEY, ""))
    if token:
        with transaction() as db_session:
            login_sessions.end(db_session, token, now=clock.now(), reason=login_sessions.EndReason.LOGOUT)
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
                db_session,
                current_user,
                request.form.get("current", ""),
                request.form.get("new", ""),
                now=clock.now(),
                keep_session=str(session.get(login_sessions.COOKIE_KEY, "")),
                min_length=current_app.config["PASSWORD_MIN_LENGTH"],
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


@bp.get("/locked-accounts")
@login_required
def list_locked_accounts() -> str:
    accounts = services.locked_accounts(db.session(), current_user, now=clock.now())
    return render_template("org/locked_accounts.html", accounts=accounts)


@bp.post("/locked-accounts/<int:user_id>/unlock")
@login_required
def unlock_account(user_id: int) -> Response:
    with transaction() as session:
        user = services.unlock_account(session, current_user, user_id, now=clock.now())
    flash(gettext("The account %(username)s is unlocked.", username=user.username), "success")
    return redirect(url_for("org.list_locked_accounts"))
