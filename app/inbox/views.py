"""The inbox page, the task page with its form, claiming and releasing."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app import clock
from app.db import transaction
from app.documents.models import IncomingDocument
from app.documents.queries import document_of_instance
from app.engine import forms
from app.engine import services as engine
from app.engine.models import ProcessInstance
from app.errors import N_, InvalidInput, PermissionDenied, translated_field_errors
from app.extensions import db
from app.inbox import queries, services

bp = Blueprint("inbox", __name__, url_prefix="/inbox", template_folder="templates")


@bp.get("/")
@login_required
def show_inbox() -> str:
    rows = queries.inbox(db.session(), current_user)
    return render_template("inbox/inbox.html", rows=rows)


def _render_task(task_uuid: str, values: dict, errors: dict, status: int = 200) -> tuple[str, int]:
    locale = str(get_locale())
    task, form = services.task_form(db.session(), current_user, task_uuid)
    document = _subject(task.instance_id)
    instance = db.session.get(ProcessInstance, task.instance_id)
    steps = services.route_so_far(db.session(), task.instance_id, instance.definition_id, locale) if instance else []
    return render_template(
        "inbox/task.html",
        task=task,
        form=form,
        title=forms.text(form.get("title"), locale) or task.name,
        fields=forms.localized_fields(form, locale),
        options=forms.options_for(db.session(), current_user.agency_id, locale),
        values=values,
        errors=errors,
        document=document,
        steps=steps,
    ), status


def _subject(instance_id: int) -> IncomingDocument | None:
    return document_of_instance(db.session(), instance_id)


@bp.get("/watch")
@login_required
def show_watch() -> str:
    """Late and soon-due work of the leader's scope, to chase (IN-12)."""
    if not current_user.has_role(*services.WATCHER_ROLES):
        raise PermissionDenied(N_("This list is for leaders."))
    now = clock.now()
    rows = queries.late_or_due_soon(db.session(), current_user, now=now, horizon=now + timedelta(days=2))
    return render_template("inbox/watch.html", rows=rows)


@bp.post("/tasks/<task_uuid>/remind")
@login_required
def remind(task_uuid: str) -> Response:
    with transaction() as session:
        sent = services.remind(session, current_user, task_uuid, now=clock.now())
    flash(gettext("Reminder sent to %(count)s people.", count=len(sent)), "success")
    return redirect(url_for("inbox.show_watch"))


@bp.post("/tasks/<task_uuid>/follow-up")
@login_required
def set_follow_up(task_uuid: str) -> Response:
    raw = request.form.get("follow_up", "")
    try:
        when = datetime.combine(date.fromisoformat(raw), time(8), clock.VN) if raw else None
    except ValueError:
        raise InvalidInput(N_("Enter a date.")) from None
    with transaction() as session:
        services.set_follow_up(session, current_user, task_uuid, when)
    flash(gettext("Follow-up date saved."), "success")
    return redirect(url_for("inbox.show_task", task_uuid=task_uuid))


@bp.get("/notifications")
@login_required
def show_notifications() -> str:
    notices = services.notifications_of(db.session(), current_user)
    unread = {notice.id for notice in notices if notice.read_at is None}  # before they are marked read
    with transaction() as session:
        services.mark_read(session, current_user, now=clock.now())
    return render_template("inbox/notifications.html", notices=notices, unread=unread)


@bp.get("/tasks/<task_uuid>")
@login_required
def show_task(task_uuid: str) -> tuple[str, int]:
    return _render_task(task_uuid, {}, {})


@bp.post("/tasks/<task_uuid>")
@login_required
def submit_task(task_uuid: str) -> Response | tuple[str, int]:
    try:
        with transaction() as db_session:
            services.submit_task(
                db_session, current_user, task_uuid, request.form, locale=str(get_locale()), now=clock.now()
            )
    except InvalidInput as error:
        flash(error.translated(), "error")
        return _render_task(task_uuid, request.form.to_dict(), translated_field_errors(error), 422)
    flash(gettext("Done. The document moved to its next step."), "success")
    return redirect(url_for("inbox.show_inbox"))


@bp.post("/tasks/<task_uuid>/claim")
@login_required
def claim_task(task_uuid: str) -> Response:
    with transaction() as db_session:
        engine.claim_task(db_session, current_user, task_uuid)
    flash(gettext("The task is now yours."), "success")
    return redirect(url_for("inbox.show_task", task_uuid=task_uuid))


@bp.post("/tasks/<task_uuid>/release")
@login_required
def release_task(task_uuid: str) -> Response:
    with transaction() as db_session:
        engine.release_task(db_session, current_user, task_uuid)
    flash(gettext("The task is back in the shared list."), "success")
    return redirect(url_for("inbox.show_inbox"))
