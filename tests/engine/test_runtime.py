"""Running diagrams through load → advance → dump, as every request does."""

from __future__ import annotations

import json

from app import clock
from app.engine import runtime
from tests.engine.conftest import complete


def start(specs, engine, data=None):
    return runtime.advance(
        runtime.new_workflow(specs, data or {}, engine, now=clock.now()), lambda: None, now=clock.now()
    )


def test_a_revision_loop_of_1000_rounds_keeps_running_with_constant_state_size(specs, engine):
    loop = specs("loop.bpmn")
    advance = start(loop, engine, {"document": "x" * 1000, "rounds": 0})
    sizes = []
    for round_number in range(1, 1001):
        advance = complete(
            advance.state, loop, engine, "review", again=round_number < 1000, note=f"round {round_number}"
        )
        sizes.append(len(advance.state))
        if round_number < 1000:
            # SpiffWorkflow alone stalls near round 330 and reports the stalled workflow as completed.
            assert [task.bpmn_id for task in advance.opened] == ["review"], round_number
    assert advance.is_completed
    assert max(sizes[:999]) - min(sizes[:999]) < 200
    final = runtime.load(advance.state, loop, engine)
    assert final.data["rounds"] == 1000
    assert final.data["note"] == "round 1000"
    assert final.data["document"] == "x" * 1000


def test_parallel_branches_wait_for_each_other_across_saves(specs, engine):
    parallel = specs("parallel.bpmn")
    advance = start(parallel, engine)
    assert sorted(task.bpmn_id for task in advance.opened) == ["a", "b1"]
    advance = complete(advance.state, parallel, engine, "b1", from_b1=1)
    assert [task.bpmn_id for task in advance.opened] == ["b2"]
    advance = complete(advance.state, parallel, engine, "b2", from_b2=2)
    assert advance.opened == []  # the join still waits for branch a
    advance = complete(advance.state, parallel, engine, "a", from_a=3)
    assert [task.bpmn_id for task in advance.opened] == ["after"]
    workflow = runtime.load(advance.state, parallel, engine)
    after = runtime.ready_user_tasks(workflow)[0]
    assert {key: after.data[key] for key in ("from_a", "from_b1", "from_b2")} == {
        "from_a": 3,
        "from_b1": 1,
        "from_b2": 2,
    }


def test_state_is_stored_without_the_spec(specs, engine):
    advance = start(specs("loop.bpmn"), engine)
    stored = json.loads(advance.state)
    assert "spec" not in stored and "subprocess_specs" not in stored
    assert stored["format"] == runtime.STATE_FORMAT


def test_state_of_another_serializer_version_is_refused(specs, engine):
    loop = specs("loop.bpmn")
    stored = json.loads(start(loop, engine).state)
    stored["format"] = "spiff-3.1/1.4"
    try:
        runtime.load(json.dumps(stored), loop, engine)
    except ValueError as error:
        assert "serializer version" in str(error)
    else:
        raise AssertionError("an old state format must not load silently")
