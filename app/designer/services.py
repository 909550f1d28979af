"""Deploying an agency's diagram through the web, with its permission rule."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.engine import definitions
from app.engine.models import DEFAULT_SCOPE, ProcessDefinition
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


def versions_for(session: Session, user: User) -> tuple[list[ProcessDefinition], dict[int, int]]:
    """The versions a person may read, with their agency's instance counts: the defaults and their own
    agency's; the installation's administrator reads every agency's (issue 12)."""
    everything = user.is_installation_admin
    scopes = None if everything else {DEFAULT_SCOPE, user.agency.code}
    versions = [d for d in definitions.versions(session) if scopes is None or d.scope in scopes]
    counts = definitions.instance_counts(session, agency_id=None if everything else user.agency_id)
    return versions, counts


def check_version_reader(user: User, definition: ProcessDefinition) -> None:
    """Another agency's diagram is its own business (issue 12)."""
    if user.is_installation_admin or definition.scope in (DEFAULT_SCOPE, user.agency.code):
        return
    raise PermissionDenied(N_("This process version belongs to another agency."))
