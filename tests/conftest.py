"""Fixtures: the app on SQLite or PostgreSQL (DATABASE_URL), embedded or server Redis (REDIS_URL),
a rolled-back session per test, a committed database for concurrency and browser tests, a frozen
clock, factories and a CSRF-aware web client."""

from __future__ import annotations

import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import text
from sqlalchemy.orm import Session, scoped_session, sessionmaker
from werkzeug.serving import make_server

from app import clock as app_clock
from app import create_app
from app.db import install_session_hooks, transaction
from app.engine import definitions
from app.extensions import db as database
from app.org import services as org
from app.org.models import Agency, Role, Unit, User
from config import ROOT, TestConfig

PASSWORD = "Secret@123"
BASE_TABLES = {"process_specs", "process_definitions", "alembic_version"}


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine

    from config import database_uri

    engine = create_engine(database_uri({"DATABASE_URL": url, "INSTANCE_DIR": ""}))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _compile_translations() -> None:
    """The suite asserts Vietnamese pages: compile the catalogue when `make` has not (pytest run alone)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in (ROOT / "app" / "translations").glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as source, mo.open("wb") as target:
                write_mo(target, read_po(source))


@contextmanager
def serve(app: Flask, name: str) -> Iterator[str]:
    """The app on 127.0.0.1 and a free port, served by a threaded werkzeug server in a daemon thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    _compile_translations()
    instance = tmp_path_factory.mktemp("instance")
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url:
        _reset_postgres(database_url)
    application = create_app(
        TestConfig,
        INSTANCE_DIR=str(instance),
        DATABASE_URL=database_url,
        REDIS_URL=os.environ.get("REDIS_URL", ""),
        RQ_QUEUE=f"test-{uuid.uuid4().hex[:8]}",
        FROZEN_CLOCK="",
    )
    with application.app_context():
        from flask_migrate import upgrade

        upgrade(directory=str(ROOT / "migrations"))
        with transaction() as session:
            definitions.sync(
                session,
                processes_dir=str(ROOT / "processes"),
                forms_dir=str(ROOT / "forms"),
                actor="tests",
                now=app_clock.now(),
            )
    yield application
    with application.app_context():
        database.session.remove()
        database.engine.dispose()
    from app import jobs

    jobs.stop_embedded()  # the embedded redis-server is a daemon: it outlives the tests unless stopped


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    """The test's session; every request and job of the test shares its connection, and each of their
    commits is a savepoint inside one outer transaction that is rolled back after the test.

    No app context stays pushed during the test: each request then gets its own `g` (CSRF token,
    logged-in user) as it does in production."""
    with app.app_context():
        connection = database.engine.connect()
    outer = connection.begin()
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
    install_session_hooks(factory)
    original = database.session
    database.session = scoped_session(factory, scopefunc=_app_ctx_id)
    session = factory()
    try:
        yield session
    finally:
        session.close()
        database.session = original
        outer.rollback()
        connection.close()


@pytest.fixture
def committed(app: Flask) -> Iterator[Session]:
    """Real commits (for concurrent transactions, worker processes, the browser); every row removed after."""
    with app.app_context():
        engine = database.engine
    session = sessionmaker(bind=engine)()
    try:
        yield session
    finally:
        session.close()
        tables = [t for t in reversed(database.metadata.sorted_tables) if t.name not in BASE_TABLES]
        with engine.begin() as connection:
            for table in tables:
                connection.execute(table.delete())


@pytest.fixture
def clock() -> Iterator[Any]:
    """The app clock frozen on a Wednesday morning in Vietnam; tests move it with clock.freeze/advance."""
    app_clock.freeze("2026-11-25T09:00:00+07:00")
    yield app_clock
    app_clock.unfreeze()


@pytest.fixture
def make_agency(db: Session) -> Callable[..., Agency]:
    counter = iter(range(10, 99))

    def make(code: str | None = None, name: str = "Sở Thử nghiệm", units: tuple[str, ...] = ("VP", "KT")) -> Agency:
        session = db
        agency = org.create_agency(session, code or f"000.00.{next(counter)}.H99", name, "STN")
        for unit_code in units:
            session.add(Unit(agency_id=agency.id, code=unit_code, name=f"Phòng {unit_code}"))
        session.commit()  # a savepoint: requests of the test see it
        return agency

    return make


@pytest.fixture
def make_user(db: Session) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(agency: Agency, *roles: Role, unit: str | None = None, username: str | None = None) -> User:
        session = db
        unit_row = next((u for u in agency.units if u.code == unit), None) if unit else None
        if unit and unit_row is None:
            session.refresh(agency)
            unit_row = next(u for u in agency.units if u.code == unit)
        user = org.create_user(
            session,
            agency,
            username or f"user{next(counter)}.{roles[0].value if roles else 'none'}",
            f"Người dùng {roles[0].value if roles else ''}",
            PASSWORD,
            roles,
            unit=unit_row,
        )
        user.must_change_password = False
        session.commit()
        return user

    return make


class WebClient:
    """The Flask test client used like a browser: every form post carries the page's CSRF token."""

    TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, **kwargs)

    def token(self, page_url: str) -> str:
        html = self.client.get(page_url).get_data(as_text=True)
        match = self.TOKEN.search(html)
        assert match, f"no CSRF token on {page_url}"
        return match.group(1)

    def post(self, url: str, data: dict[str, Any] | None = None, *, page: str | None = None, **kwargs: Any) -> Any:
        form = dict(data or {})
        form.setdefault("csrf_token", self.token(page or url))
        return self.client.post(url, data=form, **kwargs)

    def login(self, username: str, password: str = PASSWORD, **kwargs: Any) -> Any:
        return self.post("/org/login", {"username": username, "password": password}, **kwargs)


@pytest.fixture
def web(app: Flask) -> WebClient:
    from app import ratelimits

    ratelimits.reset(app)  # failed logins counted by earlier tests (same names, same address) are forgotten
    return WebClient(app.test_client())


@pytest.fixture
def login_as(app: Flask) -> Callable[[User], WebClient]:
    def login(user: User) -> WebClient:
        client = WebClient(app.test_client())
        response = client.login(user.username)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return login


@pytest.fixture
def bpmn_case() -> Callable[[str], Path]:
    def path(name: str) -> Path:
        return ROOT / "tests" / "data" / "bpmn" / name

    return path
