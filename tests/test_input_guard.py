"""Input no database or document can hold is refused with a Vietnamese message, never a 500: NUL and other
control characters in any query-string or form value, ids beyond an integer column, pages, dates, sorts and
search words that do not parse — on SQLite and PostgreSQL alike."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.input_guard import MAX_ID, parse_id
from app.org.models import Delegation, Role
from tests.conftest import WebClient

REFUSED = "Yêu cầu có ký tự không lưu được"
EVERY_ROLE = (Role.CLERK, Role.LEADER, Role.ADMIN, Role.DESIGNER, Role.AUDITOR, Role.SPECIALIST)


@pytest.fixture
def everyone(make_agency, make_user, login_as) -> WebClient:
    """A user holding every role of a top agency: every page is open to them."""
    agency = make_agency(units=("VP",))
    make_user(agency, Role.LEADER, unit="VP", username="other.leader")
    return login_as(make_user(agency, *EVERY_ROLE, unit="VP", username="all.roles"))


def get_routes(app: Flask) -> Iterator[tuple[str, dict[str, str]]]:
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.endpoint != "static":
            yield rule.rule, {name: type(converter).__name__ for name, converter in rule._converters.items()}


def test_a_nul_in_the_search_box_is_refused_in_vietnamese(everyone):
    response = everyone.get("/documents/incoming?q=%00")
    assert response.status_code == 400
    assert REFUSED in response.get_data(as_text=True)


@pytest.mark.parametrize("value", ["%00", "a%00b", "%01", "%1B%5B31m", "%EF%BF%BE", "%0C"])
def test_every_page_refuses_control_characters_in_the_query_string(app, everyone, value):
    for rule, converters in get_routes(app):
        if converters:
            continue
        for query in (f"q={value}", f"page={value}", f"{value}=1", f"next={value}&year={value}"):
            response = everyone.get(f"{rule}?{query}")
            assert response.status_code == 400, (rule, query, response.status_code)
            assert REFUSED in response.get_data(as_text=True)


def test_a_nul_in_a_form_field_is_refused_and_nothing_is_written(db, clock, everyone):
    page = "/org/delegations"
    response = everyone.post(
        page, {"delegate": "other.leader\x00", "starts_on": "2026-12-01", "ends_on": "2026-12-02"}, page=page
    )
    assert response.status_code == 400
    assert REFUSED in response.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Delegation)) == 0
    # The same form without the NUL goes through: the guard refused the character, not the request.
    response = everyone.post(page, {"delegate": "other.leader", "starts_on": "2026-12-01", "ends_on": "2026-12-02"})
    assert response.status_code == 302
    assert db.scalar(select(func.count()).select_from(Delegation)) == 1


def test_a_nul_in_a_path_segment_is_refused(everyone):
    response = everyone.get("/inbox/tasks/abc%00def")
    assert response.status_code == 400
    assert REFUSED in response.get_data(as_text=True)


def test_a_json_client_reads_the_refusal_as_json(everyone):
    response = everyone.get("/documents/incoming?q=%00", headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert REFUSED in response.get_json()["error"]


@pytest.mark.parametrize("number", [2**70, 2**63, 2**31, MAX_ID + 1, 10**30])
def test_ids_beyond_an_integer_column_are_not_found(app, everyone, number):
    for rule, converters in get_routes(app):
        if "IdConverter" not in converters.values():
            continue
        url = rule
        for name in converters:
            url = url.replace(f"<int:{name}>", str(number)).replace(f"<{name}>", "x")
        response = everyone.get(url)
        assert response.status_code == 404, (url, response.status_code)


def test_the_largest_id_is_looked_up_and_not_found(app, everyone):
    for rule, converters in get_routes(app):
        if "IdConverter" not in converters.values():
            continue
        url = re.sub(r"<int:\w+>", str(MAX_ID), rule)
        url = re.sub(r"<\w+>", "x", url)
        response = everyone.get(url)
        assert response.status_code in (403, 404), (url, response.status_code)


def test_a_post_to_an_overflowing_id_is_not_found(everyone):
    for url in (
        f"/documents/incoming/{2**70}/paper",
        f"/designer/incidents/{2**64}/retry",
        "/org/delegations/-1/revoke",
    ):
        response = everyone.client.post(url, data={})
        assert response.status_code == 404, url


@pytest.mark.parametrize(
    "query",
    [
        "page=-1",
        "page=abc",
        "page=0",
        f"page={2**70}",
        "page=%C2%B2",  # '²' is a digit to str.isdigit, not to int()
        "date_from=2026-13-45&date_to=31/02/2026",
        "date_from=99999-01-01",
        "date_to=0001-01-01",
        f"handler={2**70}",
        "handler=-3",
        "urgency=%D9%A3",  # an Arabic-Indic three
        "status=unknown&type_name=%3Cscript%3E",
        "q=" + "x" * 20000,
        "q=%FF%FE%FD",  # not UTF-8
        "q=%ED%A0%80",  # an encoded surrogate
        "q=%22&organ=%22%25_&number=%5C",
        "q=AND OR NOT",
        "q=NEAR(a b)",
        "q=*",
        "q=^abc",
        "q=subject:abc",
        "q=a-b+c",
        "q=(((",
        "q=%F0%9F%98%80 emoji",
    ],
)
def test_the_incoming_list_survives_odd_parameters(everyone, query):
    response = everyone.get(f"/documents/incoming?{query}")
    assert response.status_code == 200, response.status_code


@pytest.mark.parametrize(
    "query", ["sort=unknown", "sort=", "due=-1&whose=%FF", "process=x" * 300, "urgent=2&follow_up=abc", "q=%22*"]
)
def test_the_inbox_survives_odd_parameters(everyone, query):
    assert everyone.get(f"/inbox/?{query}").status_code == 200


@pytest.mark.parametrize("year", ["99999", "-5", "0", str(2**70), "abc", "1"])
def test_the_calendar_and_the_registers_survive_any_year(everyone, year):
    assert everyone.get(f"/worktime/?year={year}").status_code in (200, 422)
    for page in ("/reports/incoming-register", "/reports/outgoing-register"):
        assert everyone.get(f"{page}?year={year}").status_code in (200, 422), (page, year)


@pytest.mark.parametrize("reply_to", ["%C2%B2", str(2**70), "-1", "abc", str(MAX_ID)])
def test_a_reply_to_that_is_no_document_opens_a_blank_draft(everyone, reply_to):
    assert everyone.get(f"/outgoing/new?reply_to={reply_to}").status_code in (200, 404)


def test_parse_id_takes_only_ids():
    assert parse_id("12") == 12
    assert parse_id(" 7 ") == 7
    assert parse_id(str(MAX_ID)) == MAX_ID
    for raw in (None, "", "-1", "1.5", "²", "١٢", str(MAX_ID + 1), str(2**70), "0x10"):
        assert parse_id(raw) is None, raw
