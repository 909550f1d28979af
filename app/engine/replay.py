"""Replay: re-execute an instance's recorded inputs on its pinned versions at the recorded times, and
check that the derived events and the final stored state come out the same."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.engine import definitions, runtime
from app.engine.models import HistoryEvent, ProcessInstance
from app.engine.results import Advance
from app.engine.scripting import ScriptContext, script_engine

DERIVED = {"task_opened", "task_closed", "incident", "completed", "event_thrown"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class ReplayResult:
    is_reproduced: bool
    inputs_replayed: int
    seq: int | None = None  # the first event that did not come out the same
    reason: str = ""


def canonical_state(state: str) -> str:
    """The state with task ids renumbered by first appearance: ids are random, everything else must match."""
    names: dict[str, str] = {}
    return UUID.sub(lambda match: names.setdefault(match.group(0), f"T{len(names)}"), state)


def replay(session: Session, instance: ProcessInstance, events: list[HistoryEvent]) -> ReplayResult:
    if not events or events[0].kind != "started":
        return ReplayResult(False, 0, 1, "the history does not begin with the start of the process")
    context = ScriptContext(session, instance.agency_id, events[0].at)
    specs: runtime.Specs | None = None
    state = ""
    recorded_to_replayed: dict[str, str] = {}
    pending_spec: str | None = None
    inputs = 0
    index = 0
    while index < len(events):
        event = events[index]
        index += 1
        if event.kind in DERIVED:
            continue
        if event.kind == "migrated":
            pending_spec = json.loads(event.detail)["spec_hash"]
            continue
        if event.kind == "cancelled":  # the state is kept as it was; nothing ran
            continue
        context.now = event.at
        context.replaying = json.loads(event.journal)
        engine = script_engine(context)
        if event.kind == "started":
            specs = definitions.load_specs(session, json.loads(event.detail)["spec_hash"])
            workflow = runtime.new_workflow(specs, json.loads(event.data_after), engine, now=event.at)
            result = runtime.advance(workflow, lambda: None, now=event.at)
        elif specs is None:
            return ReplayResult(False, inputs, event.seq, "an input comes before the start")
        else:
            workflow = runtime.load(state, specs, engine)
            outcome = _apply(workflow, event, recorded_to_replayed, pending_spec, session)
            if isinstance(outcome, str):
                return ReplayResult(False, inputs, event.seq, outcome)
            if pending_spec is not None:
                specs, pending_spec = definitions.load_specs(session, pending_spec), None
            result = outcome
        inputs += 1
        if result.incident is not None and result.incident.message.startswith("ReplayDiverged"):
            return ReplayResult(False, inputs, event.seq, result.incident.message)
        if context.replaying:
            return ReplayResult(False, inputs, event.seq, "the original asked helpers more than the replay did")
        derived = []
        while index < len(events) and events[index].kind in DERIVED:
            derived.append(events[index])
            index += 1
        mismatch = _compare(result, derived, recorded_to_replayed)
        if mismatch:
            return ReplayResult(False, inputs, event.seq, mismatch)
        state = result.state
    if canonical_state(state) != canonical_state(instance.state):
        return ReplayResult(False, inputs, None, "the stored state differs from the replayed one")
    return ReplayResult(True, inputs)


def _apply(
    workflow: Any, event: HistoryEvent, recorded_to_replayed: dict[str, str], pending_spec: str | None, session: Session
) -> Advance | str:
    if event.kind == "task_completed":
        task = runtime.find_ready_user_task(workflow, recorded_to_replayed.get(event.task_uuid, ""))
        if task is None:
            return "the task completed here was not open in the replay"
        data = json.loads(event.data_after)

        def complete() -> None:
            task.set_data(**data)
            task.run()

        return runtime.advance(workflow, complete, now=event.at)
    if event.kind == "timer_fired":
        return runtime.advance(workflow, workflow.refresh_timers, now=event.at)
    if event.kind == "retried":

        def retry() -> None:
            if pending_spec is not None:
                runtime.migrate(workflow, definitions.load_specs(session, pending_spec))
            runtime.retry_failed(workflow)

        return runtime.advance(workflow, retry, now=event.at)
    return f"unknown input event {event.kind!r}"


def _compare(result: Advance, derived: list[HistoryEvent], recorded_to_replayed: dict[str, str]) -> str:
    opened = [event for event in derived if event.kind == "task_opened"]
    recorded, replayed = [event.bpmn_id for event in opened], [task.bpmn_id for task in result.opened]
    if recorded != replayed:
        return f"different tasks were opened: recorded {recorded}, replayed {replayed}"
    for event, task in zip(opened, result.opened, strict=True):
        recorded_to_replayed[event.task_uuid] = task.task_uuid
    if result.incident is not None and not any(event.kind == "incident" for event in derived):
        return f"the replay failed where the original did not: {result.incident.message}"
    if any(event.kind == "completed" for event in derived) != result.is_completed:
        return "the process completed in one history and not in the other"
    return ""
