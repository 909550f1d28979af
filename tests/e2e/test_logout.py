"""Logging out in a real browser: the header's button posts the form with its CSRF token, and a cookie copied
into another browser before it stops working (issue 12, hole 4)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import CHROMIUM, People
from tests.e2e.test_incoming_flow import log_in

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)

pytestmark = pytest.mark.e2e

LOGIN = re.compile(r"/org/login(\?.*)?$")


def test_the_logout_button_ends_the_session_for_every_copy_of_the_cookie(open_page, people: People) -> None:
    clerk = open_page()
    log_in(clerk, people.clerk)
    expect(clerk).to_have_url(re.compile(r"/inbox/$"))
    stolen = [cookie for cookie in clerk.context.cookies() if cookie["name"] == "session"]
    assert stolen

    thief = open_page()
    thief.context.add_cookies(stolen)
    thief.goto("/inbox/")
    expect(thief).to_have_url(re.compile(r"/inbox/$"))

    clerk.goto("/org/logout")  # an old bookmark only asks
    clerk.goto("/inbox/")
    expect(clerk).to_have_url(re.compile(r"/inbox/$"))

    clerk.click("header form.logout button")
    expect(clerk).to_have_url(LOGIN)
    clerk.goto("/inbox/")
    expect(clerk).to_have_url(LOGIN)

    thief.goto("/inbox/")
    expect(thief).to_have_url(LOGIN)
