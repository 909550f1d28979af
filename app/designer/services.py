"""Deploying an agency's diagram through the web, with its permission rule."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.engine import definitions
from app.engine.models import ProcessDefinition
from app.errors import N_, PermissionDenied
from app.org.models import Role, User


def check_designer(user: User) -> None:
    """Only a process designer deploys diagrams: asked before the upload is read."""
    if not user.has_role(Role.DESIGNER):
        raise PermissionDenied(N_("Only a process designer may deploy diagrams."))


def deploy_for_agency(
    session: Session, designer: User, file_name: str, xml: bytes, *, forms_dir: str, now: datetime
) -> tuple[ProcessDefinition, bool]:
    """A process designer deploys a diagram for their own agency only; it overrides the default."""
    check_designer(designer)
    return definitions.deploy(
        session, file_name, xml, scope=designer.agency.code, forms_dir=forms_dir, actor=designer.username, now=now
    )
