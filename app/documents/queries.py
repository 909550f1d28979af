"""The read side of documents: the incoming list of an agency with each document's current step."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.documents.models import IncomingDocument
from app.engine.models import OpenTask, ProcessInstance


@dataclass(frozen=True)
class IncomingRow:
    document: IncomingDocument
    status: str
    steps: list[str]


def incoming_list(session: Session, agency_id: int, *, year: int | None = None, limit: int = 200) -> list[IncomingRow]:
    query = select(IncomingDocument, ProcessInstance.status).outerjoin(
        ProcessInstance, ProcessInstance.id == IncomingDocument.instance_id
    )
    query = query.where(IncomingDocument.agency_id == agency_id)
    query = query.order_by(IncomingDocument.arrival_at.desc(), IncomingDocument.arrival_number.desc()).limit(limit)
    rows = session.execute(query).all()
    instance_ids = [document.instance_id for document, _status in rows if document.instance_id]
    steps: dict[int, list[str]] = {}
    if instance_ids:
        for task in session.scalars(select(OpenTask).where(OpenTask.instance_id.in_(instance_ids))):
            names = steps.setdefault(task.instance_id, [])
            if task.name not in names:
                names.append(task.name)
    return [IncomingRow(document, status or "", steps.get(document.instance_id or 0, [])) for document, status in rows]
