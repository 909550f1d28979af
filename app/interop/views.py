"""The exchange's doors: `POST /interop/packages` for other systems (a bearer token), and the administrator's
pages for quarantined packages and packages waiting to leave."""

from __future__ import annotations

import hmac

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app import clock
from app.db import transaction
from app.downloads import send_stored
from app.errors import N_
from app.extensions import csrf, db
from app.interop import services
from app.interop.models import QuarantineState

bp = Blueprint("interop", __name__, url_prefix="/interop", template_folder="templates")


@bp.post("/packages")
@csrf.exempt
def receive_package() -> tuple[Response, int]:
    """One package in the body (a document, a status or a recall). 200 with what it did, also when it went to
    quarantine: it is kept, and its sender is answered with a status, so the sending system must not retry."""
    expected = current_app.config["INTEROP_INBOUND_TOKEN"]
    if not expected:
        return jsonify(error=gettext("This installation does not take packages over HTTP.")), 404
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return jsonify(error=gettext("The token of the request is not this installation's.")), 401
    request.max_content_length = current_app.config["INTEROP_MAX_PACKAGE_BYTES"]
    data = request.get_data(cache=False)
    if not data:
        return jsonify(error=gettext("The request carries no package.")), 400
    with transaction() as session:
        intake = services.take_in(
            session, data, transport=services.HTTP, source=request.remote_addr or "", now=clock.now()
        )
        body: dict[str, object] = {"result": intake.kind, "received": [item.id for item in intake.received]}
        if intake.quarantined is not None:
            reason, params = services.reason_of(intake.quarantined)
            body["reason"] = gettext(reason, **params)
            body["quarantine_id"] = intake.quarantined.id
    return jsonify(body), 200


@bp.get("/quarantine")
@login_required
def list_quarantine() -> str:
    state = request.args.get("state", QuarantineState.HELD)
    if state not in {*QuarantineState, ""}:
        abort(404)
    entries = services.quarantine_list(db.session(), current_user, state=state)
    return render_template("interop/quarantine_list.html", entries=entries, state=state, reason_of=services.reason_of)


@bp.get("/quarantine/<int:entry_id>")
@login_required
def show_quarantined(entry_id: int) -> str:
    entry = services.quarantined(db.session(), current_user, entry_id)
    return render_template(
        "interop/quarantined.html",
        entry=entry,
        reason_of=services.reason_of,
        answer_of=services.answer_of,
        salvaged=services.salvage(entry.content),
    )


@bp.get("/quarantine/<int:entry_id>/package")
@login_required
def download_quarantined(entry_id: int) -> Response:
    entry = services.quarantined(db.session(), current_user, entry_id)
    return send_stored(entry.content, f"quarantine-{entry.id}.edxml")


@bp.post("/quarantine/<int:entry_id>/release")
@login_required
def release_quarantined(entry_id: int) -> Response:
    with transaction() as session:
        intake = services.release(session, current_user, entry_id, now=clock.now())
    flash(gettext("The package was taken in (%(kind)s).", kind=gettext(KINDS.get(intake.kind, intake.kind))))
    return redirect(url_for("interop.list_quarantine"))


@bp.post("/quarantine/<int:entry_id>/dismiss")
@login_required
def dismiss_quarantined(entry_id: int) -> Response:
    with transaction() as session:
        services.dismiss(session, current_user, entry_id, now=clock.now())
    flash(gettext("The package stays kept, marked as dealt with."))
    return redirect(url_for("interop.list_quarantine"))


@bp.get("/outbound")
@login_required
def list_outbound() -> str:
    packages = services.outbound_list(db.session(), current_user)
    return render_template("interop/outbound_list.html", packages=packages)


@bp.post("/outbound/<int:package_id>/again")
@login_required
def send_again(package_id: int) -> Response:
    with transaction() as session:
        services.send_again(session, current_user, package_id, now=clock.now())
    flash(gettext("The package will be sent again."))
    return redirect(url_for("interop.list_outbound"))


KINDS = {
    "document": N_("a document for the clerk"),
    "status": N_("a status"),
    "recall": N_("a recall"),
    "quarantined": N_("quarantine"),
}
