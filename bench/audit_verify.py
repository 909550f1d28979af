"""Events per second of `audit verify` (keyed chains, checkpoint heads) and the cost of a daily checkpoint.

    .venv/bin/python bench/audit_verify.py [--db sqlite|postgres|both] [--instances 20000] [--events 10]
                                           [--runs 3] [--postgres-url URL]

Loads `--instances` instances of `--events` events each (200,000 events by default) into a fresh SQLite file
or the PostgreSQL database of --postgres-url (dropped and migrated), the events chained and keyed by
app.engine.history.chain exactly as an advance writes them, in bulk INSERTs. Then, warm, `--runs` times each:
  verify     app.audit.services.verify_all with no checkpoint (every chain with HMAC-SHA256);
  checkpoint app.audit.services.write_checkpoint (a full verify, then the heads packed, digested and signed);
  anchored   verify_all against that checkpoint (every head compared with the one it signed).
Printed: the median seconds and events/s of each.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/h4"
NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


def reset_postgres(url: str) -> None:
    import psycopg

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def load(instances: int, events_each: int) -> None:
    from sqlalchemy import insert

    from app.engine import history
    from app.engine.models import HistoryEvent, ProcessDefinition, ProcessInstance, ProcessSpec
    from app.extensions import db
    from app.org.models import Agency

    session = db.session()
    agency = Agency(code="000.00.99.H99", name="Sở Đo đạc", abbreviation="SĐĐ")
    spec = ProcessSpec(hash="0" * 64, spec_json="{}")
    session.add_all([agency, spec])
    session.flush()
    definition = ProcessDefinition(
        scope="_default",
        process_key="bench",
        version=1,
        name="bench",
        file_name="bench.bpmn",
        bpmn_xml="",
        forms_json="{}",
        content_hash="0" * 64,
        spec_hash=spec.hash,
        deployed_at=NOW,
        deployed_by="bench",
    )
    session.add(definition)
    session.flush()
    columns = [column.key for column in HistoryEvent.__table__.columns if column.key != "id"]
    batch_instances: list[dict[str, object]] = []
    batch_events: list[dict[str, object]] = []
    for instance_id in range(1, instances + 1):
        instance = ProcessInstance(id=instance_id, event_count=0, last_event_hash="")
        at = NOW - timedelta(days=1, minutes=instance_id)
        new = [
            history.NewEvent(
                "task_completed" if seq else "started",
                actor=f"user{instance_id % 500}",
                task_uuid=str(uuid.UUID(int=instance_id * 100 + seq)),
                bpmn_id="direct",
                task_name="Cho ý kiến chỉ đạo",
                data_after={"directive": "Giao phòng Kinh tế tham mưu", "deadline_days": 3, "round": seq},
            )
            for seq in range(events_each)
        ]
        for row in history.chain(instance, new, at):
            batch_events.append({key: getattr(row, key) for key in columns})
        batch_instances.append(
            {
                "id": instance_id,
                "definition_id": definition.id,
                "spec_hash": spec.hash,
                "agency_id": agency.id,
                "business_key": f"bench:{instance_id}",
                "status": "completed",
                "state": "{}",
                "event_count": instance.event_count,
                "last_event_hash": instance.last_event_hash,
                "started_at": at,
                "updated_at": at,
            }
        )
        if len(batch_events) >= 20_000 or instance_id == instances:
            session.execute(insert(ProcessInstance), batch_instances)
            session.execute(insert(HistoryEvent), batch_events)
            batch_instances, batch_events = [], []
    session.commit()


def measure(url: str, args: argparse.Namespace) -> dict[str, list[float]]:
    from flask_migrate import upgrade

    from app import create_app
    from app.audit import services
    from app.extensions import db
    from config import TestConfig

    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        if url == "sqlite":
            url = "sqlite:///" + str(Path(tmp) / "bench.sqlite3")
        else:
            reset_postgres(url)
        app = create_app(
            TestConfig,
            INSTANCE_DIR=str(Path(tmp) / "instance"),
            DATABASE_URL=url,
            REDIS_URL="",
            RQ_QUEUE=f"bench-{uuid.uuid4().hex[:8]}",
            FROZEN_CLOCK="",
            AUDIT_SECRET=uuid.uuid4().hex + uuid.uuid4().hex,
        )
        times: dict[str, list[float]] = {"verify": [], "checkpoint": [], "anchored": []}
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            logging.getLogger("alembic").setLevel(logging.WARNING)
            started = time.perf_counter()
            load(args.instances, args.events)
            print(f"  loaded {args.instances * args.events:,} events in {time.perf_counter() - started:.1f} s")
            for _ in range(args.runs):
                db.session.remove()
                started = time.perf_counter()
                result = services.verify_all(db.session(), now=NOW)
                times["verify"].append(time.perf_counter() - started)
                # Only the warning that no checkpoint exists yet (the loaded events are days old).
                assert not (result.broken or result.unkeyed_events or result.checkpoint_problems), result
                assert result.events == args.instances * args.events
            for run in range(args.runs):
                db.session.remove()
                started = time.perf_counter()
                services.write_checkpoint(db.session(), now=NOW + timedelta(seconds=run))
                db.session.commit()
                times["checkpoint"].append(time.perf_counter() - started)
            for _ in range(args.runs):
                db.session.remove()
                started = time.perf_counter()
                result = services.verify_all(db.session(), now=NOW + timedelta(hours=1))
                times["anchored"].append(time.perf_counter() - started)
                assert result.is_clean and result.checkpoint is not None, result
            db.session.remove()
            db.engine.dispose()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--instances", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=10, help="events per instance")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres-url", default=PG_DEFAULT, help="dropped and recreated")
    args = parser.parse_args(argv)
    total = args.instances * args.events
    targets = {"sqlite": ["sqlite"], "postgres": [args.postgres_url], "both": ["sqlite", args.postgres_url]}[args.db]
    for url in targets:
        print(f"{'SQLite' if url == 'sqlite' else 'PostgreSQL'}: {args.instances:,} instances × {args.events} events")
        times = measure(url, args)
        for case, samples in times.items():
            median = statistics.median(samples)
            print(f"  {case:<10} {median:7.2f} s  {total / median:>10,.0f} events/s  (runs: {len(samples)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
