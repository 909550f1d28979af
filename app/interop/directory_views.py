"""The administrator's pages for the directory of agency codes (INT-3)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app import clock
from app.db import transaction
from app.errors import N_, InvalidInput, translated_field_errors
from app.extensions import db
from app.interop import directory
from app.interop.directory import ImportRefused
from app.interop.models import CodeKind, DirectoryEntry

bp = Blueprint("directory", __name__, url_prefix="/directory", template_folder="templates")

KIND_LABELS = {CodeKind.GOVERNMENT: N_("Government agency"), CodeKind.OTHER: N_("Other organisation")}
TRANSPORT_LABELS = {"": N_("Installation default"), "directory": N_("Gateway folder"), "http": N_("HTTP")}


def _render_list(*, refused: InvalidInput | None = None, status: int = 200) -> tuple[str, int]:
    directory.check_reader(current_user)
    session = db.session()
    text = request.args.get("q", "").strip()
    include_inactive = request.args.get("inactive") == "1"
    return render_template(
        "interop/directory_list.html",
        entries=directory.search(session, text, include_inactive=include_inactive),
        counts=directory.counts(session),
        q=text,
        include_inactive=include_inactive,
        refused=refused,
        problems=refused.problems if isinstance(refused, ImportRefused) else [],
        hidden_problems=refused.count - len(refused.problems) if isinstance(refused, ImportRefused) else 0,
        can_edit=directory.can_edit(current_user),
        kind_labels=KIND_LABELS,
        transport_labels=TRANSPORT_LABELS,
        limit=directory.SEARCH_LIMIT,
    ), status


@bp.get("/")
@login_required
def list_entries() -> tuple[str, int]:
    return _render_list()


@bp.post("/import")
@login_required
def import_entries() -> Response | tuple[str, int]:
    directory.check_editor(current_user)
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise InvalidInput(N_("Choose a file."), {"file": N_("Choose a file.")})
        content = upload.stream.read(directory.MAX_IMPORT_BYTES + 1)  # one byte more tells a file too large
        with transaction() as session:
            result = directory.import_file(session, current_user, upload.filename, content, now=clock.now())
    except InvalidInput as error:
        flash(error.translated(), "error")
        return _render_list(refused=error, status=422)
    flash(
        gettext(
            "Imported: %(added)s added, %(updated)s updated, %(unchanged)s unchanged.",
            added=result.added,
            updated=result.updated,
            unchanged=result.unchanged,
        ),
        "success",
    )
    return redirect(url_for("directory.list_entries"))


def _render_form(
    entry: DirectoryEntry | None, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> tuple[str, int]:
    return render_template(
        "interop/directory_form.html",
        entry=entry,
        values=values,
        errors=errors,
        kind_labels=KIND_LABELS,
        transport_labels=TRANSPORT_LABELS,
    ), status


def _posted() -> dict[str, str]:
    return {key: request.form.get(key, "") for key in directory.FIELD_LABELS}


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new_entry() -> Response | tuple[str, int]:
    directory.check_editor(current_user)
    if request.method == "GET":
        return _render_form(None, {"kind": CodeKind.GOVERNMENT}, {})
    values = _posted()
    try:
        with transaction() as session:
            entry = directory.save_entry(session, current_user, values, now=clock.now(), create_only=True)
    except InvalidInput as error:
        flash(error.translated(), "error")
        return _render_form(None, values, translated_field_errors(error), 422)
    flash(gettext("%(code)s was added to the directory.", code=entry.code), "success")
    return redirect(url_for("directory.list_entries", q=entry.code))


@bp.route("/<int:entry_id>/edit", methods=["GET", "POST"])
@login_required
def edit_entry(entry_id: int) -> Response | tuple[str, int]:
    directory.check_editor(current_user)
    entry = directory.get_entry(db.session(), entry_id)
    if request.method == "GET":
        return _render_form(entry, {key: getattr(entry, key) for key in directory.FIELD_LABELS}, {})
    values = _posted() | {"code": entry.code}  # the code names the entry; a new code is a new entry
    try:
        with transaction() as session:
            directory.save_entry(session, current_user, values, now=clock.now())
    except InvalidInput as error:
        flash(error.translated(), "error")
        return _render_form(directory.get_entry(db.session(), entry_id), values, translated_field_errors(error), 422)
    flash(gettext("%(code)s was saved.", code=entry.code), "success")
    return redirect(url_for("directory.list_entries", q=entry.code, inactive=None if entry.is_active else "1"))


def _set_active(entry_id: int, active: bool) -> Response:
    with transaction() as session:
        entry = directory.set_active(session, current_user, entry_id, active, now=clock.now())
        code = entry.code
    if active:
        flash(gettext("%(code)s is active again.", code=code), "success")
    else:
        flash(gettext("%(code)s was deactivated.", code=code), "success")
    return redirect(url_for("directory.list_entries", q=request.form.get("q") or None, inactive="1"))


@bp.post("/<int:entry_id>/deactivate")
@login_required
def deactivate_entry(entry_id: int) -> Response:
    return _set_active(entry_id, False)


@bp.post("/<int:entry_id>/reactivate")
@login_required
def reactivate_entry(entry_id: int) -> Response:
    return _set_active(entry_id, True)
