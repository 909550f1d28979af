"""Checks a BPMN file before it is deployed; every problem names the element, its line and the fault."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser

from app import clock
from app.engine import forms as form_defs
from app.engine.scripting import ScriptContext, compile_source, environment
from app.errors import N_
from app.org.roles import role_for_lane
from app.worktime.calendar import WorkCalendar

EXPRESSION_PROPERTIES = ("assignee", "unit", "due", "priority", "title")
BOUNDED_CYCLE = re.compile(r"^R\d+/")


@dataclass(frozen=True)
class Problem:
    element: str
    message: str  # untranslated, with %(name)s parameters
    params: dict[str, Any] = field(default_factory=dict)
    line: int | None = None

    def render(self, translate: Callable[..., str] = lambda message, **params: message % params) -> str:
        where = f"{self.element}" + (f" (line {self.line})" if self.line else "")
        return f"{where}: {translate(self.message, **self.params)}"


@dataclass
class Parsed:
    process_key: str
    name: str
    spec: Any
    subprocess_specs: dict[str, Any]
    forms: dict[str, dict[str, Any]]


FormLoader = Callable[[str], dict[str, Any] | None]


def lint(file_name: str, xml: bytes, load_form: FormLoader, reserved: set[str]) -> tuple[Parsed | None, list[Problem]]:
    """Parse and check one BPMN file; the result is usable only when the problem list is empty."""
    try:
        tree = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as error:
        return None, [
            Problem(file_name, N_("The file is not well-formed XML: %(error)s"), {"error": error.msg}, error.lineno)
        ]

    def line_of(element_id: str) -> int | None:
        hits = tree.xpath("//*[@id=$id]", id=element_id) if element_id else []
        return hits[0].sourceline if hits else None

    parser = SpiffBpmnParser(validator=VALIDATOR)
    process_key = Path(file_name).stem
    try:
        parser.add_bpmn_str(xml, filename=file_name)
        ids = parser.get_process_ids()
        if process_key not in ids:
            executable = tree.xpath("//*[local-name()='process'][@isExecutable='true']/@id")
            if len(executable) != 1:
                return None, [
                    Problem(
                        file_name,
                        N_("Name the file after its main process id (one of %(ids)s)."),
                        {"ids": ", ".join(ids)},
                    )
                ]
            process_key = str(executable[0])
        spec = parser.get_spec(process_key)
        subprocess_specs = parser.get_subprocess_specs(process_key)
    except ValidationException as error:
        line = error.line_number or line_of(error.id)
        return None, [
            Problem(error.id or file_name, N_("Invalid BPMN: %(error)s"), {"error": str(error).strip()}, line or None)
        ]
    except (SpiffWorkflowException, etree.LxmlError, ValueError, KeyError) as error:
        return None, [Problem(file_name, N_("Invalid BPMN: %(error)s"), {"error": str(error).strip()})]

    problems: list[Problem] = []
    forms: dict[str, dict[str, Any]] = {}
    known_names: set[str] = set()
    all_specs = [spec, *subprocess_specs.values()]
    for process in all_specs:
        for task_spec in process.task_specs.values():
            problems += _check_form(task_spec, load_form, reserved, forms, known_names)
    for process in all_specs:
        for task_spec in process.task_specs.values():
            known_names |= _assigned_names(task_spec)
    for process in all_specs:
        for task_spec in process.task_specs.values():
            problems += _check_task(task_spec, known_names, forms)
    problems += _check_gateways(tree)
    problems = [Problem(p.element, p.message, p.params, p.line or line_of(p.element)) for p in problems]
    name = str(tree.xpath("string(//*[local-name()='process'][@id=$id]/@name)", id=process_key)) or process_key
    return Parsed(process_key, name, spec, subprocess_specs, forms), problems


def _element(task_spec: Any) -> str:
    return str(task_spec.bpmn_id or task_spec.name)


def _properties(task_spec: Any) -> dict[str, str]:
    return dict((getattr(task_spec, "extensions", None) or {}).get("properties", {}) or {})


def _check_form(
    task_spec: Any, load_form: FormLoader, reserved: set[str], forms: dict[str, dict[str, Any]], names: set[str]
) -> list[Problem]:
    element, properties = _element(task_spec), _properties(task_spec)
    form_name = properties.get("form")
    is_user_task = bool(getattr(task_spec, "manual", False))
    if not form_name:
        return [Problem(element, N_("The user task names no form (property 'form')."))] if is_user_task else []
    if form_name not in forms:
        definition = load_form(form_name)
        if definition is None:
            return [Problem(element, N_("The form %(form)s does not exist in forms/."), {"form": form_name})]
        faults = form_defs.definition_problems(definition, reserved)
        if faults:
            return [
                Problem(element, N_("The form %(form)s is invalid: %(fault)s"), {"form": form_name, "fault": fault})
                for fault in faults
            ]
        forms[form_name] = definition
    names.update(field["name"] for field in forms[form_name]["fields"])
    return []


def _assigned_names(task_spec: Any) -> set[str]:
    names: set[str] = set()
    for source in _scripts(task_spec):
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    for attribute in ("input_item", "output_item"):
        item = getattr(task_spec, attribute, None)
        if item is not None:
            names.add(str(getattr(item, "bpmn_id", None) or getattr(item, "name", "")))
    return names


def _scripts(task_spec: Any) -> list[str]:
    return [source for source in (getattr(task_spec, a, None) for a in ("script", "prescript", "postscript")) if source]


def _check_task(task_spec: Any, known_names: set[str], forms: dict[str, dict[str, Any]]) -> list[Problem]:
    element, properties = _element(task_spec), _properties(task_spec)
    problems = []
    for source in _scripts(task_spec):
        problems += _compiles(element, source, "exec", N_("The script does not compile: %(error)s"))
    for condition, _target in getattr(task_spec, "cond_task_specs", []) or []:
        expression = getattr(condition, "args", [None])[0] if condition is not None else None
        if isinstance(expression, str):
            problems += _compiles(element, expression, "eval", N_("A condition does not compile: %(error)s"))
    for attribute in ("cardinality", "condition"):
        expression = getattr(task_spec, attribute, None)
        if isinstance(expression, str):
            problems += _compiles(element, expression, "eval", N_("An expression does not compile: %(error)s"))
    for key in EXPRESSION_PROPERTIES:
        if properties.get(key):
            problems += _compiles(
                element, properties[key], "eval", N_("The property %(key)s does not compile: %(error)s"), key=key
            )
    if getattr(task_spec, "manual", False) and not isinstance(task_spec, StartEvent):
        lane = task_spec.lane
        if lane and role_for_lane(lane) is None:
            problems.append(Problem(element, N_("The lane %(lane)s names no known role."), {"lane": lane}))
        if not lane and not properties.get("assignee"):
            problems.append(Problem(element, N_("The user task has neither a lane nor an assignee expression.")))
    definition = getattr(task_spec, "event_definition", None)
    if isinstance(definition, TimerEventDefinition):
        problems += _check_timer(element, definition, known_names)
    return problems


def _compiles(element: str, source: str, mode: str, message: str, **params: Any) -> list[Problem]:
    try:
        compile_source(source, mode)
    except SyntaxError as error:
        return [Problem(element, message, {**params, "error": str(error)})]
    return []


def _check_timer(element: str, definition: TimerEventDefinition, known_names: set[str]) -> list[Problem]:
    expression = (definition.expression or "").strip()
    problems = _compiles(element, expression, "eval", N_("The timer expression does not compile: %(error)s"))
    if problems:
        if re.match(r"^(P|R\d*/|\d{4}-)", expression):
            return [Problem(element, N_('Quote the ISO value of the timer: "%(value)s".'), {"value": expression})]
        return problems
    # Lint without a database: statutory holidays only, no agency (role look-ups fail, as they should here).
    context = ScriptContext(session=None, agency_id=0, now=clock.now(), _calendar=WorkCalendar())  # type: ignore[arg-type]
    env = environment(context)
    try:
        value = env.evaluate(expression, {})
    except NameError as error:
        missing = str(error).split("'")[1] if "'" in str(error) else ""
        if re.match(r"^(P|R\d*/|\d{4}-)", expression):
            return [Problem(element, N_('Quote the ISO value of the timer: "%(value)s".'), {"value": expression})]
        if missing in known_names:
            return []  # depends on data a form or script provides: checked when it runs
        return [
            Problem(
                element, N_("The timer expression uses %(name)s, which no form or script provides."), {"name": missing}
            )
        ]
    except Exception as error:
        return [
            Problem(
                element,
                N_("The timer expression does not evaluate: %(error)s"),
                {"error": f"{type(error).__name__}: {error}"},
            )
        ]
    try:
        if isinstance(definition, CycleTimerEventDefinition):
            if not BOUNDED_CYCLE.match(str(value)):
                return [
                    Problem(
                        element,
                        N_('A repeating timer must be bounded, e.g. "R5/PT1H", not %(value)s.'),
                        {"value": value},
                    )
                ]
            TimerEventDefinition.parse_iso_recurring_interval(str(value))
        else:
            TimerEventDefinition.parse_time_or_duration(str(value))
    except Exception:
        return [
            Problem(
                element, N_("The timer value %(value)s is not an ISO 8601 date, duration or cycle."), {"value": value}
            )
        ]
    return []


def _check_gateways(tree: Any) -> list[Problem]:
    problems = []
    for gateway in tree.xpath("//*[local-name()='exclusiveGateway']"):
        outgoing = tree.xpath("//*[local-name()='sequenceFlow'][@sourceRef=$id]", id=gateway.get("id"))
        if len(outgoing) > 1 and not gateway.get("default"):
            problems.append(
                Problem(gateway.get("id"), N_("The exclusive gateway has no default flow."), line=gateway.sourceline)
            )
    return problems
