"""Keys administration, signing a PDF, verifying any PDF, and the two-step signing on a personal token."""

from __future__ import annotations

import base64
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as WerkzeugResponse

from app import clock
from app.db import transaction
from app.downloads import send_stored
from app.errors import N_, InvalidInput, NotFound
from app.extensions import db
from app.org.models import User
from app.signing import services

bp = Blueprint("signing", __name__, url_prefix="/signing", template_folder="templates")


def _upload(name: str) -> bytes:
    upload = request.files.get(name)
    if upload is None or not upload.filename:
        raise InvalidInput(N_("Choose a file."))
    return upload.read()


@bp.get("/keys")
@login_required
def list_keys() -> str:
    session = db.session()
    people = list(
        session.scalars(select(User).where(User.agency_id == current_user.agency_id).order_by(User.full_name))
    )
    keys = services.keys_of_agency(session, current_user.agency_id)
    return render_template("signing/keys.html", keys=keys, people={u.id: u for u in people}, now=clock.now())


def _key_owner(session: Session, owner: str) -> User | None:
    """The person a key is for, from the form's owner field; None means the agency's own key."""
    if owner == "agency":
        return None
    user = session.scalar(select(User).where(User.username == owner, User.agency_id == current_user.agency_id))
    if user is None:
        raise NotFound(N_("Choose the key's owner."))
    return user


@bp.post("/keys")
@login_required
def import_key() -> WerkzeugResponse:
    services.check_key_manager(current_user)
    owner = request.form.get("owner", "")
    image = request.files.get("image")
    with transaction() as session:
        user = _key_owner(session, owner)
        services.import_pkcs12(
            session,
            current_user,
            agency=current_user.agency,
            user=user,
            data=_upload("pkcs12"),
            password=request.form.get("password", ""),
            image_png=image.read() if image and image.filename else None,
            secret=current_app.config["SIGNING_SECRET"],
            now=clock.now(),
        )
    flash(gettext("The key was imported and replaces the owner's previous key."), "success")
    return redirect(url_for("signing.list_keys"))


@bp.post("/keys/token")
@login_required
def configure_token() -> WerkzeugResponse:
    services.check_key_manager(current_user)
    owner = request.form.get("owner", "")
    with transaction() as session:
        user = _key_owner(session, owner)
        services.configure_pkcs11(
            session,
            current_user,
            agency=current_user.agency,
            user=user,
            config={
                name: request.form.get(name, "").strip()
                for name in ("module_path", "token_label", "key_label", "cert_label")
            },
            certificate=_upload("certificate"),
            image_png=None,
            pin=request.form.get("pin", ""),
            secret=current_app.config["SIGNING_SECRET"],
            now=clock.now(),
        )
    flash(gettext("The token key was recorded and replaces the owner's previous key."), "success")
    return redirect(url_for("signing.list_keys"))


@bp.route("/verify", methods=["GET", "POST"])
@login_required
def verify_file() -> str:
    result = None
    if request.method == "POST":
        result = services.verify_document(db.session(), _upload("file"), now=clock.now())
    return render_template("signing/verify.html", result=result)


@bp.route("/sign", methods=["GET", "POST"])
@login_required
def sign_file() -> str | Response:
    if request.method == "GET":
        return render_template("signing/sign.html")
    with transaction() as session:
        signed = services.sign_personal(
            session,
            current_user,
            _upload("file"),
            request.form.get("password", ""),
            secret=current_app.config["SIGNING_SECRET"],
            now=clock.now(),
        )
    name = (request.files["file"].filename or "van_ban.pdf").rsplit(".", 1)[0] + "_da_ky.pdf"
    return send_stored(signed, name)


@bp.post("/external")
@login_required
def prepare_external() -> tuple[Any, int]:
    """Step 1 of signing on the signer's own token: the server prepares the PDF and returns the hash."""
    payload = request.get_json(silent=True) or {}
    try:
        document = base64.b64decode(payload["pdf"], validate=True)
        certificate = base64.b64decode(payload["certificate"], validate=True)
        chain = [base64.b64decode(item, validate=True) for item in payload.get("chain", [])]
    except (KeyError, ValueError, TypeError):
        raise InvalidInput(N_("Send the PDF, the certificate and its chain, base64-encoded.")) from None
    with transaction() as session:
        pending, to_sign = services.prepare_external(
            session, current_user, document, certificate, chain, now=clock.now()
        )
    return jsonify(id=pending.id, hash_to_sign=base64.b64encode(to_sign).decode(), algorithm="sha256"), 201


@bp.post("/external/<int:pending_id>")
@login_required
def finish_external(pending_id: int) -> Response:
    """Step 2: the token's signature value comes back and is embedded; the signed PDF is returned."""
    payload = request.get_json(silent=True) or {}
    try:
        signature = base64.b64decode(payload["signature"], validate=True)
    except (KeyError, ValueError, TypeError):
        raise InvalidInput(N_("Send the signature value, base64-encoded.")) from None
    with transaction() as session:
        signed = services.finish_external(session, current_user, pending_id, signature, now=clock.now())
    return send_stored(signed, "signed.pdf", inline_pdf=True)


@bp.route("/seal", methods=["GET", "POST"])
@login_required
def seal_file() -> str | Response:
    """The clerk writes the number and date onto a signed document and adds the agency's seal (or seals an
    appendix in its own file)."""
    services.check_sealer(current_user)
    if request.method == "GET":
        return render_template("signing/seal.html")
    number = request.form.get("number", "").strip()
    if not number:
        raise InvalidInput(N_("Enter the number and symbol, e.g. 12/QĐ-UBND."))
    secret = current_app.config["SIGNING_SECRET"]
    with transaction() as session:
        if request.form.get("appendix"):
            sealed = services.seal_appendix(
                session, current_user, _upload("file"), number=number, secret=secret, now=clock.now()
            )
        else:
            sealed = services.seal_document(
                session, current_user, _upload("file"), number=number, secret=secret, now=clock.now()
            )
    name = (request.files["file"].filename or "van_ban.pdf").rsplit(".", 1)[0] + "_ban_hanh.pdf"
    return send_stored(sealed, name)
