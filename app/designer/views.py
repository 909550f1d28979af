"""Deployed versions per agency with upload; incidents with retry."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app import clock
from app.db import transaction
from app.designer import services
from app.engine import definitions
from app.engine import services as engine
from app.errors import N_, InvalidDefinition, PermissionDenied
from app.extensions import db
from app.org.models import Role

bp = Blueprint("designer", __name__, url_prefix="/designer", template_folder="templates")


def _require(*roles: Role) -> None:
    if not current_user.has_role(*roles):
        raise PermissionDenied(N_("This page is for process designers and administrators."))


@bp.get("/")
@login_required
def list_versions() -> str:
    _require(Role.DESIGNER, Role.ADMIN)
    versions, counts = services.versions_for(db.session(), current_user)
    return render_template("designer/versions.html", versions=versions, counts=counts, problems=[])


@bp.post("/")
@login_required
def upload_version() -> Response | tuple[str, int]:
    services.check_designer(current_user)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(gettext("Choose a .bpmn file to upload."), "error")
        return redirect(url_for("designer.list_versions"))
    try:
        with transaction() as session:
            definition, is_new = services.deploy_for_agency(
                session,
                current_user,
                upload.filename,
                upload.read(),
                forms_dir=current_app.config["FORMS_DIR"],
                now=clock.now(),
            )
    except InvalidDefinition as error:
        problems = [problem.render(gettext) for problem in error.problems]
        flash(error.translated(), "error")
        versions, counts = services.versions_for(db.session(), current_user)
        return render_template("designer/versions.html", versions=versions, counts=counts, problems=problems), 422
    if is_new:
        flash(
            gettext("Deployed %(key)s version %(version)s.", key=definition.process_key, version=definition.version),
            "success",
        )
    else:
        flash(gettext("Nothing changed: this file is already the latest version."), "success")
    return redirect(url_for("designer.list_versions"))


@bp.get("/versions/<int:definition_id>")
@login_required
def show_version(definition_id: int) -> str:
    _require(Role.DESIGNER, Role.ADMIN, Role.AUDITOR)
    definition = db.get_or_404(definitions.ProcessDefinition, definition_id)
    services.check_version_reader(current_user, definition)
    return render_template("designer/version.html", definition=definition)


@bp.get("/incidents")
@login_required
def list_incidents() -> str:
    _require(Role.ADMIN)
    return render_template("designer/incidents.html", instances=engine.incidents(db.session(), current_user.agency_id))


@bp.post("/incidents/<int:instance_id>/retry")
@login_required
def retry_incident(instance_id: int) -> Response:
    with transaction() as session:
        instance = engine.retry_incident(
            session, current_user, instance_id, now=clock.now(), on_latest_version=request.form.get("latest") == "1"
        )
    if instance.status == "incident":
        flash(gettext("The step failed again: %(message)s", message=instance.incident_message), "error")
    else:
        flash(gettext("The step ran again and the process continues."), "success")
    return redirect(url_for("designer.list_incidents"))
