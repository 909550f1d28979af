"""Drafting an outgoing document, its page (versions, recipients' statuses, route) and its recall."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app import clock
from app.db import transaction
from app.documents import outgoing, services
from app.documents.models import FileRole, IncomingDocument, OutgoingDocument
from app.documents.views import start_form, uploads_of
from app.downloads import send_stored
from app.engine import forms
from app.engine import services as engine
from app.errors import InvalidInput, translated_field_errors
from app.extensions import db
from app.input_guard import parse_id

bp = Blueprint("outgoing", __name__, url_prefix="/outgoing", template_folder="templates")


def _draft_form() -> tuple[dict, list[dict], forms.OptionsFor]:
    return start_form(outgoing.OUTGOING_PROCESS)


def _reply_to() -> IncomingDocument | None:
    document_id = parse_id(request.values.get("reply_to"))
    if document_id is None:
        return None
    return services.incoming_for(db.session(), current_user, document_id)


@bp.get("/")
@login_required
def list_outgoing() -> str:
    return render_template("documents/outgoing_list.html", documents=outgoing.outgoing_list(db.session(), current_user))


@bp.get("/new")
@login_required
def new_outgoing() -> str:
    form, fields, options = _draft_form()
    values = {field["name"]: field.get("default") for field in fields}
    reply_to = _reply_to()
    if reply_to is not None:  # IN-11: the reply starts from the incoming document
        values["subject"] = f"V/v trả lời văn bản số {reply_to.number_symbol} ngày {reply_to.issued_date:%d/%m/%Y}"
        values["recipients"] = [reply_to.organ_code] if reply_to.organ_code else []
        values["type_name"] = "Công văn"
    return render_template(
        "documents/outgoing_new.html",
        form=form,
        fields=fields,
        options=options,
        values=values,
        errors={},
        reply_to=reply_to,
    )


@bp.post("/new")
@login_required
def create_outgoing() -> Response | tuple[str, int]:
    form, fields, options = _draft_form()
    reply_to = _reply_to()
    try:
        values = forms.clean_submission(form, request.form, options, str(get_locale()))
        with transaction() as session:
            document = outgoing.start_outgoing(
                session,
                current_user,
                values,
                uploads_of(request),
                now=clock.now(),
                reply_to=reply_to.id if reply_to else None,
            )
    except InvalidInput as error:
        flash(error.translated(), "error")
        raw = {
            f["name"]: request.form.getlist(f["name"]) if f.get("multiple") else request.form.get(f["name"])
            for f in fields
        }
        return render_template(
            "documents/outgoing_new.html",
            form=form,
            fields=fields,
            options=options,
            values=raw,
            errors=translated_field_errors(error),
            reply_to=reply_to,
        ), 422
    flash(gettext("The draft is on its way: it is now with its next handler."), "success")
    return redirect(url_for("outgoing.show_outgoing", document_id=document.id))


def _render(
    document: OutgoingDocument, *, reason: str = "", errors: dict | None = None, status: int = 200
) -> tuple[str, int]:
    session = db.session()
    return render_template(
        "documents/outgoing.html",
        document=document,
        versions=list(reversed(document.versions)),
        published=[v for v in document.versions if v.role == FileRole.PUBLISHED],
        deliveries=outgoing.deliveries_of(session, document),
        tasks=engine.open_tasks_of(session, document.instance_id) if document.instance_id else [],
        events=engine.history_of(session, document.instance_id) if document.instance_id else [],
        now=clock.now(),
        reason=reason,
        errors=errors or {},
        roles=FileRole,
    ), status


@bp.get("/<int:document_id>")
@login_required
def show_outgoing(document_id: int) -> tuple[str, int]:
    return _render(outgoing.outgoing_for(db.session(), current_user, document_id))


@bp.get("/versions/<int:version_id>")
@login_required
def download_version(version_id: int) -> Response:
    version = outgoing.version_for(db.session(), current_user, version_id)
    return send_stored(version.content, version.file_name, inline_pdf=True)


@bp.post("/<int:document_id>/recall")
@login_required
def recall(document_id: int) -> Response | tuple[str, int]:
    reason = request.form.get("reason", "")
    try:
        with transaction() as session:
            document = outgoing.outgoing_for(session, current_user, document_id)
            outgoing.recall(session, current_user, document, reason, now=clock.now())
    except InvalidInput as error:
        flash(error.translated(), "error")
        document = outgoing.outgoing_for(db.session(), current_user, document_id)
        return _render(document, reason=reason, errors=translated_field_errors(error), status=422)
    flash(gettext("The recall was sent to every recipient."), "success")
    return redirect(url_for("outgoing.show_outgoing", document_id=document_id))
