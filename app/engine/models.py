"""Deployed definitions, their specs stored once by hash, instances, the open-task projection, history."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime

DEFAULT_SCOPE = "_default"


class InstanceStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    INCIDENT = "incident"
    CANCELLED = "cancelled"


class ProcessSpec(Base):
    """A parsed BPMN set, serialized once and shared by every version and instance with the same content."""

    __tablename__ = "process_specs"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    spec_json: Mapped[str] = mapped_column(Text)


class ProcessDefinition(Base):
    """One immutable deployed version of a process for an agency (or the default for all)."""

    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("scope", "process_key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(13))  # an agency code or "_default"
    process_key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    file_name: Mapped[str] = mapped_column(String(200))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    forms_json: Mapped[str] = mapped_column(Text)  # the forms the diagram names, frozen with it
    content_hash: Mapped[str] = mapped_column(String(64))
    spec_hash: Mapped[str] = mapped_column(ForeignKey("process_specs.hash"))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deployed_by: Mapped[str] = mapped_column(String(80))


class ProcessInstance(Base):
    __tablename__ = "process_instances"
    __table_args__ = (Index("ix_process_instances_agency_status", "agency_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"), index=True)
    spec_hash: Mapped[str] = mapped_column(String(64))  # denormalised: loading needs no join
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    business_key: Mapped[str] = mapped_column(String(100), index=True)  # e.g. incoming_document:12
    status: Mapped[str] = mapped_column(String(20), default=InstanceStatus.RUNNING)
    # SpiffWorkflow state without the spec, as text: its task deltas rely on key order (never JSONB).
    state: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    incident_message: Mapped[str] = mapped_column(Text, default="")
    incident_task: Mapped[str] = mapped_column(String(100), default="")
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    last_event_hash: Mapped[str] = mapped_column(String(64), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    definition: Mapped[ProcessDefinition] = relationship(lazy="raise")


class OpenTask(Base):
    """The inbox projection: one row per open user task and candidate (a role, or a person)."""

    __tablename__ = "open_tasks"
    __table_args__ = (
        Index("ix_open_tasks_agency_role", "agency_id", "role"),
        Index("ix_open_tasks_assignee", "assignee_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    task_uuid: Mapped[str] = mapped_column(String(36), index=True)
    bpmn_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    form: Mapped[str] = mapped_column(String(100))
    role: Mapped[str | None] = mapped_column(String(30))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    priority: Mapped[int] = mapped_column(Integer, default=0)  # urgency code 0..4, Hỏa tốc on top
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    follow_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the holder's own reminder date
    title: Mapped[str] = mapped_column(String(500), default="")  # what the task is about (trích yếu)


class HistoryEvent(Base):
    """Append-only, hash-chained per instance; kept apart from runtime rows and never rewritten."""

    __tablename__ = "history_events"
    __table_args__ = (
        UniqueConstraint("instance_id", "seq"),
        Index("ix_history_events_actor_kind", "actor", "kind"),  # "documents I handled", participation checks
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)  # no FK: history outlives runtime rows
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(80), default="")  # username, or "system" for timers
    task_uuid: Mapped[str] = mapped_column(String(36), default="")
    bpmn_id: Mapped[str] = mapped_column(String(100), default="")
    task_name: Mapped[str] = mapped_column(String(200), default="")
    data_before: Mapped[str] = mapped_column(Text, default="{}")
    data_after: Mapped[str] = mapped_column(Text, default="{}")
    detail: Mapped[str] = mapped_column(Text, default="")
    journal: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")  # helper answers, for replay
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # "hmac1" (keyed); "sha256" for rows written before keying, until `flask audit rekey` upgrades them.
    hash_scheme: Mapped[str] = mapped_column(String(10), default="hmac1", server_default="sha256")
