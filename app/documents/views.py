"""Registering, listing and showing incoming documents."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import replace
from datetime import date, datetime
from functools import partial
from urllib.parse import parse_qsl

from flask import (
    Blueprint,
    Request,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, gettext, lazy_gettext
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as WerkzeugResponse

from app import clock
from app.db import transaction
from app.documents import queries, services
from app.documents.models import Attachment
from app.documents.types import DOCUMENT_TYPES, TYPE_NAMES
from app.downloads import send_stored
from app.engine import forms
from app.engine import services as engine
from app.errors import InvalidInput, NotFound, translated_field_errors
from app.extensions import db

bp = Blueprint("documents", __name__, url_prefix="/documents", template_folder="templates")


def start_form(process_key: str) -> tuple[dict, list[dict], forms.OptionsFor]:
    """The start-event form of the agency's process, its fields in the user's language, and their choices."""
    locale = str(get_locale())
    _definition, form = engine.start_form(db.session(), current_user.agency, process_key)
    if form is None:
        raise NotFound(gettext("The process %(process)s of this agency has no start form.", process=process_key))
    return form, forms.localized_fields(form, locale), forms.options_for(db.session(), current_user.agency_id, locale)


def registration_form() -> tuple[dict, list[dict], forms.OptionsFor]:
    return start_form(services.INCOMING_PROCESS)


@bp.get("/incoming/new")
@login_required
def new_incoming() -> str:
    services.check_registrar(current_user)
    form, fields, options = registration_form()
    values = {field["name"]: field.get("default") for field in fields}
    return render_template(
        "documents/register.html", form=form, fields=fields, options=options, values=values, errors={}
    )


@bp.post("/incoming/new")
@login_required
def register_incoming() -> str | WerkzeugResponse | tuple[str, int]:
    services.check_registrar(current_user)
    form, fields, options = registration_form()
    uploads = form_uploads(fields)
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
    people = queries.agency_people(db.session(), current_user.agency_id)
    person_ids = {user_id for user_id, _name in people}
    filters, page, problems = _list_filters(request.args, person_ids)
    for problem in problems:
        flash(problem, "warning")
    filters = _in_scope(filters)
    result = queries.incoming_list(db.session(), current_user.agency_id, filters=filters, now=clock.now(), page=page)
    return render_template(
        "documents/incoming_list.html",
        result=result,
        filters=filters,
        params=_list_params(filters),
        people=people,
        types=DOCUMENT_TYPES,
        statuses=LIST_STATUS_LABELS,
        count_matching=partial(_count_matching, person_ids),
    )


def _in_scope(filters: queries.IncomingFilters) -> queries.IncomingFilters:
    if not current_user.roles & services.VIEWER_ROLES:  # the same scope as the document page
        return replace(filters, participant=current_user.id)
    return filters


def _count_matching(people: set[int], query: str) -> int:
    """How many documents a saved query string of this list finds for the current user (values that do not
    parse are dropped, as on the list)."""
    filters, _page, _problems = _list_filters(MultiDict(parse_qsl(query)), people)
    return queries.incoming_count(db.session(), current_user.agency_id, filters=_in_scope(filters), now=clock.now())


LIST_STATUS_LABELS = {
    queries.ListStatus.IN_PROGRESS: lazy_gettext("In progress"),
    queries.ListStatus.LATE: lazy_gettext("Late"),
    queries.ListStatus.DONE: lazy_gettext("Done"),
    queries.ListStatus.INCIDENT: lazy_gettext("Incident"),
}
URGENCIES = range(4)  # Thường, Khẩn, Thượng khẩn, Hỏa tốc
MAX_TEXT = 200
YEARS = (1900, 2999)


def _list_filters(args: MultiDict[str, str], people: set[int]) -> tuple[queries.IncomingFilters, int, list[str]]:
    """The list's filters and page from the query string; a value that does not parse is dropped and reported."""
    problems: list[str] = []

    def ignored(label: str, value: str) -> None:
        problems.append(gettext("%(field)s: “%(value)s” is not valid and was ignored.", field=label, value=value[:40]))

    def day(name: str, label: str) -> date | None:
        value = args.get(name, "").strip()
        if not value:
            return None
        for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                parsed = datetime.strptime(value, pattern).date()
            except ValueError:
                continue
            if YEARS[0] <= parsed.year <= YEARS[1]:  # far years overflow when turned into UTC instants
                return parsed
        ignored(label, value)
        return None

    def number(name: str, label: str, allowed: Container[int]) -> int | None:
        value = args.get(name, "").strip()
        if not value:
            return None
        if value.isascii() and value.isdigit() and len(value) <= 9 and int(value) in allowed:
            return int(value)
        ignored(label, value)
        return None

    date_from, date_to = day("date_from", gettext("Arrived from")), day("date_to", gettext("Arrived until"))
    if date_from and date_to and date_from > date_to:
        date_from, date_to = date_to, date_from
    type_name = args.get("type_name", "").strip()
    if type_name and type_name not in TYPE_NAMES:
        ignored(gettext("Type"), type_name)
        type_name = ""
    status_value = args.get("status", "").strip()
    status = next((status for status in queries.ListStatus if status.value == status_value), None)
    if status_value and status is None:
        ignored(gettext("Status"), status_value)
    filters = queries.IncomingFilters(
        date_from=date_from,
        date_to=date_to,
        number=args.get("number", "").strip()[:MAX_TEXT],
        organ=args.get("organ", "").strip()[:MAX_TEXT],
        type_name=type_name,
        urgency=number("urgency", gettext("Urgency"), URGENCIES),
        status=status,
        handler=number("handler", gettext("Handler"), people),
        q=args.get("q", "").strip()[:MAX_TEXT],
    )
    page = number("page", gettext("Page"), range(1, 10**9)) or 1
    return filters, page, problems


def _list_params(filters: queries.IncomingFilters) -> dict[str, str]:
    """The filters as query-string values, for the page links."""
    values = {
        "q": filters.q,
        "date_from": filters.date_from.isoformat() if filters.date_from else "",
        "date_to": filters.date_to.isoformat() if filters.date_to else "",
        "number": filters.number,
        "organ": filters.organ,
        "type_name": filters.type_name,
        "urgency": "" if filters.urgency is None else str(filters.urgency),
        "status": filters.status.value if filters.status else "",
        "handler": "" if filters.handler is None else str(filters.handler),
    }
    return {name: value for name, value in values.items() if value}


@bp.get("/incoming/<int:document_id>")
@login_required
def show_incoming(document_id: int) -> str:
    document = services.incoming_for(db.session(), current_user, document_id)
    tasks = engine.open_tasks_of(db.session(), document.instance_id) if document.instance_id else []
    events = engine.history_of(db.session(), document.instance_id) if document.instance_id else []
    checks = services.signature_checks(db.session(), document, now=clock.now())
    return render_template("documents/incoming.html", document=document, tasks=tasks, events=events, checks=checks)


@bp.post("/incoming/<int:document_id>/paper")
@login_required
def set_paper_holder(document_id: int) -> WerkzeugResponse:
    with transaction() as session:
        document = services.incoming_for(session, current_user, document_id)
        services.set_paper_holder(session, current_user, document, request.form.get("paper_holder", ""))
    flash(gettext("Noted where the paper copy is."), "success")
    return redirect(url_for("documents.show_incoming", document_id=document_id))


@bp.get("/attachments/<int:attachment_id>")
@login_required
def download_attachment(attachment_id: int) -> Response:
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound(gettext("No such file."))
    services.incoming_for(db.session(), current_user, attachment.document_id)
    return send_stored(attachment.content, attachment.file_name)


@bp.post("/attachments/<int:attachment_id>/rename")
@login_required
def rename_attachment(attachment_id: int) -> WerkzeugResponse | tuple[str, int]:
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound(gettext("No such file."))
    try:
        with transaction() as session:
            services.rename_attachment(session, current_user, attachment, request.form.get("file_name", "").strip())
    except InvalidInput as error:
        flash(error.translated(), "error")
        return show_incoming(attachment.document_id), 422
    flash(gettext("The file is now named %(name)s.", name=attachment.file_name), "success")
    return redirect(url_for("documents.show_incoming", document_id=attachment.document_id))


def form_uploads(fields: list[dict]) -> list[services.Upload]:
    """The files posted for the form's file fields, with the names offered by file_names.js (DOC-2)."""
    posted = uploads_of(request)
    return [upload for field in fields if field["type"] == "file" for upload in posted.get(field["name"], [])]


def uploads_of(req: Request) -> dict[str, list[services.Upload]]:
    """Every uploaded file of a request by field name, each with the name the person chose for it (DOC-2)."""
    found: dict[str, list[services.Upload]] = {}
    for name in req.files:
        for index, upload in enumerate(req.files.getlist(name)):
            if upload and upload.filename:
                chosen = req.form.get(f"{name}_name_{index}", "").strip()
                found.setdefault(name, []).append(
                    services.Upload(upload.filename, upload.mimetype or "", upload.read(), chosen_name=chosen)
                )
    return found
