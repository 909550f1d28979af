"""Documents from other agencies waiting for the clerk (check signatures, accept or return) and the sender's
table of where each sent document stands."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app import clock
from app.db import transaction
from app.documents import exchange
from app.documents.models import ExchangeStatus, ReceivedDocument, ReceivedFile
from app.documents.views import form_uploads, registration_form
from app.downloads import send_stored
from app.engine import forms
from app.errors import InvalidInput, NotFound, translated_field_errors
from app.extensions import db
from app.signing import services as signing

bp = Blueprint("exchange", __name__, url_prefix="/exchange", template_folder="templates")


@bp.get("/received")
@login_required
def list_received() -> str:
    session = db.session()
    return render_template(
        "documents/received_list.html",
        waiting=exchange.pending(session, current_user),
        recalls=exchange.recall_requests(session, current_user),
        decided=exchange.recent_decisions(session, current_user),
    )


def _checks(received: ReceivedDocument) -> tuple[dict[int, object], list[str]]:
    """The signature panel of each PDF file, checked now against the trust anchors (IN-1), and what is wrong
    with them in words the sender will read if the clerk returns the document (IN-2)."""
    checks: dict[int, object] = {}
    problems: list[str] = []
    for item in received.files:
        if not item.file_name.lower().endswith(".pdf"):
            continue
        try:
            result = signing.verify_document(db.session(), item.content, now=clock.now())
        except InvalidInput as error:
            checks[item.id] = error
            problems.append(f"{item.file_name}: {error.translated()}")
            continue
        checks[item.id] = result
        if not result.signatures:
            unsigned = gettext("no digital signature")
            problems.append(f"{item.file_name}: {unsigned}")
        for signature in result.signatures:
            if not signature.bottom_line:
                why = gettext(signature.problem) if signature.problem else gettext("invalid signature")
                problems.append(f"{item.file_name}: {signature.signer_name} – {why}")
    return checks, problems


def _render_received(
    received: ReceivedDocument, *, reason: str = "", errors: dict | None = None, status: int = 200
) -> tuple[str, int]:
    checks, problems = _checks(received)
    return render_template(
        "documents/received.html",
        received=received,
        header=exchange.header_of(received),
        checks=checks,
        problems=problems,
        reason=reason,
        errors=errors or {},
    ), status


@bp.get("/received/<int:received_id>")
@login_required
def show_received(received_id: int) -> tuple[str, int]:
    return _render_received(exchange.received_for(db.session(), current_user, received_id))


@bp.get("/received/<int:received_id>/files/<int:file_id>")
@login_required
def download_received_file(received_id: int, file_id: int) -> Response:
    received = exchange.received_for(db.session(), current_user, received_id)
    item = db.session.get(ReceivedFile, file_id)
    if item is None or item.received_id != received.id:
        raise NotFound(gettext("No such file."))
    return send_stored(item.content, item.file_name, inline_pdf=True)


@bp.post("/received/<int:received_id>/return")
@login_required
def return_received(received_id: int) -> Response | tuple[str, int]:
    reason = request.form.get("reason", "")
    try:
        with transaction() as session:
            received = exchange.received_for(session, current_user, received_id)
            exchange.return_to_sender(session, current_user, received, reason, now=clock.now())
    except InvalidInput as error:
        flash(error.translated(), "error")
        received = exchange.received_for(db.session(), current_user, received_id)
        return _render_received(received, reason=reason, errors=translated_field_errors(error), status=422)
    flash(gettext("Returned to %(sender)s with your reason.", sender=received.sender_name), "success")
    return redirect(url_for("exchange.list_received"))


def _render_accept(received: ReceivedDocument, values: dict, errors: dict, status: int = 200) -> tuple[str, int]:
    form, fields, options = registration_form()
    return render_template(
        "documents/accept.html",
        received=received,
        form=form,
        fields=fields,
        options=options,
        values=values,
        errors=errors,
    ), status


@bp.get("/received/<int:received_id>/accept")
@login_required
def accept_form(received_id: int) -> tuple[str, int]:
    received = exchange.received_for(db.session(), current_user, received_id)
    _form, fields, _options = registration_form()
    values = {f["name"]: f.get("default") for f in fields} | exchange.header_of(received).registration_values()
    return _render_accept(received, values, {})


@bp.post("/received/<int:received_id>/accept")
@login_required
def accept(received_id: int) -> Response | tuple[str, int]:
    exchange.check_decider(exchange.received_for(db.session(), current_user, received_id), current_user)
    form, fields, options = registration_form()
    more = form_uploads(fields)
    try:
        values = forms.clean_submission(form, request.form, options, str(get_locale()))
        with transaction() as session:
            received = exchange.received_for(session, current_user, received_id)
            document = exchange.accept(
                session,
                current_user,
                received,
                values,
                more,
                now=clock.now(),
                signing_secret=current_app.config["SIGNING_SECRET"],
            )
    except InvalidInput as error:
        flash(error.translated(), "error")
        received = exchange.received_for(db.session(), current_user, received_id)
        return _render_accept(received, request.form.to_dict(), translated_field_errors(error), 422)
    flash(gettext("Registered as incoming no. %(number)s.", number=document.arrival_number), "success")
    return redirect(url_for("documents.show_incoming", document_id=document.id))


@bp.get("/sent")
@login_required
def list_sent() -> str:
    return render_template(
        "documents/sent_list.html", deliveries=exchange.deliveries_of(db.session(), current_user), Status=ExchangeStatus
    )


@bp.post("/received/<int:received_id>/recall")
@login_required
def answer_recall(received_id: int) -> Response | tuple[str, int]:
    agree = request.form.get("agree") == "1"
    note = request.form.get("note", "")
    try:
        with transaction() as session:
            received = exchange.received_for(session, current_user, received_id)
            exchange.answer_recall(session, current_user, received, agree=agree, note=note, now=clock.now())
    except InvalidInput as error:
        flash(error.translated(), "error")
        received = exchange.received_for(db.session(), current_user, received_id)
        return _render_received(received, errors=translated_field_errors(error), status=422)
    flash(gettext("The sender was told of your answer."), "success")
    return redirect(url_for("exchange.show_received", received_id=received_id))
