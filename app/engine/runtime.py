"""SpiffWorkflow at work: parse, restore from stored state, run until waiting, dump compact state."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import SpiffWorkflow.bpmn.specs.event_definitions.timer as spiff_timer
import SpiffWorkflow.task as spiff_task
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskIterator, TaskState

from app import clock
from app.engine.results import Advance, ClosedTask, EngineEvent, Incident, OpenedTask

# --- the clock -------------------------------------------------------------------------------------------
# SpiffWorkflow has no clock parameter: timer.py calls datetime.now(timezone.utc) and task.py time.time().
# Both read the `now` of the advance being run (else app.clock), so the caller's clock decides when timers
# are due and what is recorded: tests, demos and replays control time.

_advance_now: ContextVar[datetime | None] = ContextVar("advance_now", default=None)


def _now() -> datetime:
    return _advance_now.get() or clock.now()


class _ClockDatetime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        current = _now()
        return current.astimezone(tz) if tz is not None else current.astimezone().replace(tzinfo=None)


class _ClockTime:
    @staticmethod
    def time() -> float:
        return _now().timestamp()


def install() -> None:
    """Point SpiffWorkflow at app.clock and lift its task-depth limit (called once by create_app)."""
    spiff_timer.datetime = _ClockDatetime
    spiff_task.time = _ClockTime
    # Task iteration silently stops at depth 1000 (a loop of ~330 rounds then looks completed). State is
    # compacted on every save so real trees stay shallow; this is the second guard.
    for cls in (TaskIterator, BpmnTaskIterator):
        init = cls.__init__
        names = init.__code__.co_varnames[1 : init.__code__.co_argcount]
        defaults = list(init.__defaults__ or ())
        defaults[names[-len(defaults) :].index("max_depth")] = 1_000_000
        init.__defaults__ = tuple(defaults)


# --- serialization ----------------------------------------------------------------------------------------


class _StateConverter(BpmnWorkflowConverter):
    """The workflow without its spec: specs are stored once per content hash and cached in memory."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None) -> BpmnWorkflow:
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_registry = BpmnWorkflowSerializer.configure({**SPIFF_CONFIG, BpmnWorkflow: _StateConverter})
_registry.register(date, lambda d: {"value": d.isoformat()}, lambda d: date.fromisoformat(d["value"]))
SERIALIZER = BpmnWorkflowSerializer(_registry)
STATE_FORMAT = "spiff-3.2/" + SERIALIZER.VERSION

Specs = tuple[Any, dict[str, Any]]
_spec_cache: dict[str, Specs] = {}


def specs_to_json(spec: Any, subprocess_specs: dict[str, Any]) -> str:
    return json.dumps(
        {
            "spec": SERIALIZER.to_dict(spec),
            "subprocess_specs": {name: SERIALIZER.to_dict(sub) for name, sub in subprocess_specs.items()},
        }
    )


def cached_specs(spec_hash: str, load_json: Callable[[str], str]) -> Specs:
    """Specs for a content hash; restored through the serializer, which also re-wires multi-instance specs."""
    specs = _spec_cache.get(spec_hash)
    if specs is None:
        stored = json.loads(load_json(spec_hash))
        specs = (
            SERIALIZER.from_dict(stored["spec"]),
            {name: SERIALIZER.from_dict(sub) for name, sub in stored["subprocess_specs"].items()},
        )
        _spec_cache[spec_hash] = specs
    return specs


def load(state: str, specs: Specs, script_engine: PythonScriptEngine) -> BpmnWorkflow:
    dct = json.loads(state)
    if dct.pop("format", None) != STATE_FORMAT:
        raise ValueError("instance state was written by another SpiffWorkflow serializer version")
    workflow: BpmnWorkflow = _registry.restore(dct, spec=specs[0], subprocess_specs=specs[1])
    workflow.script_engine = script_engine  # never serialized: re-attach after every load
    return workflow


def dump(workflow: BpmnWorkflow) -> str:
    _registry._encoder_mode = True
    try:
        dct = _registry.convert(workflow)
        _compact(workflow, dct)
        dct["format"] = STATE_FORMAT
        return json.dumps(dct, cls=SERIALIZER._encoder_cls)
    finally:
        _registry._encoder_mode = False


def _compact(workflow: BpmnWorkflow, dct: dict[str, Any]) -> None:
    """Drop the finished history above the lowest completed task that is an ancestor of all live tasks.

    What is dropped can never run again (nothing reaches a finished ancestor's siblings), the new root
    carries its full data, and the history itself is kept in history_events. This keeps the cost of an
    advance independent of how long the instance has run, and the tree far from SpiffWorkflow's
    depth limit, however many revision loops a document goes through.
    """
    live = [task for task in workflow.tasks.values() if not task.has_state(TaskState.COMPLETED | TaskState.CANCELLED)]
    if not live:
        return
    common: list[Task] | None = None
    for task in live:
        path = _path_from_root(task)
        if common is None:
            common = path
        else:
            length = 0
            for a, b in zip(common, path, strict=False):
                if a is not b:
                    break
                length += 1
            common = common[:length]
    new_root = next((task for task in reversed(common or []) if task.state == TaskState.COMPLETED), None)
    if new_root is None or new_root is workflow.task_tree:
        return
    keep: set[str] = set()
    stack = [new_root]
    while stack:
        task = stack.pop()
        keep.add(str(task.id))
        stack.extend(task.children)
    dct["tasks"] = {key: value for key, value in dct["tasks"].items() if key in keep}
    root_entry = dct["tasks"][str(new_root.id)]
    root_entry.update(parent=None, data=new_root.data, delta={})
    dct["root"] = str(new_root.id)
    dct["subprocesses"] = {key: value for key, value in dct["subprocesses"].items() if key in keep}
    if dct.get("last_task") not in keep:
        dct["last_task"] = None


def _path_from_root(task: Task) -> list[Task]:
    path = []
    current: Task | None = task
    while current is not None:
        path.append(current)
        current = current.parent
    path.reverse()
    return path


# --- running ----------------------------------------------------------------------------------------------


def new_workflow(
    specs: Specs, data: dict[str, Any], script_engine: PythonScriptEngine, *, now: datetime
) -> BpmnWorkflow:
    """A workflow built at `now`: building stamps every predicted task's last_state_change, which the saved
    state keeps, so a replay at the recorded time must build the very same tree."""
    token = _advance_now.set(now)
    try:
        workflow = BpmnWorkflow(specs[0], specs[1], script_engine=script_engine)
    finally:
        _advance_now.reset(token)
    workflow.get_next_task(spec_name="Start").data.update(data)
    return workflow


def ready_user_tasks(workflow: BpmnWorkflow) -> list[Task]:
    return list(workflow.get_tasks(state=TaskState.READY, manual=True))


def find_ready_user_task(workflow: BpmnWorkflow, task_uuid: str) -> Task | None:
    try:
        task = workflow.get_task_from_id(UUID(task_uuid))
    except Exception:
        return None
    if task is None or task.state != TaskState.READY or not task.task_spec.manual:
        return None
    return task


def advance(workflow: BpmnWorkflow, action: Callable[[], None], *, now: datetime) -> Advance:
    """Apply `action` (start, complete a task, fire timers) at `now`, run until the workflow waits, report."""
    token = _advance_now.set(now)
    try:
        return _advance(workflow, action)
    finally:
        _advance_now.reset(token)


def _advance(workflow: BpmnWorkflow, action: Callable[[], None]) -> Advance:
    before = {str(task.id): task for task in ready_user_tasks(workflow)}
    incident = None
    try:
        action()
        workflow.do_engine_steps()
        # do_engine_steps refreshes timers only at its end: a timer due now fires on the next pass.
        workflow.refresh_timers()
        workflow.do_engine_steps()
    except WorkflowException as error:
        incident = _incident(error)
    except Exception as error:
        incident = Incident(bpmn_id="", message=f"{type(error).__name__}: {error}")
    if incident is None:
        errored = workflow.get_tasks(state=TaskState.ERROR)
        if errored:
            incident = Incident(bpmn_id=errored[0].task_spec.bpmn_id or "", message="task in error")
    after = {str(task.id): task for task in ready_user_tasks(workflow)}
    opened = [_opened(task) for key, task in after.items() if key not in before]
    closed = [
        ClosedTask(key, task.task_spec.bpmn_id or "", task.task_spec.bpmn_name or "", TaskState.get_name(task.state))
        for key, task in before.items()
        if key not in after
    ]
    events = [_event(event) for event in workflow.get_events()]  # drained before dump, or they come back
    return Advance(
        state=dump(workflow),
        opened=opened,
        closed=closed,
        events=events,
        next_timer_at=next_timer_at(workflow),
        is_completed=incident is None and workflow.is_completed(),
        incident=incident,
        data=dict(workflow.data),
    )


def _incident(error: WorkflowException) -> Incident:
    task = getattr(error, "task", None)
    spec = getattr(error, "task_spec", None) or (task.task_spec if task is not None else None)
    bpmn_id = (getattr(spec, "bpmn_id", None) or getattr(spec, "name", "")) if spec is not None else ""
    message = str(error).strip()
    line = getattr(error, "error_line", "")
    if line:
        message = f"{message} [{line}]"
    return Incident(bpmn_id=bpmn_id or "", message=message)


def _opened(task: Task) -> OpenedTask:
    spec = task.task_spec
    properties = dict(spec.extensions.get("properties", {}) or {})
    return OpenedTask(
        task_uuid=str(task.id),
        bpmn_id=spec.bpmn_id or spec.name,
        name=spec.bpmn_name or spec.bpmn_id or spec.name,
        lane=spec.lane or "",
        form=properties.get("form", ""),
        properties=properties,
        data=task.data,
    )


def _event(event: Any) -> EngineEvent:
    definition = event.event_definition
    payload = event.payload if isinstance(event.payload, dict) else {"value": event.payload}
    return EngineEvent(
        kind=type(definition).__name__.replace("EventDefinition", "").lower(),
        name=getattr(definition, "name", "") or "",
        code=str(getattr(definition, "code", "") or ""),
        payload=payload,
    )


def next_timer_at(workflow: BpmnWorkflow) -> datetime | None:
    """When the earliest waiting timer fires; the wake-up runs a second later because Spiff fires on due < now."""
    due_times = []
    for task in workflow.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        definitions = definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]
        if not any(isinstance(item, TimerEventDefinition) for item in definitions):
            continue
        value = task.internal_data.get("event_value")
        if isinstance(value, dict):  # a cycle timer
            value = value.get("next") if value.get("cycles") != 0 else None
        if value:
            due_times.append(TimerEventDefinition.get_datetime(value).astimezone(UTC))
    return min(due_times) + timedelta(seconds=1) if due_times else None


def migrate(workflow: BpmnWorkflow, specs: Specs) -> None:
    """Move a running workflow onto another version's specs; waiting and ready tasks are predicted again."""
    top_diff, sub_diffs = diff_workflow(_registry, workflow, specs[0], specs[1])
    migrate_workflow(top_diff, workflow, specs[0])
    for sub_id, sub_diff in sub_diffs.items():
        if sub_diff is not None:
            subprocess = workflow.subprocesses[sub_id]
            migrate_workflow(sub_diff, subprocess, specs[1][subprocess.spec.name])
    workflow.subprocess_specs = specs[1]


def retry_failed(workflow: BpmnWorkflow) -> None:
    """Put tasks in ERROR back to READY so the next engine pass runs them again."""
    for task in workflow.get_tasks(state=TaskState.ERROR):
        task._set_state(TaskState.READY)
    # A timer whose expression failed stays FUTURE under a completed parent: let it compute its due time again.
    for task in workflow.get_tasks(state=TaskState.FUTURE):
        if task.parent is not None and task.parent.state == TaskState.COMPLETED:
            task._update()
