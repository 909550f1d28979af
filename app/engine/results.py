"""What crosses the engine boundary: frozen dataclasses, never SpiffWorkflow objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class OpenedTask:
    task_uuid: str
    bpmn_id: str
    name: str
    lane: str
    form: str
    properties: dict[str, str]
    data: dict[str, Any]


@dataclass(frozen=True)
class ClosedTask:
    task_uuid: str
    bpmn_id: str
    name: str
    state: str  # COMPLETED or CANCELLED


@dataclass(frozen=True)
class EngineEvent:
    """An event the diagram threw that nothing inside it caught (escalation, message, signal)."""

    kind: str
    name: str
    code: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Incident:
    bpmn_id: str
    message: str


@dataclass(frozen=True)
class Advance:
    """The outcome of running an instance until it waits."""

    state: str
    opened: list[OpenedTask] = field(default_factory=list)
    closed: list[ClosedTask] = field(default_factory=list)
    events: list[EngineEvent] = field(default_factory=list)
    next_timer_at: datetime | None = None
    is_completed: bool = False
    incident: Incident | None = None
    data: dict[str, Any] = field(default_factory=dict)
