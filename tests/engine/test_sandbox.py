"""A designer's script, condition or timer expression cannot leave the sandbox."""

from __future__ import annotations

import pytest

from app import clock
from app.engine.scripting import ScriptContext, environment

ESCAPES = {
    "import": "import os\npid = os.getpid()",
    "dunder import": "m = __import__('os')",
    "open a file": "text = open('/etc/passwd').read()",
    "subclasses": "names = [c.__name__ for c in ().__class__.__base__.__subclasses__()]",
    "globals of a helper": "g = now.__globals__",
    "exec": "exec('x = 1')",
    "format escape": "s = '{0.__class__}'.format(1)",
}


@pytest.fixture
def env():
    return environment(ScriptContext(session=None, agency_id=0, now=clock.now()))


@pytest.mark.parametrize("script", ESCAPES.values(), ids=ESCAPES.keys())
def test_a_script_cannot_import_open_files_or_reach_internals(env, script):
    context = {}
    with pytest.raises((SyntaxError, NameError, ImportError, AttributeError, TypeError, NotImplementedError)):
        env.execute(script, context)
    assert not {"pid", "m", "text", "names", "g", "s"} & context.keys()


def test_a_normal_script_runs_with_helpers_and_loops(env):
    context = {"items": [1, 2, 3]}
    env.execute("total = 0\nfor i, x in enumerate(items):\n    total += x\nlabel = 'n=%s' % len(items)", context)
    assert context["total"] == 6
    assert context["label"] == "n=3"


def test_a_condition_cannot_reach_internals(env):
    with pytest.raises(SyntaxError):
        env.evaluate("().__class__.__base__.__subclasses__()", {})


def test_a_script_mutating_nested_data_does_not_rewrite_the_callers_copy(env):
    record = {"document": {"status": "new"}}
    context = {"record": record}
    env.execute("record['document']['status'] = 'signed'", context)
    assert record == {"document": {"status": "new"}}
    assert context["record"] == {"document": {"status": "signed"}}
