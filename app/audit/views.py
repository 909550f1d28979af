"""Auditors' pages: the instances of their agency and each one's timeline with its chain check."""

from __future__ import annotations

import json

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from app.audit import services
from app.extensions import db

bp = Blueprint("audit", __name__, url_prefix="/audit", template_folder="templates")


@bp.get("/")
@login_required
def list_instances() -> str:
    return render_template("audit/instances.html", instances=services.instances(db.session(), current_user))


@bp.get("/instances/<int:instance_id>")
@login_required
def show_timeline(instance_id: int) -> str:
    instance, events, broken = services.timeline(db.session(), current_user, instance_id)
    anchored = services.match_checkpoint(db.session(), instance, events)
    replayed = services.replay_instance(db.session(), current_user, instance_id) if request.args.get("replay") else None
    return render_template(
        "audit/timeline.html",
        instance=instance,
        events=events,
        broken=broken,
        anchored=anchored,
        replayed=replayed,
        loads=json.loads,
    )
