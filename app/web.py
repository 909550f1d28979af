"""Web plumbing shared by every blueprint: login loading, idle lock, first-login redirect, template helpers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Flask, flash, g, redirect, request, session, url_for
from flask_babel import format_datetime, get_locale, gettext, lazy_gettext
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from app import clock
from app.errors import register_error_handlers
from app.extensions import db, login_manager
from app.org import login_sessions

URGENCY_LABELS = {
    0: lazy_gettext("Normal"),
    1: lazy_gettext("Urgent"),
    2: lazy_gettext("Very urgent"),
    3: lazy_gettext("Flash"),
    4: lazy_gettext("Flash, timed"),
}
EVENT_LABELS = {
    "started": lazy_gettext("Registered, process started"),
    "task_opened": lazy_gettext("Task opened"),
    "task_completed": lazy_gettext("Task completed"),
    "task_closed": lazy_gettext("Task closed"),
    "timer_fired": lazy_gettext("Timer fired"),
    "event_thrown": lazy_gettext("Event raised"),
    "incident": lazy_gettext("Step failed"),
    "retried": lazy_gettext("Step retried"),
    "migrated": lazy_gettext("Moved to a new version"),
    "completed": lazy_gettext("Completed"),
    "cancelled": lazy_gettext("Cancelled"),
}
STATUS_LABELS = {
    "running": lazy_gettext("In progress"),
    "completed": lazy_gettext("Done"),
    "incident": lazy_gettext("Incident"),
    "cancelled": lazy_gettext("Cancelled"),
}
EXCHANGE_LABELS = {  # QCVN 102 status codes as the sender reads them (OUT-13)
    "00": lazy_gettext("Sent"),
    "01": lazy_gettext("Received"),
    "02": lazy_gettext("Returned"),
    "03": lazy_gettext("Accepted"),
    "04": lazy_gettext("Assigned"),
    "05": lazy_gettext("In progress"),
    "06": lazy_gettext("Done"),
    "13": lazy_gettext("Recall requested"),
    "15": lazy_gettext("Recall confirmed"),
    "16": lazy_gettext("Recall refused"),
}
OUTGOING_STATES = {
    "drafting": lazy_gettext("Drafting"),
    "signed": lazy_gettext("Signed, to publish"),
    "published": lazy_gettext("Published"),
    "recalled": lazy_gettext("Recalled"),
    "cancelled": lazy_gettext("Cancelled"),
}
FILE_ROLES = {
    "draft": lazy_gettext("Draft"),
    "submission": lazy_gettext("Submission sheet"),
    "appendix": lazy_gettext("Appendix"),
    "signed": lazy_gettext("Signed"),
    "published": lazy_gettext("Published"),
}
OPEN_ENDPOINTS = {"static", "org.login", "org.logout", "org.confirm_logout", "org.change_password", "org.set_language"}


def init_app(app: Flask) -> None:
    from app.org.models import User

    login_manager.login_view = "org.login"
    login_manager.login_message = lazy_gettext("Please log in.")
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def _load_user(user_id: str) -> User | None:
        token = str(session.get(login_sessions.COOKIE_KEY, ""))
        return login_sessions.load_user(db.session(), int(user_id), token)

    @app.before_request
    def _login_session_and_first_login() -> Response | None:
        """The cookie is a login only while its server-side session is open and not idle (ACC-5, hole 4)."""
        if not current_user.is_authenticated:
            return None
        minutes = app.config["SESSION_IDLE_MINUTES"]
        result = login_sessions.check(
            db.session(),
            current_user.id,
            str(session.get(login_sessions.COOKIE_KEY, "")),
            now=clock.now(),
            idle=timedelta(minutes=minutes),
        )
        if result in (login_sessions.Check.TOUCHED, login_sessions.Check.IDLE):
            db.session.commit()
        if result in (login_sessions.Check.IDLE, login_sessions.Check.ENDED):
            logout_user()
            session.clear()
            if result is login_sessions.Check.IDLE:
                message = gettext(
                    "Your session was locked after %(minutes)s idle minutes. Please log in again.", minutes=minutes
                )
            else:
                message = gettext("Your session has ended. Please log in again.")
            flash(message, "warning")
            return redirect(url_for("org.login", next=request.full_path if request.method == "GET" else None))
        if current_user.must_change_password and request.endpoint not in OPEN_ENDPOINTS:
            return redirect(url_for("org.change_password"))
        return None

    @app.get("/")
    def index() -> Response:
        return redirect(url_for("inbox.show_inbox"))

    app.jinja_env.globals["get_locale"] = get_locale

    @app.template_filter("local_time")
    def _local_time(value: datetime | None, pattern: str = "dd/MM/yyyy HH:mm") -> str:
        return format_datetime(value, pattern) if value else ""

    @app.template_filter("iso_time")
    def _iso_time(value: datetime | None) -> str:
        """ISO 8601 in Vietnam time, as exchange times are written (OUT-16)."""
        return clock.local(value).isoformat(timespec="seconds") if value else ""

    @app.context_processor
    def _template_helpers() -> dict[str, Any]:
        from app.documents.exchange import pending_count
        from app.inbox.services import unread_count
        from app.org.models import Role

        counted = current_user.is_authenticated and not g.get("database_unavailable")  # not on the 503 page
        unread = unread_count(db.session(), current_user) if counted else 0
        waiting = (
            pending_count(db.session(), current_user.agency_id) if counted and current_user.has_role(Role.CLERK) else 0
        )
        return {
            "unread_notifications": unread,
            "received_waiting": waiting,
            "exchange_labels": EXCHANGE_LABELS,
            "outgoing_states": OUTGOING_STATES,
            "file_roles": FILE_ROLES,
            "urgency_labels": URGENCY_LABELS,
            "event_labels": EVENT_LABELS,
            "status_labels": STATUS_LABELS,
            "now": clock.now(),
        }

    @app.after_request
    def _security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:"
        )
        return response

    register_error_handlers(app)
