"""Completing a task through its form: the form is the one frozen with the instance's process version."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from app.engine import definitions, forms
from app.engine import services as engine
from app.engine.models import OpenTask, ProcessInstance
from app.org.models import User


def task_form(session: Session, user: User, task_uuid: str) -> tuple[OpenTask, dict[str, Any]]:
    """The open task `user` may act on and its form definition."""
    task = engine.task_for_user(session, user, task_uuid)
    instance = session.get(ProcessInstance, task.instance_id)
    assert instance is not None
    definition = session.get(definitions.ProcessDefinition, instance.definition_id)
    assert definition is not None
    return task, definitions.form_of(definition, task.form)


def submit_task(
    session: Session, user: User, task_uuid: str, raw: Mapping[str, Any], *, locale: str, now: Any
) -> ProcessInstance:
    """Validate the submission against the task's form on the server, then advance the process."""
    task, form = task_form(session, user, task_uuid)
    values = forms.clean_submission(form, raw, forms.options_for(session, user.agency_id, locale), locale)
    return engine.complete_task(session, user, task.task_uuid, values, now=now)
