"""An in-memory database holding only the calendar table, without the Flask app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy
from sqlalchemy.orm import Session

from app.db import Base
from app.worktime.models import CalendarDay


@pytest.fixture
def session() -> Iterator[Session]:
    engine = sqlalchemy.create_engine("sqlite://")
    Base.metadata.create_all(engine, tables=[Base.metadata.tables[CalendarDay.__tablename__]])
    with Session(engine) as session:
        yield session
    engine.dispose()
