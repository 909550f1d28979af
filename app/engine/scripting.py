"""The restricted environment BPMN scripts, conditions and timer expressions run in, and its helpers."""

from __future__ import annotations

import copy
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from types import CodeType
from typing import Any

from RestrictedPython import (
    compile_restricted_eval,
    compile_restricted_exec,
    limited_builtins,
    safe_builtins,
    utility_builtins,
)
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.errors import N_, InvalidInput
from app.org.models import Role, User
from app.org.roles import role_for_lane
from app.org.services import holders as role_holders
from app.worktime.calendar import WorkCalendar
from app.worktime.services import load_calendar

_INPLACE = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "|=": operator.ior,
    "&=": operator.iand,
}
_BUILTINS = {
    **safe_builtins,
    **limited_builtins,
    **utility_builtins,
    "dict": dict,
    "list": list,
    "set": set,
    "min": min,
    "max": max,
    "sum": sum,
    "sorted": sorted,
    "any": any,
    "all": all,
    "enumerate": enumerate,
    "zip": zip,
}
for _module_name in ("string", "random", "math", "whrandom", "DateTime", "same_type", "test"):
    _BUILTINS.pop(_module_name, None)  # utility_builtins brings whole modules; scripts get named helpers only

_GUARDS: dict[str, Any] = {
    "__builtins__": _BUILTINS,
    "_getattr_": safer_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_write_": full_write_guard,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_inplacevar_": lambda op, x, y: _INPLACE[op](x, y),
}


@lru_cache(maxsize=4096)
def compile_source(source: str, mode: str) -> CodeType:
    """Compile under RestrictedPython (cached by the source text); SyntaxError lists every fault."""
    result = (compile_restricted_exec if mode == "exec" else compile_restricted_eval)(source, "<bpmn>")
    if result.errors:
        raise SyntaxError("; ".join(result.errors))
    assert result.code is not None
    return result.code


class RestrictedEnvironment(TaskDataEnvironment):
    """RestrictedPython for every expression; each script gets private copies of nested values.

    SpiffWorkflow 3.2 shares nested task data between tasks, so a script that mutated a dict in place
    would rewrite the data of tasks already completed (the guide's §3.3); copying first prevents it.
    """

    def __init__(self, helpers: dict[str, Callable[..., Any]]) -> None:
        super().__init__({**_GUARDS, **helpers})

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        namespace = dict(self.globals)
        namespace.update(external_context or {})
        namespace.update(context)
        return eval(compile_source(expression, "eval"), namespace)

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        self.check_for_overwrite(context, external_context or {})
        for key, value in list(context.items()):
            if isinstance(value, dict | list | set):
                context[key] = copy.deepcopy(value)
        context.update(self.globals)
        context.update(external_context or {})
        try:
            exec(compile_source(script, "exec"), context)
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        return True


@dataclass
class ScriptContext:
    """What helpers may know of the world during one advance: the agency, the database, the clock.

    Every helper answer is written to `journal` (stored with the history event), and a replay sets
    `replaying` to that journal: answers that depended on the database then (who held a role, which days
    were holidays) are given back as they were, so the replay takes the same path as the original."""

    session: Session
    agency_id: int
    now: datetime
    _calendar: WorkCalendar | None = field(default=None, repr=False)
    journal: list[list[Any]] = field(default_factory=list)
    replaying: list[list[Any]] | None = None
    outbox: list[dict[str, Any]] = field(default_factory=list)  # notices to deliver once the advance is saved

    def derived(self) -> ScriptContext:
        """A context for expressions outside the workflow (inbox properties): not journaled."""
        return ScriptContext(self.session, self.agency_id, self.now, self._calendar)

    @property
    def calendar(self) -> WorkCalendar:
        if self._calendar is None:  # loaded only when a helper needs it: most advances do not
            self._calendar = load_calendar(self.session)
        return self._calendar


HelperFactory = Callable[[ScriptContext], Callable[..., Any]]
_registered: dict[str, HelperFactory] = {}


def register(name: str, factory: HelperFactory) -> None:
    """Offer a helper from a higher domain to BPMN (called by create_app, so the engine imports no domain)."""
    _registered[name] = factory


def _instant(value: str | None, context: ScriptContext) -> datetime:
    if value is None or value == "":
        return context.now
    return clock.parse_instant(value)


def _day(value: str | None, context: ScriptContext) -> date:
    if value is None or value == "":
        return clock.local(context.now).date()
    return date.fromisoformat(value[:10])


DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def _duration(value: str) -> timedelta:
    match = DURATION.match(str(value))
    if match is None or value in ("P", "PT") or str(value).endswith("T"):
        raise ValueError(f"{value!r} is not a duration such as PT30M, PT2H or P1D")
    days, hours, minutes, seconds = (int(group or 0) for group in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def _role(name: str) -> Role:
    role = role_for_lane(name)
    if role is None:
        raise InvalidInput(N_("Unknown role %(role)s."), role=name)
    return role


def builtin_helpers(context: ScriptContext) -> dict[str, Callable[..., Any]]:
    """Helpers every diagram may call. Values in and out are ISO strings, so task data stays JSON."""
    cal = lambda: context.calendar  # noqa: E731

    def now() -> str:
        return clock.local(context.now).isoformat()

    def today() -> str:
        return clock.local(context.now).date().isoformat()

    def is_working_day(day: str | None = None) -> bool:
        return cal().is_working_day(_day(day, context))

    def add_working_days(start: str | None, days: int) -> str:
        return cal().add_working_days(_day(start, context), int(days)).isoformat()

    def deadline(days: int, start: str | None = None) -> str:
        return cal().deadline(_instant(start, context), int(days)).isoformat()

    def next_working_morning(at: str | None = None, hour: int = 8) -> str:
        return cal().next_working_morning(_instant(at, context), int(hour)).isoformat()

    def after_cutoff(at: str | None = None, cutoff: str = "16:00") -> bool:
        return cal().after_cutoff(_instant(at, context), cutoff)

    def forward_time(at: str | None = None, cutoff: str = "16:00", hour: int = 8) -> str:
        return cal().forward_time(_instant(at, context), cutoff, int(hour)).isoformat()

    def later(duration: str, at: str | None = None) -> str:
        """`at` (or now) plus an ISO 8601 duration ("PT30M", "PT2H", "P1D"), in Vietnam time."""
        return clock.local(_instant(at, context) + _duration(duration)).isoformat()

    def holders(role: str, unit: str | None = None) -> list[str]:
        users = role_holders(context.session, context.agency_id, _role(role), unit)
        return [user.username for user in users]

    def supervisor_of(username: str) -> list[str]:
        """The unit leaders of the person's unit (the clerk's supervisor, for escalations)."""
        user = context.session.scalar(
            select(User).where(User.username == username, User.agency_id == context.agency_id)
        )
        if user is None or user.unit is None:
            return []
        return holders(Role.UNIT_LEADER.value, user.unit.code)

    def notify(recipients: str | list[str], message: str) -> None:
        """Tell people (usernames, or role names, or "role@UNIT") something; delivered after the advance is saved."""
        targets = [recipients] if isinstance(recipients, str) else [str(item) for item in recipients]
        context.outbox.append({"kind": "notice", "to": targets, "message": str(message)[:1000]})

    def first_holder(role: str, unit: str | None = None) -> str:
        names = holders(role, unit)
        if not names:
            raise InvalidInput(N_("No one holds the role %(role)s in unit %(unit)s."), role=role, unit=unit or "-")
        return names[0]

    return {
        "now": now,
        "today": today,
        "is_working_day": is_working_day,
        "add_working_days": add_working_days,
        "deadline": deadline,
        "next_working_morning": next_working_morning,
        "after_cutoff": after_cutoff,
        "forward_time": forward_time,
        "later": later,
        "holders": holders,
        "first_holder": first_holder,
        "supervisor_of": supervisor_of,
        "notify": notify,
    }


def helper_names() -> set[str]:
    """Names a form field or data key must not take (SpiffWorkflow refuses data that shadows a helper)."""
    probe = ScriptContext(session=None, agency_id=0, now=clock.now())  # type: ignore[arg-type]
    return set(builtin_helpers(probe)) | set(_registered)


def script_engine(context: ScriptContext) -> PythonScriptEngine:
    """The engine SpiffWorkflow runs scripts, conditions and timer expressions with during one advance."""
    return PythonScriptEngine(environment=environment(context))


class ReplayDiverged(Exception):
    """A replay asked a helper something the original run did not."""


_REPLAYED_ERRORS: dict[str, type[Exception]] = {"ValueError": ValueError, "TypeError": TypeError}


def _journaled(name: str, helper: Callable[..., Any], context: ScriptContext) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        if context.replaying is not None:
            if not context.replaying or context.replaying[0][0] != name:
                raise ReplayDiverged(f"the replay called {name}, the original did not")
            _name, is_value, answer = context.replaying.pop(0)
            if is_value:
                return answer
            kind, message = answer
            raise _REPLAYED_ERRORS.get(kind, InvalidInput)(message)
        try:
            answer = helper(*args, **kwargs)
        except Exception as error:
            context.journal.append([name, False, [type(error).__name__, str(error)]])
            raise
        context.journal.append([name, True, answer])
        return answer

    return call


def environment(context: ScriptContext) -> RestrictedEnvironment:
    helpers = builtin_helpers(context)
    for name, factory in _registered.items():
        helpers[name] = factory(context)
    return RestrictedEnvironment({name: _journaled(name, helper, context) for name, helper in helpers.items()})
