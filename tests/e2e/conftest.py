"""Browser fixtures: the app served by werkzeug on a free port, Debian's chromium driven by Playwright,
one browser context per person (closed after the test), and the people of one agency, really committed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from sqlalchemy.orm import Session

from app.org import services as org
from app.org.models import Role, Unit
from tests.conftest import PASSWORD, serve

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def live_server(app: Flask) -> Iterator[str]:
    """The app on 127.0.0.1 and a free port, served by a threaded werkzeug server in a daemon thread."""
    with serve(app, "e2e-live-server") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def open_page(browser: Browser, live_server: str) -> Iterator[Callable[..., Page]]:
    """A page in a fresh browser context (its own cookies: one person), desktop-sized unless told."""
    contexts: list[BrowserContext] = []

    def open_(viewport: dict[str, int] | None = None, *, mobile: bool = False) -> Page:
        context = browser.new_context(
            base_url=live_server,
            viewport=viewport or DESKTOP,
            is_mobile=mobile,
            has_touch=mobile,
            locale="vi-VN",
            timezone_id="Asia/Ho_Chi_Minh",
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


@dataclass(frozen=True)
class People:
    agency_id: int
    clerk: str
    leader: str
    specialist: str
    specialist_name: str
    newcomer: str


@pytest.fixture
def people(committed: Session) -> People:
    """One agency (default routing) with a clerk, a leader and a specialist who have chosen their passwords,
    and a newcomer who still has the initial one; committed, so the served app sees them."""
    agency = org.create_agency(committed, "000.00.10.H99", "Sở Thử nghiệm trình duyệt", "STN")
    units = {code: Unit(agency_id=agency.id, code=code, name=f"Phòng {code}") for code in ("VP", "KT")}
    committed.add_all(units.values())
    committed.flush()
    clerk = org.create_user(committed, agency, "e2e.clerk", "Văn thư Một", PASSWORD, [Role.CLERK], unit=units["VP"])
    leader = org.create_user(committed, agency, "e2e.leader", "Lãnh đạo Hai", PASSWORD, [Role.LEADER])
    specialist = org.create_user(
        committed, agency, "e2e.specialist", "Chuyên viên Ba", PASSWORD, [Role.SPECIALIST], unit=units["KT"]
    )
    newcomer = org.create_user(committed, agency, "e2e.newcomer", "Người mới", PASSWORD, [Role.SPECIALIST])
    for user in (clerk, leader, specialist):
        user.must_change_password = False
    result = People(
        agency.id, clerk.username, leader.username, specialist.username, specialist.full_name, newcomer.username
    )
    committed.commit()
    # Release the connection: on SQLite a transaction begun by touching an expired object would be a
    # BEGIN IMMEDIATE that keeps the served app's writes waiting.
    committed.close()
    return result
