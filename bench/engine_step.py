"""Cost of one advance of a looping instance through our stack, against SpiffWorkflow alone.

    .venv/bin/python bench/engine_step.py [--db sqlite|postgres|both] [--rounds 5] [--instances 10]
                                          [--wire] [--profile N] [--write PATH]

For each database and each history length H (1, 10, 100 loop rounds already completed) the script starts
`--instances` instances of a review loop, completes the open task H times in each, then measures
`--rounds` further advances per instance, so a cell holds rounds × instances samples taken at history
H .. H+rounds-1. One advance is `services.complete_task(session, user, uuid, {"again": True}, now=...)`
inside `app.db.transaction()`, timed from before the transaction to after its commit: lock, load,
complete, save, project, log, commit. The user and agency are loaded beforehand (as a request has them)
and each advance starts with an empty session.

The SpiffWorkflow-alone figure is taken at exactly the same history lengths: the full state (spec
included, nothing compacted) is serialized once per length and each sample deserializes it, completes the
ready task, runs do_engine_steps and serializes it again with the library's own serializer. Our advances,
the library's steps and the three history lengths are interleaved so drifting machine load hits all alike.

SQL statements are counted with a `before_cursor_execute` listener on the engine while the advance runs;
BEGIN/COMMIT are counted apart from the engine's `begin`/`commit` events (SQLite's BEGIN IMMEDIATE also goes
through the cursor and is moved to that column), and pool checkouts are counted (PostgreSQL used to run with
pool_pre_ping, one ping per checkout the listener cannot see; app/db.py now checks the socket instead). --wire
lists what libpq actually sends to PostgreSQL for one advance. BENCH_PG_DATABASE names the database it resets
(default "bench").

Sign-off chain (last section): `--instances` instances of bench/signoff_chain.bpmn, a copy of the outgoing
procedure (processes/_default/outgoing.bpmn) without document actions, with a chain of 5 signers built from the
start data and urgency 3 (the cut-off timer never waits). Each runs 10 revision loops (review, format check,
4 approvals, the signer returns it, the unit head passes it back, the drafter prepares it again), then a final
pass that signs and publishes: 98 advances, each `complete_task` by the user the task is for, with the values
its form would give. The instances take each step in turn (rotating order); each figure is the median over the
instances at that step. Printed: the first advance, the median and p95 over the steps, the last advance and
last/first, loop 10 against loop 1 (all their advances), the steps of loop 1, loop 10 and the final pass, the
SQL statements per advance, and whether the last advance stays within 2× the first (and loop 10 within 2× loop 1).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import math
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
# The database the bench resets (BENCH_PG_DATABASE): parallel sessions each use their own.
PG_DATABASE = os.environ.get("BENCH_PG_DATABASE", "bench")
HISTORY_LENGTHS = (1, 10, 100)

LOOP_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="d_loop" targetNamespace="x">
  <bpmn:process id="loop" name="Loop" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_specialist" name="Chuyên viên">
        <bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:flowNodeRef>review</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>count</bpmn:flowNodeRef><bpmn:flowNodeRef>gw</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>e</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="review" name="Review">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="form" value="review"/>
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:scriptTask id="count" name="Count"><bpmn:script>rounds = rounds + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="gw" default="f_done"/><bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="count"/>
    <bpmn:sequenceFlow id="f3" sourceRef="count" targetRef="gw"/>
    <bpmn:sequenceFlow id="f_done" sourceRef="gw" targetRef="e"/>
    <bpmn:sequenceFlow id="f_again" sourceRef="gw" targetRef="review">
      <bpmn:conditionExpression>again</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
  </bpmn:process>
</bpmn:definitions>
"""
REVIEW_FORM = {"title": "Review", "fields": [{"name": "again", "type": "checkbox", "label": "Again"}]}

# ~1 KB of document metadata in the start data (as in the guide's §7.3), plus the loop counter.
META: dict[str, Any] = {
    "so_ky_hieu": "45/QĐ-UBND",
    "subject": "Về việc triển khai kế hoạch chuyển đổi số năm 2025",
    "trich_yeu": "Về việc triển khai kế hoạch chuyển đổi số năm 2025 " * 4,
    "noi_nhan": [f"don_vi_{i}" for i in range(20)],
    "co_quan_ban_hanh": "Ủy ban nhân dân tỉnh",
    "nguoi_ky": "Nguyễn Văn A",
    "chuc_vu_nguoi_ky": "Phó Chủ tịch",
    "ngay_ban_hanh": "2025-03-14",
    "so_trang": 12,
    "do_khan": "Thường",
    "do_mat": "Thường",
    "urgency": 0,
    "ghi_chu": "Đề nghị các đơn vị nghiên cứu, triển khai thực hiện và báo cáo kết quả trước ngày 30/6/2025.",
    "rounds": 0,
}


def ms(seconds: float) -> float:
    return seconds * 1000.0


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


# --- counting SQL -------------------------------------------------------------------------------------


@dataclass
class SqlCounter:
    active: bool = False
    statements: list[str] = field(default_factory=list)
    begins: int = 0
    commits: int = 0
    checkouts: int = 0
    commit_started: float = 0.0

    def install(self, engine: Any) -> None:
        from sqlalchemy import event

        @event.listens_for(engine, "before_cursor_execute")
        def _statement(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if self.active:
                self.statements.append(statement)

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            if self.active:
                self.begins += 1

        @event.listens_for(engine, "commit")
        def _commit(conn: Any) -> None:
            if self.active:
                self.commits += 1
                self.commit_started = time.perf_counter()

        @event.listens_for(engine.pool, "checkout")
        def _checkout(*args: Any) -> None:
            if self.active:
                self.checkouts += 1

    @contextmanager
    def counting(self) -> Iterator[None]:
        self.statements.clear()
        self.begins = self.commits = self.checkouts = 0
        self.commit_started = 0.0
        self.active = True
        try:
            yield
        finally:
            self.active = False

    def sql(self) -> list[str]:
        """Statements other than transaction control (SQLite's BEGIN IMMEDIATE goes through the cursor)."""
        return [s for s in self.statements if s.split(None, 1)[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK")]


def verb(statement: str) -> str:
    words = statement.split()
    head = words[0].upper()
    if head in ("INSERT", "DELETE"):
        return f"{head} {words[2]}"
    if head == "UPDATE":
        return f"UPDATE {words[1]}"
    if head == "SELECT":
        table = words[words.index("FROM") + 1] if "FROM" in words else "?"
        return f"SELECT {table}" + (" FOR UPDATE" if "FOR UPDATE" in statement else "")
    return head


# --- our stack ------------------------------------------------------------------------------------------


@dataclass
class Cell:
    db: str
    history: int
    ours: list[float] = field(default_factory=list)
    ours_cpu: list[float] = field(default_factory=list)
    phases: dict[str, list[float]] = field(default_factory=lambda: {phase: [] for phase in (*PHASES, "commit")})
    spiff: list[float] = field(default_factory=list)
    spiff_cpu: list[float] = field(default_factory=list)
    sql: list[int] = field(default_factory=list)
    tx: list[int] = field(default_factory=list)
    checkouts: list[int] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    our_state_bytes: int = 0
    spiff_state_bytes: int = 0


class Clock:
    """Strictly increasing `now` for the services (one second per call)."""

    def __init__(self) -> None:
        self.current = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.current += timedelta(seconds=1)
        return self.current


PHASES = {
    "lookup": ("app.engine.services", "task_for_user"),  # SELECT open_tasks (may the user act?)
    "lock": ("app.engine.services", "_locked"),  # SELECT process_instances ... FOR UPDATE
    "load": ("app.engine.runtime", "load"),  # JSON → BpmnWorkflow
    "run+dump": ("app.engine.runtime", "advance"),  # complete, engine steps, compact dump
    "record": ("app.engine.services", "_record"),  # projection, history chain, flush (DELETE/INSERT/UPDATE)
}


class EngineTimer:
    """Wraps the functions complete_task looks up through its modules, to split the time of an advance."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(PHASES, 0.0)

    @contextmanager
    def installed(self) -> Iterator[None]:
        import importlib

        originals = []
        for phase, (module_name, name) in PHASES.items():
            module = importlib.import_module(module_name)
            original = getattr(module, name)
            originals.append((module, name, original))
            setattr(module, name, self._timed(phase, original))
        try:
            yield
        finally:
            for module, name, original in originals:
                setattr(module, name, original)

    def _timed(self, phase: str, function: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[phase] += time.perf_counter() - start

        return timed

    def reset(self) -> None:
        self.seconds = dict.fromkeys(PHASES, 0.0)


def reset_postgres() -> str:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,)).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    with psycopg.connect(f"{PG_SERVER}/{PG_DATABASE}", autocommit=True) as connection:
        connection.execute("DROP SCHEMA IF EXISTS public CASCADE")
        connection.execute("CREATE SCHEMA public")
        server = connection.execute("SHOW server_version").fetchone()
        synchronous = connection.execute("SHOW synchronous_commit").fetchone()
    return f"PostgreSQL {server[0] if server else '?'} (synchronous_commit={synchronous[0] if synchronous else '?'})"


class Stack:
    """One app on one database, with an agency, a specialist and the loop deployed."""

    def __init__(self, kind: str, workdir: Path) -> None:
        from flask_migrate import upgrade

        from app import create_app
        from app.db import transaction
        from app.engine import definitions
        from app.extensions import db
        from app.org import services as org
        from app.org.models import Role, User
        from config import TestConfig

        self.kind = kind
        self.clock = Clock()
        self.description = "SQLite (WAL, file in a temp dir)"
        database_url = ""
        if kind == "postgres":
            self.description = reset_postgres()
            database_url = f"{PG_SERVER}/{PG_DATABASE}"
        instance_dir = workdir / f"instance-{kind}"
        self.app = create_app(
            TestConfig,
            INSTANCE_DIR=str(instance_dir),
            DATABASE_URL=database_url,
            REDIS_URL="",
            RQ_QUEUE=f"bench-{uuid.uuid4().hex[:8]}",
            FROZEN_CLOCK="",
        )
        self.context = self.app.app_context()
        self.context.push()
        upgrade(directory=str(ROOT / "migrations"))
        self.db = db
        if kind == "sqlite":
            self.description += f", SQLite {self._sqlite_version()}"
        self.counter = SqlCounter()
        self.counter.install(db.engine)
        self.timer = EngineTimer()

        forms_dir = workdir / "forms"
        self.forms_dir = forms_dir
        (forms_dir / "_default").mkdir(parents=True, exist_ok=True)
        (forms_dir / "_default" / "review.json").write_text(json.dumps(REVIEW_FORM), encoding="utf-8")
        with transaction() as session:
            agency = org.create_agency(session, "000.00.99.H99", "Sở Đo lường", "SĐL")
            user = org.create_user(session, agency, "bench.specialist", "Chuyên viên", "Secret@123", [Role.SPECIALIST])
            definitions.deploy(
                session,
                "loop.bpmn",
                LOOP_BPMN.encode(),
                scope="_default",
                forms_dir=str(forms_dir),
                actor="bench",
                now=self.clock(),
            )
            self.user_id = user.id
            self.agency_id = agency.id
        db.session.remove()
        # The acting user and agency as a request has them: loaded (with role grants) before the advance.
        session = db.session()
        self.user = session.get(User, self.user_id)
        assert self.user is not None
        _ = self.user.roles
        from app.org.models import Agency

        self.agency = session.get(Agency, self.agency_id)
        assert self.agency is not None
        session.expunge_all()
        db.session.remove()
        self.next_key = 0

    def _sqlite_version(self) -> str:
        import sqlite3

        return sqlite3.sqlite_version

    def close(self) -> None:
        self.db.session.remove()
        self.db.engine.dispose()
        self.context.pop()

    def start(self) -> int:
        from app.db import transaction
        from app.engine import services

        self.next_key += 1
        with transaction() as session:
            started = services.start_instance(
                session,
                self.agency,
                "loop",
                business_key=f"bench:{self.next_key}",
                data=dict(META),
                actor="bench",
                now=self.clock(),
            )
            instance_id = started.instance.id
        self.db.session.remove()
        return instance_id

    def open_task(self, instance_id: int) -> str:
        from sqlalchemy import select

        from app.engine.models import OpenTask

        session = self.db.session()
        uuids = list(session.scalars(select(OpenTask.task_uuid).where(OpenTask.instance_id == instance_id)))
        session.rollback()
        self.db.session.remove()
        assert len(uuids) == 1, uuids
        return uuids[0]

    def state_size(self, instance_id: int) -> int:
        from app.engine.models import ProcessInstance

        session = self.db.session()
        instance = session.get(ProcessInstance, instance_id)
        size = len(instance.state.encode()) if instance is not None else 0
        session.rollback()
        self.db.session.remove()
        return size

    def advance(
        self, task_uuid: str, *, user: Any = None, values: dict[str, Any] | None = None
    ) -> tuple[float, float, float]:
        """One advance in one committed transaction: (start, end) by perf_counter and the CPU seconds used.
        By default the specialist completes the loop's review with {"again": True}."""
        from app.db import transaction
        from app.engine import services

        user = self.user if user is None else user
        values = {"again": True} if values is None else values
        now = self.clock()
        cpu = time.process_time()
        start = time.perf_counter()
        with transaction() as session:
            services.complete_task(session, user, task_uuid, values, now=now)
        end = time.perf_counter()
        cpu = time.process_time() - cpu
        self.db.session.remove()  # each request starts with an empty session
        return start, end, cpu

    def measured_advance(self, instance_id: int, cell: Cell) -> None:
        task_uuid = self.open_task(instance_id)
        self.timer.reset()
        with self.timer.installed(), self.counter.counting():
            start, end, cpu = self.advance(task_uuid)
        cell.ours.append(ms(end - start))
        cell.ours_cpu.append(ms(cpu))
        cell.phases["commit"].append(ms(end - self.counter.commit_started))
        for phase, seconds in self.timer.seconds.items():
            cell.phases[phase].append(ms(seconds))
        control = len(self.counter.statements) - len(self.counter.sql())
        cell.sql.append(len(self.counter.sql()))
        cell.tx.append(max(control, self.counter.begins) + self.counter.commits)
        cell.checkouts.append(self.counter.checkouts)
        cell.kinds.update(verb(statement) for statement in self.counter.sql())


def prepare(stack: Stack, history: int, instances: int) -> list[int]:
    ids = [stack.start() for _ in range(instances)]
    for _ in range(history):
        for instance_id in ids:
            stack.advance(stack.open_task(instance_id))
    return ids


# --- SpiffWorkflow alone ----------------------------------------------------------------------------------


class SpiffAlone:
    """The library's own step at a history length: deserialize (spec included) → complete → steps → serialize."""

    def __init__(self) -> None:
        from SpiffWorkflow.bpmn import BpmnWorkflow
        from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
        from SpiffWorkflow.spiff.parser import SpiffBpmnParser
        from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

        parser = SpiffBpmnParser()
        parser.add_bpmn_str(LOOP_BPMN.encode(), filename="loop.bpmn")
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
        self.workflow = BpmnWorkflow(parser.get_spec("loop"), parser.get_subprocess_specs("loop"))
        self.workflow.get_next_task(spec_name="Start").data.update(META)
        self.workflow.do_engine_steps()
        self.rounds = 0

    def advance_to(self, history: int) -> None:
        while self.rounds < history:
            self.step(self.workflow)
            self.rounds += 1

    @staticmethod
    def step(workflow: Any) -> None:
        from SpiffWorkflow.util.task import TaskState

        task = workflow.get_next_task(state=TaskState.READY, manual=True)
        task.set_data(again=True)
        task.run()
        workflow.do_engine_steps()

    def timed_step(self, state: str) -> tuple[float, float]:
        """(wall, CPU) seconds of one step from the serialized state to the serialized result."""
        cpu = time.process_time()
        start = time.perf_counter()
        workflow = self.serializer.deserialize_json(state)
        self.step(workflow)
        self.serializer.serialize_json(workflow)
        return time.perf_counter() - start, time.process_time() - cpu


@dataclass
class Subject:
    """What one cell measures: our instances and the library's serialized states at that history."""

    cell: Cell
    ids: list[int]
    states: list[str]
    alone: SpiffAlone


def prepare_subject(stack: Stack, history: int, rounds: int, instances: int) -> Subject:
    cell = Cell(stack.kind, history)
    ids = prepare(stack, history, instances)
    cell.our_state_bytes = stack.state_size(ids[0])
    alone = SpiffAlone()
    states = []
    for offset in range(rounds):
        alone.advance_to(history + offset)
        states.append(alone.serializer.serialize_json(alone.workflow))
    cell.spiff_state_bytes = len(states[0].encode())
    alone.timed_step(states[0])  # warm
    return Subject(cell, ids, states, alone)


def measure(stack: Stack, subjects: list[Subject], rounds: int) -> None:
    """Interleaved: each of our advances is followed by the library's step at the same history, and the
    history lengths take turns, so drifting machine load hits every figure alike."""
    gc.collect()
    for offset in range(rounds):
        for index in range(len(subjects[0].ids)):
            # Rotate the order so each history length follows each other one equally often (a step of the
            # library at history 100 leaves cold caches and garbage behind for whatever runs next).
            turn = (offset * len(subjects[0].ids) + index) % len(subjects)
            for subject in subjects[turn:] + subjects[:turn]:  # each instance is at its history + offset here
                stack.measured_advance(subject.ids[index], subject.cell)
                wall, cpu = subject.alone.timed_step(subject.states[offset])
                subject.cell.spiff.append(ms(wall))
                subject.cell.spiff_cpu.append(ms(cpu))


# --- sign-off chain ---------------------------------------------------------------------------------------

CHAIN_BPMN = Path(__file__).resolve().with_name("signoff_chain.bpmn")
CHAIN_PROCESS = "signoff_chain"
CHAIN_SIGNERS = 5  # 4 approvals (`approve`, one after another via `step`), then the signer (`sign`)
CHAIN_LOOPS = 10  # revision loops: up the whole chain, the signer returns it, back to the drafter
CHAIN_UNIT = "PTH"


def _decision(title: str, *choices: str) -> dict[str, Any]:
    return {
        "title": title,
        "fields": [
            {"name": "decision", "type": "select", "required": True, "choices": [{"value": c} for c in choices]},
            {"name": "comment", "type": "textarea", "max_length": 2000},
        ],
    }


# The bench's own forms for bench/signoff_chain.bpmn: the fields of forms/_default/outgoing_*.json without their
# `action` (sign, revise, publish) and without file or password fields, so that completing a task is the engine alone.
CHAIN_FORMS: dict[str, dict[str, Any]] = {
    "chain_draft": {
        "title": "Draft",
        "fields": [
            {"name": "type_name", "type": "text"},
            {"name": "subject", "type": "textarea"},
            {"name": "urgency", "type": "select", "choices": [{"value": v} for v in (0, 1, 2, 3)]},
            {"name": "signer", "type": "user"},
            {"name": "reviewers", "type": "user", "multiple": True},
            {"name": "consultees", "type": "user", "multiple": True},
            {"name": "consult_days", "type": "integer"},
        ],
    },
    "chain_comment": {"title": "Comment", "fields": [{"name": "comment", "type": "textarea"}]},
    "chain_prepare": {
        "title": "Prepare",
        "fields": [
            {"name": "consultees", "type": "user", "multiple": True},
            {"name": "consult_days", "type": "integer"},
            {"name": "comment", "type": "textarea"},
        ],
    },
    "chain_review": _decision("Review", "initial", "return"),
    "chain_format": _decision("Format", "ok", "return"),
    "chain_approve": _decision("Approve", "approve", "return"),
    "chain_sign": _decision("Sign", "sign", "return"),
    "chain_pass_back": {"title": "Pass back", "fields": [{"name": "comment", "type": "textarea"}]},
    "chain_publish": {
        "title": "Publish",
        "fields": [
            {"name": "page_amount", "type": "integer"},
            {"name": "receipt_hours", "type": "integer"},
            {"name": "comment", "type": "textarea"},
        ],
    },
}


@dataclass(frozen=True)
class ChainStep:
    loop: int  # 1 … CHAIN_LOOPS, then CHAIN_LOOPS + 1 for the final pass that signs
    step: str  # prepare, review, format_check, approve 1 … 4, sign, pass_back, publish
    bpmn_id: str
    values: dict[str, Any]  # what the task's form would give complete_task


def chain_plan(signers: int = CHAIN_SIGNERS, loops: int = CHAIN_LOOPS) -> list[ChainStep]:
    """Every advance of one instance, in order. The start event is the first draft, so loop 1 begins at review."""
    plan = []
    comment = "Đề nghị bổ sung căn cứ pháp lý và chỉnh sửa trích yếu cho phù hợp. " * 3
    for loop in range(1, loops + 2):
        final = loop == loops + 1
        if loop > 1:
            values = {"consultees": [], "consult_days": 2, "comment": f"Đã tiếp thu, chỉnh sửa (lần {loop - 1})."}
            plan.append(ChainStep(loop, "prepare", "prepare", values))
        plan.append(ChainStep(loop, "review", "review", {"decision": "initial", "comment": ""}))
        plan.append(ChainStep(loop, "format_check", "format_check", {"decision": "ok", "comment": ""}))
        for number in range(1, signers):
            values = {"decision": "approve", "comment": f"Đồng ý, trình tiếp (lần {loop})."}
            plan.append(ChainStep(loop, f"approve {number}", "approve", values))
        if final:
            plan.append(ChainStep(loop, "sign", "sign", {"decision": "sign", "comment": ""}))
            values = {"page_amount": 3, "receipt_hours": 8, "comment": ""}
            plan.append(ChainStep(loop, "publish", "publish", values))
        else:
            plan.append(ChainStep(loop, "sign", "sign", {"decision": "return", "comment": comment}))
            plan.append(ChainStep(loop, "pass_back", "pass_back", {"comment": "Chuyển chuyên viên tiếp thu."}))
    return plan


@dataclass
class ChainPeople:
    drafter: Any
    unit_head: Any
    clerk: Any
    signers: list[Any]  # the chain: reviewers then the signer
    by_id: dict[int, Any]

    def actor(self, bpmn_id: str, assignee_id: int | None) -> Any:
        if assignee_id is not None:
            return self.by_id[assignee_id]
        return {"review": self.unit_head, "pass_back": self.unit_head}.get(bpmn_id, self.clerk)


def setup_chain(stack: Stack, signers: int = CHAIN_SIGNERS) -> ChainPeople:
    """The drafter's unit, its head, a clerk and the chain's leaders in the bench agency; the diagram deployed."""
    from app.db import transaction
    from app.engine import definitions
    from app.org import services as org
    from app.org.models import Agency, Role, Unit, User

    for name, form in CHAIN_FORMS.items():
        (stack.forms_dir / "_default" / f"{name}.json").write_text(json.dumps(form), encoding="utf-8")
    with transaction() as session:
        agency = session.get(Agency, stack.agency_id)
        assert agency is not None
        unit = Unit(agency_id=agency.id, code=CHAIN_UNIT, name="Phòng Tổng hợp")
        session.add(unit)
        session.flush()

        def user(username: str, roles: list[Role], in_unit: bool = False) -> int:
            created = org.create_user(
                session, agency, username, username, "Secret@123", roles, unit=unit if in_unit else None
            )
            return created.id

        ids = [
            user("bench.drafter", [Role.SPECIALIST], in_unit=True),
            user("bench.unit_head", [Role.UNIT_LEADER], in_unit=True),
            user("bench.clerk", [Role.CLERK]),
            *(
                user(f"bench.signer{n}", [Role.DEPUTY_LEADER if n < signers else Role.LEADER])
                for n in range(1, signers + 1)
            ),
        ]
        definitions.deploy(
            session,
            CHAIN_BPMN.name,
            CHAIN_BPMN.read_bytes(),
            scope="_default",
            forms_dir=str(stack.forms_dir),
            actor="bench",
            now=stack.clock(),
        )
    stack.db.session.remove()
    session = stack.db.session()
    users = [session.get(User, user_id) for user_id in ids]
    for loaded in users:
        assert loaded is not None
        _ = loaded.roles  # as a request has them: loaded with their role grants before the advance
    session.expunge_all()
    stack.db.session.remove()
    return ChainPeople(users[0], users[1], users[2], users[3:], {loaded.id: loaded for loaded in users})


def start_chain(stack: Stack, people: ChainPeople) -> int:
    from app.db import transaction
    from app.engine import services

    stack.next_key += 1
    data = {key: value for key, value in META.items() if key != "rounds"}
    data |= {
        "type_name": "Quyết định",
        "urgency": 3,  # Hỏa tốc: the cut-off gateway goes straight on, the next-morning timer never waits
        "secrecy": 0,
        "recipients": [f"000.00.{i:02d}.H99" for i in range(10)],
        "internal_units": [],
        "signer": people.signers[-1].username,
        "reviewers": [signer.username for signer in people.signers[:-1]],
        "consultees": [],
        "consult_days": 2,
        "document_id": stack.next_key,
        "drafter": people.drafter.username,
        "drafter_unit": CHAIN_UNIT,
    }
    with transaction() as session:
        started = services.start_instance(
            session,
            stack.agency,
            CHAIN_PROCESS,
            business_key=f"bench-chain:{stack.next_key}",
            data=data,
            actor=people.drafter.username,
            now=stack.clock(),
        )
        instance_id = started.instance.id
    stack.db.session.remove()
    return instance_id


def chain_task(stack: Stack, instance_id: int) -> tuple[str, str, int | None]:
    """The instance's one open task: (uuid, bpmn_id, assignee id or None for a role task)."""
    from sqlalchemy import select

    from app.engine.models import OpenTask

    session = stack.db.session()
    query = select(OpenTask.task_uuid, OpenTask.bpmn_id, OpenTask.assignee_id).where(
        OpenTask.instance_id == instance_id
    )
    rows = list(session.execute(query))
    session.rollback()
    stack.db.session.remove()
    assert len(rows) == 1, rows
    return rows[0].task_uuid, rows[0].bpmn_id, rows[0].assignee_id


def instance_status(stack: Stack, instance_id: int) -> str:
    from app.engine.models import ProcessInstance

    session = stack.db.session()
    instance = session.get(ProcessInstance, instance_id)
    status = str(instance.status) if instance is not None else "?"
    session.rollback()
    stack.db.session.remove()
    return status


@dataclass
class ChainRun:
    db: str
    instances: int
    plan: list[ChainStep]
    wall: list[list[float]] = field(default_factory=list)  # [position in the plan][instance], ms
    cpu: list[list[float]] = field(default_factory=list)
    sql: list[list[int]] = field(default_factory=list)
    kinds: dict[str, Counter[str]] = field(default_factory=dict)  # statement mix by step name
    state_bytes: dict[int, int] = field(default_factory=dict)  # state size after the last advance of a loop

    def position(self, loop: int, step: str) -> int | None:
        for index, planned in enumerate(self.plan):
            if planned.loop == loop and planned.step == step:
                return index
        return None

    def at(self, loop: int, step: str, *, cpu: bool = False) -> float | None:
        index = self.position(loop, step)
        return median((self.cpu if cpu else self.wall)[index]) if index is not None else None


def drive_chain(stack: Stack, people: ChainPeople, instance_id: int, plan: list[ChainStep]) -> None:
    for planned in plan:
        task_uuid, bpmn_id, assignee_id = chain_task(stack, instance_id)
        assert bpmn_id == planned.bpmn_id, (planned, bpmn_id)
        stack.advance(task_uuid, user=people.actor(bpmn_id, assignee_id), values=planned.values)


def run_chain(stack: Stack, people: ChainPeople, instances: int) -> ChainRun:
    """`instances` instances driven through the plan together: each step is taken in every instance (in a rotating
    order) before the next, so drifting machine load hits every step alike; figures are medians over instances."""
    plan = chain_plan()
    drive_chain(stack, people, start_chain(stack, people), plan)  # warm: this spec, its statements, the users
    run = ChainRun(stack.kind, instances, plan)
    ids = [start_chain(stack, people) for _ in range(instances)]
    gc.collect()
    for index, planned in enumerate(plan):
        walls, cpus, counts = [0.0] * instances, [0.0] * instances, [0] * instances
        turn = index % instances
        for slot in [*range(turn, instances), *range(turn)]:
            task_uuid, bpmn_id, assignee_id = chain_task(stack, ids[slot])
            assert bpmn_id == planned.bpmn_id, (planned, bpmn_id)
            user = people.actor(bpmn_id, assignee_id)
            with stack.counter.counting():
                start, end, cpu = stack.advance(task_uuid, user=user, values=planned.values)
            walls[slot], cpus[slot] = ms(end - start), ms(cpu)
            statements = stack.counter.sql()
            counts[slot] = len(statements)
            run.kinds.setdefault(planned.step, Counter()).update(verb(statement) for statement in statements)
        run.wall.append(walls)
        run.cpu.append(cpus)
        run.sql.append(counts)
        if index + 1 == len(plan) or plan[index + 1].loop != planned.loop:
            run.state_bytes[planned.loop] = stack.state_size(ids[0])
    statuses = {instance_status(stack, instance_id) for instance_id in ids}
    assert statuses == {"completed"}, statuses
    return run


def chain_summary(runs: list[ChainRun]) -> str:
    header = (
        "| db | instances | advances each | first ms | median ms | p95 ms | last ms | last/first "
        "| loop 10 / loop 1 (wall, CPU) | CPU first / last ms | SQL statements | state B loop 1 / 10 / end |"
    )
    lines = [header, "|---|" + "---:|" * (header.count("|") - 2)]
    for run in runs:
        per_step = [median(times) for times in run.wall]
        first, last = per_step[0], per_step[-1]
        lines.append(
            f"| {run.db} | {run.instances} | {len(run.plan)} | {first:.2f} | {median(per_step):.2f} "
            f"| {p95(per_step):.2f} | {last:.2f} | {last / first:.2f}× "
            f"| {chain_loop_ratio(run):.2f}×, {chain_loop_ratio(run, cpu=True):.2f}× "
            f"| {median(run.cpu[0]):.2f} / {median(run.cpu[-1]):.2f} "
            f"| {joined([count for counts in run.sql for count in counts])} "
            f"| {run.state_bytes[1]:,} / {run.state_bytes[CHAIN_LOOPS]:,} / {run.state_bytes[CHAIN_LOOPS + 1]:,} |"
        )
    return "\n".join(lines)


def chain_loop_ratio(run: ChainRun, *, cpu: bool = False) -> float:
    """Median of every advance of loop 10 over that of loop 1, on the steps both loops have (not prepare):
    instances × 8 samples each, steadier than one step's median."""
    samples = run.cpu if cpu else run.wall
    steps = {planned.step for planned in run.plan if planned.loop == 1}

    def of(loop: int) -> list[float]:
        chosen = [i for i, planned in enumerate(run.plan) if planned.loop == loop and planned.step in steps]
        return [value for i in chosen for value in samples[i]]

    return median(of(CHAIN_LOOPS)) / median(of(1))


def chain_steps(runs: list[ChainRun]) -> str:
    header = (
        "| db | step | loop 1 ms | loop 10 ms | loop 10 / loop 1 | loop 10 / first advance | final pass ms "
        "| CPU loop 1 / loop 10 ms | SQL statements |"
    )
    lines = [header, "|---|---|" + "---:|" * (header.count("|") - 3)]
    for run in runs:
        first = median(run.wall[0])
        for step in dict.fromkeys(planned.step for planned in run.plan):
            before, after, final = run.at(1, step), run.at(CHAIN_LOOPS, step), run.at(CHAIN_LOOPS + 1, step)
            counts = [
                count for index, planned in enumerate(run.plan) if planned.step == step for count in run.sql[index]
            ]
            label = "sign (returns; signs in the final pass)" if step == "sign" else step
            lines.append(
                f"| {run.db} | {label} | {_or_dash(before)} | {_or_dash(after)} "
                f"| {_or_dash(after / before if after and before else None, '×')} "
                f"| {_or_dash(after / first if after else None, '×')} | {_or_dash(final)} "
                f"| {_or_dash(run.at(1, step, cpu=True))} / {_or_dash(run.at(CHAIN_LOOPS, step, cpu=True))} "
                f"| {joined(counts)} |"
            )
    return "\n".join(lines)


def _or_dash(value: float | None, unit: str = "") -> str:
    return "–" if value is None else f"{value:.2f}{unit}"


def chain_mix(runs: list[ChainRun]) -> str:
    lines = []
    for run in runs:
        for step, mix in run.kinds.items():
            samples = sum(len(run.sql[index]) for index, planned in enumerate(run.plan) if planned.step == step)
            per_advance = ", ".join(f"{kind} ×{count / samples:g}" for kind, count in sorted(mix.items()))
            lines.append(f"- {run.db}, {step}: {per_advance}")
    return "\n".join(lines)


def chain_target(run: ChainRun) -> str:
    """The ≤ 2× target of one database, with the figures it rests on."""
    first, last = median(run.wall[0]), median(run.wall[-1])
    loop_ratio = chain_loop_ratio(run)
    slowest = max(median(run.wall[i]) for i, planned in enumerate(run.plan) if planned.loop == CHAIN_LOOPS)
    met = last <= 2 * first and loop_ratio <= 2
    return (
        f"- {run.db}: {'met' if met else 'MISSED'}: last advance {last / first:.2f}× the first "
        f"(CPU {median(run.cpu[-1]) / median(run.cpu[0]):.2f}×); loop 10 {loop_ratio:.2f}× loop 1 "
        f"(CPU {chain_loop_ratio(run, cpu=True):.2f}×); slowest step of loop 10 {slowest / first:.2f}× the first"
    )


def chain_report(runs: list[ChainRun]) -> list[str]:
    return [
        "",
        f"Sign-off chain: {CHAIN_SIGNERS} signers × {CHAIN_LOOPS} revision loops ({CHAIN_BPMN.name}, urgency 3; "
        f"each loop goes up the chain — {CHAIN_SIGNERS - 1} approvals, the signer returns it — back to the drafter, "
        "then a final pass signs and publishes; one advance = complete_task in its transaction; each figure is the "
        "median over the instances at that step, whose advances are interleaved; median and p95 are over the steps):",
        "",
        chain_summary(runs),
        "",
        "The steps of loop 1, loop 10 and the final pass (median ms):",
        "",
        chain_steps(runs),
        "",
        "SQL statements per advance by step (before_cursor_execute, excluding BEGIN/COMMIT; an advance also looks up "
        "the assignee or the unit of the task it opens):",
        chain_mix(runs),
        "",
        "Target: the last advance within 2× the first, and loop 10 within 2× loop 1 (all their advances):",
        *(chain_target(run) for run in runs),
    ]


# --- the PostgreSQL wire --------------------------------------------------------------------------------


def wire_trace(stack: Stack, instance_id: int) -> list[str]:
    """Frontend messages libpq sends for one advance (pre-ping, BEGIN and COMMIT included), one line each."""
    from psycopg import pq
    from sqlalchemy import event

    with tempfile.NamedTemporaryFile("w+", prefix="bench-wire-", suffix=".trace") as trace:
        traced: list[Any] = []

        def on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
            if dbapi_connection not in traced:
                traced.append(dbapi_connection)
                dbapi_connection.pgconn.trace(trace.fileno())
                dbapi_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)

        event.listen(stack.db.engine.pool, "checkout", on_checkout)
        try:
            stack.open_task(instance_id)  # starts tracing the pooled connection
            task_uuid = stack.open_task(instance_id)
            trace.flush()
            start = os.path.getsize(trace.name)
            stack.advance(task_uuid)
        finally:
            event.remove(stack.db.engine.pool, "checkout", on_checkout)
            for connection in traced:
                connection.pgconn.untrace()
        trace.seek(start)
        lines = trace.read().splitlines()
    messages = []
    for line in lines:
        parts = line.split("\t")
        if len(parts) >= 4 and parts[0] == "F" and parts[2] in ("Query", "Parse"):
            text = parts[3].strip().removeprefix('"" ').strip('"')  # Parse: unnamed statement "" then the SQL
            messages.append(f"{parts[2]}: {' '.join(text.split()[:6])}")
    return messages


# --- profiling ----------------------------------------------------------------------------------------------


PACKAGES = ("sqlalchemy", "psycopg", "SpiffWorkflow", "RestrictedPython", "flask_sqlalchemy", "json", "uuid")


def _package(filename: str, function: str) -> str:
    """Which component a profiled function belongs to (C builtins by the object they are a method of)."""
    if filename == "~":
        for name, label in (("sqlite3", "sqlite3 (C)"), ("psycopg", "psycopg (C)"), ("json", "json")):
            if name in function:
                return label
        return "builtins"
    if f"{os.sep}app{os.sep}" in filename and "site-packages" not in filename:
        return "app (ours)"
    for name in PACKAGES:
        if f"{os.sep}{name}{os.sep}" in filename:
            return name
    if "engine_step" in filename:
        return "bench"
    return "python stdlib/other"


def profile_advances(stack: Stack, ids: list[int], count: int, top: int = 15) -> str:
    """cProfile over `count` advances: self time by component, then the costliest functions."""
    profiler = cProfile.Profile()
    for index in range(count):
        task_uuid = stack.open_task(ids[index % len(ids)])
        profiler.enable()
        stack.advance(task_uuid)
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    by_package: Counter[str] = Counter()
    total = 0.0
    for (filename, _line, function), (_cc, _nc, self_time, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        by_package[_package(filename, function)] += self_time
        total += self_time
    out.write(f"self time by component (profiled: {1000 * total / count:.2f} ms per advance)\n")
    for package, seconds in by_package.most_common():
        out.write(f"  {package:22} {1000 * seconds / count:6.2f} ms  {100 * seconds / total:5.1f} %\n")
    out.write("\n")
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top + 10)
    return out.getvalue()


# --- report ---------------------------------------------------------------------------------------------------


def joined(values: list[int]) -> str:
    return "/".join(str(value) for value in sorted(set(values)))


def table(cells: list[Cell], rounds: int) -> str:
    header = (
        "| db | history | ours median ms | ours p95 ms | spiff median ms | spiff p95 ms | ours/spiff "
        "| SQL statements | BEGIN+COMMIT | pool checkouts |"
    )
    lines = [header, "|---|" + "---:|" * (header.count("|") - 2)]
    for cell in cells:
        ours, spiff = median(cell.ours), median(cell.spiff)
        lines.append(
            f"| {cell.db} | {cell.history}–{cell.history + rounds - 1} | {ours:.2f} | {p95(cell.ours):.2f} "
            f"| {spiff:.2f} | {p95(cell.spiff):.2f} | {ours / spiff:.2f}× | {joined(cell.sql)} | {joined(cell.tx)} "
            f"| {joined(cell.checkouts)} |"
        )
    return "\n".join(lines)


def breakdown(cells: list[Cell], rounds: int) -> str:
    phases = [*PHASES, "commit"]
    header = (
        "| db | history | ours CPU ms | spiff CPU ms | CPU ours/spiff | "
        + " | ".join(f"{phase} ms" for phase in phases)
        + " | other ms | our state B | spiff state B |"
    )
    lines = [header, "|---|" + "---:|" * (header.count("|") - 2)]
    for cell in cells:
        other = [total - sum(cell.phases[phase][i] for phase in phases) for i, total in enumerate(cell.ours)]
        lines.append(
            f"| {cell.db} | {cell.history}–{cell.history + rounds - 1} | {median(cell.ours_cpu):.2f} "
            f"| {median(cell.spiff_cpu):.2f} | {median(cell.ours_cpu) / median(cell.spiff_cpu):.2f}× | "
            + " | ".join(f"{median(cell.phases[phase]):.2f}" for phase in phases)
            + f" | {median(other):.2f} | {cell.our_state_bytes:,} | {cell.spiff_state_bytes:,} |"
        )
    return "\n".join(lines)


def growth(cells: list[Cell]) -> str:
    lines = [
        "| db | ours @100 / @1 (wall) | ours @100 / @1 (CPU) | spiff alone @100 / @1 (wall) |",
        "|---|---:|---:|---:|",
    ]
    for db_name in dict.fromkeys(cell.db for cell in cells):
        by_history = {cell.history: cell for cell in cells if cell.db == db_name}
        if 1 in by_history and 100 in by_history:
            first, last = by_history[1], by_history[100]
            ours = median(last.ours) / median(first.ours)
            cpu = median(last.ours_cpu) / median(first.ours_cpu)
            spiff = median(last.spiff) / median(first.spiff)
            lines.append(f"| {db_name} | {ours:.2f}× | {cpu:.2f}× | {spiff:.2f}× |")
    return "\n".join(lines)


def statement_mix(cells: list[Cell]) -> str:
    lines = []
    for db_name in dict.fromkeys(cell.db for cell in cells):
        mix: Counter[str] = Counter()
        samples = 0
        for cell in cells:
            if cell.db == db_name:
                mix.update(cell.kinds)
                samples += len(cell.sql)
        per_advance = ", ".join(f"{kind} ×{count / samples:g}" for kind, count in sorted(mix.items()))
        lines.append(f"- {db_name}: {per_advance}")
    return "\n".join(lines)


def machine() -> str:
    import SpiffWorkflow  # noqa: F401
    import sqlalchemy

    from app.engine.runtime import STATE_FORMAT

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"nproc={os.cpu_count()}, {cpu or platform.processor()}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, state format {STATE_FORMAT}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=5, help="measured advances per instance (default 5)")
    parser.add_argument(
        "--instances", type=int, default=10, help="instances per history length and of the sign-off chain (default 10)"
    )
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="cProfile N advances at history 100")
    parser.add_argument("--wire", action="store_true", help="on PostgreSQL, list what one advance sends to the server")
    parser.add_argument("--write", metavar="PATH", help="also write the tables (markdown) to PATH")
    args = parser.parse_args(argv)

    import logging

    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    load_before = os.getloadavg()
    cells: list[Cell] = []
    profiles: dict[str, str] = {}
    wire: list[str] = []
    descriptions: dict[str, str] = {}
    chain_runs: list[ChainRun] = []
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp:
        for kind in kinds:
            stack = Stack(kind, Path(tmp))
            logging.getLogger("alembic").setLevel(logging.WARNING)
            descriptions[kind] = stack.description
            try:
                warm = prepare(stack, 20, 1)  # imports, spec cache, statement caches, the pool
                for _ in range(10):
                    stack.measured_advance(warm[0], Cell(kind, 0))
                subjects = [prepare_subject(stack, history, args.rounds, args.instances) for history in HISTORY_LENGTHS]
                measure(stack, subjects, args.rounds)
                for subject in subjects:
                    cell = subject.cell
                    cells.append(cell)
                    print(
                        f"{kind:8} history {cell.history:3}: ours {median(cell.ours):6.2f} ms, "
                        f"spiff {median(cell.spiff):6.2f} ms, SQL {sorted(set(cell.sql))}",
                        file=sys.stderr,
                    )
                longest = subjects[-1]
                if args.wire and kind == "postgres":
                    wire = wire_trace(stack, longest.ids[0])
                if args.profile:
                    profiles[kind] = profile_advances(stack, longest.ids, args.profile)
                chain = run_chain(stack, setup_chain(stack), args.instances)
                chain_runs.append(chain)
                print(
                    f"{kind:8} sign-off chain: first {median(chain.wall[0]):6.2f} ms, "
                    f"last {median(chain.wall[-1]):6.2f} ms, SQL {sorted({n for row in chain.sql for n in row})}",
                    file=sys.stderr,
                )
            finally:
                stack.close()

    samples = args.rounds * args.instances
    load_after = os.getloadavg()
    report = [
        f"Machine: {machine()}",
        f"Load average (1/5/15 min) before: {'/'.join(f'{x:.2f}' for x in load_before)}, "
        f"after: {'/'.join(f'{x:.2f}' for x in load_after)}",
        *(f"{kind}: {description}" for kind, description in descriptions.items()),
        f"Samples per cell: {samples} ({args.instances} instances × {args.rounds} advances; "
        "history = loop rounds completed before the measured advance)",
        "",
        table(cells, args.rounds),
        "",
        "Where the time goes (medians of each part; CPU = time.process_time of this process, so the database "
        "server's own work and waits for disk are not in it):",
        "",
        breakdown(cells, args.rounds),
        "",
        "Growth from history 1 to history 100:",
        "",
        growth(cells),
        "",
        "SQL statements per advance (before_cursor_execute, excluding BEGIN/COMMIT):",
        statement_mix(cells),
    ]
    if wire:
        report += [
            "",
            f"PostgreSQL wire, one advance (libpq trace): {len(wire)} round trips",
            *(f"    {message}" for message in wire),
        ]
    report += chain_report(chain_runs)
    text = "\n".join(report)
    print(text)
    for kind, profile in profiles.items():
        print(f"\n=== cProfile, {args.profile} advances at history ≥100 on {kind} ===\n{profile}")
    if args.write:
        Path(args.write).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
