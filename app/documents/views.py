"""Registering, listing and showing incoming documents."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale, gettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as WerkzeugResponse

from app import clock
from app.db import transaction
from app.documents import queries, services
from app.documents.models import Attachment
from app.engine import forms
from app.engine import services as engine
from app.errors import InvalidInput, NotFound, translated_field_errors
from app.extensions import db

bp = Blueprint("documents", __name__, url_prefix="/documents", template_folder="templates")


def _registration_form() -> tuple[dict, list[dict], forms.OptionsFor]:
    locale = str(get_locale())
    _definition, form = engine.start_form(db.session(), current_user.agency, services.INCOMING_PROCESS)
    if form is None:
        raise NotFound(gettext("The incoming process of this agency has no registration form."))
    return form, forms.localized_fields(form, locale), forms.options_for(db.session(), current_user.agency_id, locale)


@bp.get("/incoming/new")
@login_required
def new_incoming() -> str:
    form, fields, options = _registration_form()
    values = {field["name"]: field.get("default") for field in fields}
    return render_template(
        "documents/register.html", form=form, fields=fields, options=options, values=values, errors={}
    )


@bp.post("/incoming/new")
@login_required
def register_incoming() -> str | WerkzeugResponse | tuple[str, int]:
    form, fields, options = _registration_form()
    uploads = [
        services.Upload(upload.filename or "", upload.mimetype or "", upload.read())
        for field in fields
        if field["type"] == "file"
        for upload in request.files.getlist(field["name"])
        if upload and upload.filename
    ]
    try:
        values = forms.clean_submission(form, request.form, options, str(get_locale()))
        with transaction() as db_session:
            document = services.register_incoming(
                db_session,
                current_user,
                values,
                uploads,
                now=clock.now(),
                signing_secret=current_app.config["SIGNING_SECRET"],
            )
    except InvalidInput as error:
        flash(error.translated(), "error")
        return render_template(
            "documents/register.html",
            form=form,
            fields=fields,
            options=options,
            values=request.form.to_dict(),
            errors=translated_field_errors(error),
        ), 422
    flash(gettext("Registered as incoming no. %(number)s.", number=document.arrival_number), "success")
    return redirect(url_for("documents.show_incoming", document_id=document.id))


@bp.get("/incoming")
@login_required
def list_incoming() -> str:
    rows = queries.incoming_list(db.session(), current_user.agency_id)
    return render_template("documents/incoming_list.html", rows=rows)


@bp.get("/incoming/<int:document_id>")
@login_required
def show_incoming(document_id: int) -> str:
    document = services.incoming_for(db.session(), current_user, document_id)
    tasks = engine.open_tasks_of(db.session(), document.instance_id) if document.instance_id else []
    events = engine.history_of(db.session(), document.instance_id) if document.instance_id else []
    checks = services.signature_checks(db.session(), document, now=clock.now())
    return render_template("documents/incoming.html", document=document, tasks=tasks, events=events, checks=checks)


@bp.get("/attachments/<int:attachment_id>")
@login_required
def download_attachment(attachment_id: int) -> Response:
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound(gettext("No such file."))
    services.incoming_for(db.session(), current_user, attachment.document_id)
    import io

    return send_file(
        io.BytesIO(attachment.content),
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.file_name,
    )
