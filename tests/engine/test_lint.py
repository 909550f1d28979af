"""A broken diagram is refused at deployment with messages naming the element, its line and the fault."""

from __future__ import annotations

import pytest

from app.engine import definitions
from config import ROOT

FORMS = str(ROOT / "tests" / "data" / "forms")
HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="x">
  <bpmn:process id="case" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l" name="{lane}"><bpmn:flowNodeRef>task</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"/>
"""
TASK = """    <bpmn:userTask id="task" name="Task">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="form" value="{form}"/>
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
"""
TAIL = """    <bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


def diagram(middle: str, flows: str, lane: str = "Chuyên viên", form: str = "note") -> bytes:
    return (HEAD.format(lane=lane) + TASK.format(form=form) + middle + flows + TAIL).encode()


SIMPLE_FLOWS = """    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="task"/>
    <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="e"/>
"""


def problems(xml: bytes) -> list[str]:
    _parsed, found = definitions.check("case.bpmn", xml, scope="_default", forms_dir=FORMS)
    return [problem.render() for problem in found]


def test_a_correct_diagram_has_no_problems():
    assert problems(diagram("", SIMPLE_FLOWS)) == []


def test_malformed_xml_names_the_line():
    found = problems(diagram("", SIMPLE_FLOWS)[:-40])
    assert len(found) == 1 and "well-formed" in found[0] and "line" in found[0]


def test_an_unknown_lane_is_named():
    found = problems(diagram("", SIMPLE_FLOWS, lane="Bảo vệ"))
    assert any(p.startswith("task (line") and "Bảo vệ" in p for p in found), found


def test_a_missing_form_is_named():
    found = problems(diagram("", SIMPLE_FLOWS, form="no_such_form"))
    assert any("no_such_form" in p and p.startswith("task") for p in found), found


SCRIPT_FLOWS = """    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="calc"/>
    <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="task"/>
    <bpmn:sequenceFlow id="f3" sourceRef="task" targetRef="e"/>
"""


def test_a_script_that_does_not_compile_is_named():
    found = problems(
        diagram('<bpmn:scriptTask id="calc"><bpmn:script>x = = 1</bpmn:script></bpmn:scriptTask>\n', SCRIPT_FLOWS)
    )
    assert any(p.startswith("calc") and "compile" in p for p in found), found


def test_a_condition_that_does_not_compile_is_named():
    gateway = '<bpmn:exclusiveGateway id="gw" default="f_default"/>\n'
    flows = """    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="gw"/>
    <bpmn:sequenceFlow id="f_default" sourceRef="gw" targetRef="task"/>
    <bpmn:sequenceFlow id="f_x" sourceRef="gw" targetRef="e"><bpmn:conditionExpression>urgency = 3</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="e"/>
"""
    found = problems(diagram(gateway, flows))
    assert any(p.startswith("gw") and "condition" in p for p in found), found


def test_an_exclusive_gateway_without_default_is_refused():
    gateway = '<bpmn:exclusiveGateway id="gw"/>\n'
    flows = """    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="gw"/>
    <bpmn:sequenceFlow id="f_a" sourceRef="gw" targetRef="task"><bpmn:conditionExpression>urgency == 0</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_b" sourceRef="gw" targetRef="e"><bpmn:conditionExpression>urgency &gt; 0</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="e"/>
"""
    found = problems(diagram(gateway, flows))
    assert any(p.startswith("gw") and "default flow" in p for p in found), found


TIMER_FLOWS = """    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="task"/>
    <bpmn:sequenceFlow id="f3" sourceRef="task" targetRef="e"/>
"""


def timer(kind: str, expression: str) -> str:
    return (
        f'<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:{kind}>{expression}'
        f"</bpmn:{kind}></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>\n"
    )


@pytest.mark.parametrize(
    ("kind", "expression", "expected"),
    [
        ("timeDuration", "PT1H", 'Quote the ISO value of the timer: "PT1H"'),
        ("timeDuration", '"1 hour"', "not an ISO 8601"),
        ("timeDuration", "no_such_variable", "no form or script provides"),
        ("timeDate", "next_working_morning(None, 'eight')", "does not evaluate"),
        ("timeCycle", '"R/PT1H"', "must be bounded"),
    ],
)
def test_a_timer_expression_that_does_not_evaluate_is_refused(kind, expression, expected):
    found = problems(diagram(timer(kind, expression), TIMER_FLOWS))
    assert any(p.startswith("wait") and expected in p for p in found), found


@pytest.mark.parametrize(
    ("kind", "expression"),
    [("timeDuration", '"PT30M"'), ("timeDate", "next_working_morning(None, 8)"), ("timeCycle", '"R3/PT1H"')],
)
def test_a_valid_timer_expression_passes(kind, expression):
    assert problems(diagram(timer(kind, expression), TIMER_FLOWS)) == []


def test_every_shipped_diagram_passes_the_linter():
    for source in definitions.source_files(str(ROOT / "processes")):
        _parsed, found = definitions.check(
            source.path.name, source.path.read_bytes(), scope=source.scope, forms_dir=str(ROOT / "forms")
        )
        assert found == [], (source.path, [p.render() for p in found])
