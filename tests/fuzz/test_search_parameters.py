"""The search box and filters of the lists, fed random text and random bytes through the real views: a page
(values that do not parse are dropped and reported) or the Vietnamese refusal of unusable characters, never a 500."""

from __future__ import annotations

from urllib.parse import quote_from_bytes, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.org.models import Role

WEB = settings(max_examples=100)  # each example is a request through the whole app
REFUSED = "Yêu cầu có ký tự không lưu được"
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
FTS_WORDS = st.sampled_from(['"', "*", "AND", "OR", "NOT", "NEAR(", ")", "^", ":", "-", "+", "{a b}", "'", "%", "_"])
QUERY_TEXT = TEXT | st.lists(FTS_WORDS | TEXT, max_size=6).map(" ".join)
INCOMING = ["q", "date_from", "date_to", "number", "organ", "type_name", "urgency", "status", "handler", "page"]
INBOX = ["q", "sort", "due", "whose", "process", "urgent", "follow_up"]


@pytest.fixture
def reader(make_agency, make_user, login_as, db):
    agency = make_agency(units=("VP",))
    roles = (Role.CLERK, Role.LEADER, Role.ADMIN, Role.SPECIALIST)
    return login_as(make_user(agency, *roles, unit="VP", username="fuzz.reader"))


def assert_answered(response) -> None:
    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 400:
        assert REFUSED in response.get_data(as_text=True)


def filters(names: list[str]) -> st.SearchStrategy[dict[str, str]]:
    values = QUERY_TEXT | st.sampled_from(["", "-1", "0", "1", str(2**70), "2026-02-30", "31/12/2026", "abc", "²"])
    return st.dictionaries(st.sampled_from(names), values, max_size=len(names))


@WEB
@given(filters(INCOMING))
def test_the_incoming_list_answers_any_filters(reader, params):
    assert_answered(reader.get("/documents/incoming?" + urlencode(params)))


@WEB
@given(st.sampled_from(INCOMING + INBOX), st.binary(max_size=30))
def test_the_lists_answer_any_bytes(reader, name, raw):
    for page in ("/documents/incoming", "/inbox/", "/directory/"):
        assert_answered(reader.get(f"{page}?{name}={quote_from_bytes(raw)}"))


@WEB
@given(filters(INBOX))
def test_the_inbox_answers_any_filters(reader, params):
    assert_answered(reader.get("/inbox/?" + urlencode(params)))


@WEB
@given(QUERY_TEXT, st.booleans())
def test_the_agency_code_directory_answers_any_search(reader, text, inactive):
    assert_answered(reader.get("/directory/?" + urlencode({"q": text, "inactive": "1" if inactive else ""})))
