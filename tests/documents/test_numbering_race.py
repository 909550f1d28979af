"""Fifty clerks taking outgoing numbers at the same instant, each in its own committed transaction (OUT-8): the
register's row lock (PostgreSQL) or the single writer (SQLite, BEGIN IMMEDIATE) keeps the numbers gapless."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.documents.models import OutgoingDocument, OutgoingState, Register
from app.documents.services import take_number
from app.extensions import db as database
from app.org import services as org
from app.org.models import Role
from tests.engine.test_concurrency import run_together  # threads released together by one barrier

CLERKS = 50
YEAR = 2026


@pytest.fixture
def factory(app, committed) -> sessionmaker[Session]:
    """Sessions on the app's own engine: on PostgreSQL its pool (5 + 10 overflow) lets 15 clerks hold a
    connection at once while the others queue for one, as requests do."""
    with app.app_context():
        engine = database.engine
    if engine.dialect.name not in ("postgresql", "sqlite"):
        pytest.skip(
            f"the race is written for PostgreSQL's row lock and SQLite's single writer, not {engine.dialect.name}"
        )
    return sessionmaker(bind=engine)


@pytest.fixture
def agency_and_drafter(committed, clock) -> tuple[int, int]:
    agency = org.create_agency(committed, "000.00.57.H99", "Cơ quan thử", "CQT")
    drafter = org.create_user(committed, agency, "cv.race", "Chuyên viên", "Secret@123", [Role.SPECIALIST])
    ids = agency.id, drafter.id  # read before the commit expires them: reading after would begin a transaction
    committed.commit()  # on SQLite an open transaction holds the write lock
    return ids


def numbering(factory: sessionmaker[Session], agency_id: int, drafter_id: int, clock, *, keeps: Callable[[int], bool]):
    """Each clerk takes the next outgoing number, writes the document with it, then commits or rolls back."""

    def take(index: int) -> int:
        with factory() as session:
            register_id, number = take_number(session, agency_id, "outgoing", YEAR)
            session.add(
                OutgoingDocument(
                    agency_id=agency_id,
                    drafter_id=drafter_id,
                    type_name="Công văn",
                    subject=f"Văn bản của văn thư {index}",
                    state=OutgoingState.PUBLISHED,
                    register_id=register_id,
                    number=number,
                    code_number=f"{number:02d}",
                    code_notation="CQT-VP",
                    created_at=clock.now(),
                )
            )
            session.flush()  # the (register, number) unique constraint would refuse a duplicate here
            if keeps(index):
                session.commit()
            else:
                session.rollback()
            return number

    return take


def stored(committed: Session, agency_id: int) -> tuple[list[int], int]:
    committed.expire_all()
    numbers = committed.scalars(
        select(OutgoingDocument.number).where(OutgoingDocument.agency_id == agency_id).order_by(OutgoingDocument.number)
    ).all()
    register = committed.scalars(
        select(Register).where(Register.agency_id == agency_id, Register.kind == "outgoing", Register.year == YEAR)
    ).one()
    return [number for number in numbers if number is not None], register.next_number


def test_fifty_clerks_at_once_get_the_numbers_1_to_50_without_gap_or_duplicate(
    factory, committed, agency_and_drafter, clock
):
    agency_id, drafter_id = agency_and_drafter
    results = run_together(CLERKS, numbering(factory, agency_id, drafter_id, clock, keeps=lambda _index: True))
    assert all(isinstance(result, int) for result in results), results
    assert sorted(results) == list(range(1, CLERKS + 1))
    numbers, next_number = stored(committed, agency_id)
    assert numbers == list(range(1, CLERKS + 1))
    assert next_number == CLERKS + 1


def test_a_rolled_back_take_leaves_no_gap_among_the_committed_numbers(factory, committed, agency_and_drafter, clock):
    agency_id, drafter_id = agency_and_drafter
    results = run_together(CLERKS, numbering(factory, agency_id, drafter_id, clock, keeps=lambda index: index % 2 == 0))
    assert all(isinstance(result, int) for result in results), results
    kept = CLERKS // 2
    numbers, next_number = stored(committed, agency_id)
    assert numbers == list(range(1, kept + 1))  # the counter's update rolled back with each abandoned take
    assert next_number == kept + 1
