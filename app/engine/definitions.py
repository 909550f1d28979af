"""Deployed process versions: resolve processes/<agency>/ over _default/, lint, hash, store immutably."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.engine import forms as form_defs
from app.engine import runtime
from app.engine.lint import Problem, lint
from app.engine.models import DEFAULT_SCOPE, ProcessDefinition, ProcessSpec
from app.engine.scripting import helper_names
from app.errors import N_, InvalidDefinition, NotFound


@dataclass(frozen=True)
class SourceFile:
    scope: str
    path: Path


def source_files(processes_dir: str) -> list[SourceFile]:
    """Every BPMN file in processes/: the defaults and each agency's overrides."""
    root = Path(processes_dir)
    return [
        SourceFile(folder.name, path)
        for folder in sorted(p for p in root.iterdir() if p.is_dir())
        for path in sorted(folder.glob("*.bpmn"))
    ]


def check(file_name: str, xml: bytes, *, scope: str, forms_dir: str) -> tuple[Any, list[Problem]]:
    def load_form(name: str) -> dict[str, Any] | None:
        path = form_defs.form_path(forms_dir, scope, name)
        if path is None:
            return None
        try:
            loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            return {"invalid": True}
        return loaded

    return lint(file_name, xml, load_form, helper_names())


def deploy(
    session: Session, file_name: str, xml: bytes, *, scope: str, forms_dir: str, actor: str, now: datetime
) -> tuple[ProcessDefinition, bool]:
    """Store a new immutable version if the diagram or its forms changed; (definition, is_new)."""
    if not file_name.lower().endswith(".bpmn"):
        raise InvalidDefinition(N_("Only .bpmn files can be deployed."))
    parsed, problems = check(file_name, xml, scope=scope, forms_dir=forms_dir)
    if problems or parsed is None:
        raise InvalidDefinition(N_("The diagram cannot be deployed."), problems)
    forms_json = json.dumps(parsed.forms, sort_keys=True, ensure_ascii=False)
    content_hash = hashlib.sha256(xml + b"\0" + forms_json.encode()).hexdigest()
    latest = latest_definition(session, scope, parsed.process_key, fall_back=False)
    if latest is not None and latest.content_hash == content_hash:
        return latest, False
    spec_json = runtime.specs_to_json(parsed.spec, parsed.subprocess_specs)
    spec_hash = hashlib.sha256(spec_json.encode()).hexdigest()
    if session.get(ProcessSpec, spec_hash) is None:
        session.add(ProcessSpec(hash=spec_hash, spec_json=spec_json))
        session.flush()  # no relationship tells the unit of work to insert the spec first
    definition = ProcessDefinition(
        scope=scope,
        process_key=parsed.process_key,
        version=(latest.version + 1) if latest else 1,
        name=parsed.name,
        file_name=Path(file_name).name,
        bpmn_xml=xml.decode("utf-8"),
        forms_json=forms_json,
        content_hash=content_hash,
        spec_hash=spec_hash,
        deployed_at=now,
        deployed_by=actor,
    )
    session.add(definition)
    session.flush()
    return definition, True


def sync(session: Session, *, processes_dir: str, forms_dir: str, actor: str, now: datetime) -> list[ProcessDefinition]:
    """Deploy every file of processes/ whose diagram or forms changed since its latest version."""
    deployed = []
    for source in source_files(processes_dir):
        try:
            definition, is_new = deploy(
                session,
                source.path.name,
                source.path.read_bytes(),
                scope=source.scope,
                forms_dir=forms_dir,
                actor=actor,
                now=now,
            )
        except InvalidDefinition as error:
            where = f"{source.scope}/{source.path.name}"
            raise InvalidDefinition(N_("%(file)s cannot be deployed."), error.problems, file=where) from error
        if is_new:
            deployed.append(definition)
    return deployed


def latest_definition(
    session: Session, scope: str, process_key: str, *, fall_back: bool = True
) -> ProcessDefinition | None:
    """The newest version for the agency, else (with fall_back) the newest default version."""
    for candidate in (scope, DEFAULT_SCOPE) if fall_back else (scope,):
        newest = (
            select(ProcessDefinition)
            .where(ProcessDefinition.scope == candidate, ProcessDefinition.process_key == process_key)
            .order_by(ProcessDefinition.version.desc())
            .limit(1)
        )
        definition = session.scalar(newest)
        if definition is not None:
            return definition
    return None


def definition_for_start(session: Session, agency_code: str, process_key: str) -> ProcessDefinition:
    definition = latest_definition(session, agency_code, process_key)
    if definition is None:
        raise NotFound(N_("No process %(key)s is deployed for this agency."), key=process_key)
    return definition


def versions(session: Session) -> list[ProcessDefinition]:
    return list(
        session.scalars(
            select(ProcessDefinition).order_by(
                ProcessDefinition.scope, ProcessDefinition.process_key, ProcessDefinition.version.desc()
            )
        )
    )


def instance_counts(session: Session, *, agency_id: int | None = None) -> dict[int, int]:
    """Instances per version, of one agency when given."""
    from app.engine.models import ProcessInstance

    query = select(ProcessInstance.definition_id, func.count()).group_by(ProcessInstance.definition_id)
    if agency_id is not None:
        query = query.where(ProcessInstance.agency_id == agency_id)
    rows = session.execute(query)
    return {definition_id: count for definition_id, count in rows}


def load_specs(session: Session, spec_hash: str) -> runtime.Specs:
    def stored(key: str) -> str:
        row = session.get(ProcessSpec, key)
        if row is None:
            raise NotFound(N_("The process version is missing its spec."))
        return row.spec_json

    return runtime.cached_specs(spec_hash, stored)


def form_of(definition: ProcessDefinition, name: str) -> dict[str, Any]:
    forms: dict[str, dict[str, Any]] = json.loads(definition.forms_json)
    if name not in forms:
        raise NotFound(N_("The form %(name)s is not part of this process version."), name=name)
    return forms[name]
