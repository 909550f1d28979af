"""Engine test helpers: parse a diagram of tests/data/bpmn and run it without a database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app import clock as app_clock
from app.engine import runtime
from app.engine.lint import lint
from app.engine.results import Advance
from app.engine.scripting import ScriptContext, script_engine
from config import ROOT


@pytest.fixture
def specs() -> Callable[[str], runtime.Specs]:
    runtime.install()

    def parse(name: str) -> runtime.Specs:
        xml = (ROOT / "tests" / "data" / "bpmn" / name).read_bytes()
        parsed, _problems = lint(name, xml, lambda form: {"title": "t", "fields": []}, set())
        assert parsed is not None
        return parsed.spec, parsed.subprocess_specs

    return parse


@pytest.fixture
def engine() -> Any:
    return script_engine(ScriptContext(session=None, agency_id=0, now=app_clock.now()))  # type: ignore[arg-type]


def complete(state: str, specs: runtime.Specs, engine: Any, bpmn_id: str, **data: Any) -> Advance:
    """Load the stored state, complete the ready user task `bpmn_id` with `data`, return the new advance."""
    workflow = runtime.load(state, specs, engine)
    task = next(t for t in runtime.ready_user_tasks(workflow) if t.task_spec.bpmn_id == bpmn_id)

    def act() -> None:
        task.set_data(**data)
        task.run()

    return runtime.advance(workflow, act, now=app_clock.now())
