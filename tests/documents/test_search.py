"""The incoming list: filters, diacritics-free search, pagination and scope, on SQLite (FTS5) and PostgreSQL."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select, update

from app.documents import queries, services
from app.documents.models import IncomingDocument
from app.documents.queries import IncomingFilters, ListStatus
from app.documents.search import fold
from app.engine.models import InstanceStatus, OpenTask, ProcessInstance
from app.org.models import Role
from tests.inbox.test_incoming_flow import REGISTRATION, task_uuid_in

VALUES = {**REGISTRATION, "urgency": 0, "page_amount": 2, "due_date": None}
PLAN = {
    "organ_name": "Ủy ban nhân dân tỉnh Hà Tĩnh",
    "number_symbol": "45/QĐ-UBND",
    "type_name": "Quyết định",
    "subject": "Quyết định ban hành kế hoạch cải cách hành chính năm 2027 theo hướng dẫn của Bộ Nội vụ",
}
WORKSHOP = {
    "organ_name": "Sở Thông tin và Truyền thông",
    "number_symbol": "102/STTTT-CNTT",
    "subject": "V/v dang ky tham gia hoi thao chuyen doi so",
    "urgency": 1,
}


@pytest.fixture
def desk(db, clock, make_agency, make_user) -> SimpleNamespace:
    """An agency with a clerk, a leader and a specialist, and a way to register documents there."""
    agency = make_agency()
    desk = SimpleNamespace(
        agency=agency,
        clerk=make_user(agency, Role.CLERK, unit="VP"),
        leader=make_user(agency, Role.LEADER),
        specialist=make_user(agency, Role.SPECIALIST, unit="KT"),
    )

    def register(**overrides: Any) -> IncomingDocument:
        document = services.register_incoming(db, desk.clerk, {**VALUES, **overrides}, [], now=clock.now())
        db.commit()
        return document

    desk.register = register
    return desk


def listed(db, desk, clock, **filters: Any) -> list[str]:
    page = queries.incoming_list(db, desk.agency.id, filters=IncomingFilters(**filters), now=clock.now())
    return sorted(row.document.number_symbol for row in page.rows)


def test_fold_removes_vietnamese_diacritics_case_and_extra_spaces():
    assert fold("  Quyết   ĐỊNH\tvề  Đăng ký ") == "quyet dinh ve dang ky"
    assert fold("Hỏa tốc, Thượng khẩn") == "hoa toc, thuong khan"


def test_registration_fills_the_folded_search_text(db, clock, desk):
    document = desk.register(**PLAN)
    assert "quyet dinh ban hanh ke hoach cai cach hanh chinh" in document.search_text
    assert "uy ban nhan dan tinh ha tinh" in document.search_text
    assert "45/qd-ubnd" in document.search_text


def test_search_without_diacritics_finds_the_accented_summary(db, clock, desk):
    desk.register(**PLAN)
    desk.register(**WORKSHOP)
    desk.register()
    assert listed(db, desk, clock, q="quyet dinh") == ["45/QĐ-UBND"]
    assert listed(db, desk, clock, q="Quyết Định cải cách") == ["45/QĐ-UBND"]


def test_search_with_diacritics_finds_a_summary_typed_without_them(db, clock, desk):
    desk.register(**PLAN)
    desk.register(**WORKSHOP)
    assert listed(db, desk, clock, q="đăng ký hội thảo") == ["102/STTTT-CNTT"]


def test_every_search_word_must_match(db, clock, desk):
    desk.register(**PLAN)
    desk.register()
    assert listed(db, desk, clock, q="quyet dinh 2026") == []
    assert listed(db, desk, clock, q="cong chuc 2026") == ["12/BNV-CCVC"]


def test_search_without_fts5_falls_back_to_like(db, clock, desk, monkeypatch):
    desk.register(**PLAN)
    desk.register(**WORKSHOP)
    monkeypatch.setattr(queries, "_has_fts", lambda session: False)
    assert listed(db, desk, clock, q="dang ky") == ["102/STTTT-CNTT"]


def test_search_words_with_like_wildcards_match_only_themselves(db, clock, desk):
    desk.register()
    assert listed(db, desk, clock, q="%") == []
    assert listed(db, desk, clock, number="_") == []


def test_arrival_dates_are_vietnam_days_and_both_ends_count(db, clock, desk):
    desk.register(number_symbol="1/A")  # 25/11 09:00 in Vietnam
    clock.freeze("2026-11-26T06:30:00+07:00")  # still 25/11 in UTC
    desk.register(number_symbol="2/A")
    clock.freeze("2026-11-27T16:00:00+07:00")
    desk.register(number_symbol="3/A")
    assert listed(db, desk, clock, date_from=date(2026, 11, 26), date_to=date(2026, 11, 26)) == ["2/A"]
    assert listed(db, desk, clock, date_from=date(2026, 11, 26)) == ["2/A", "3/A"]
    assert listed(db, desk, clock, date_to=date(2026, 11, 26)) == ["1/A", "2/A"]


def test_number_matches_the_arrival_number_or_part_of_the_number_and_symbol(db, clock, desk):
    desk.register(**PLAN)
    desk.register(**WORKSHOP)
    desk.register()
    assert listed(db, desk, clock, number="3") == ["12/BNV-CCVC"]  # số đến 3; no symbol holds a 3
    assert listed(db, desk, clock, number="45/qd") == ["45/QĐ-UBND"]
    assert listed(db, desk, clock, number="CNTT") == ["102/STTTT-CNTT"]


def test_issuing_agency_matches_its_name_only_without_diacritics(db, clock, desk):
    desk.register(**PLAN)  # mentions Bộ Nội vụ in its summary
    desk.register()  # issued by Bộ Nội vụ
    assert listed(db, desk, clock, organ="bo noi vu") == ["12/BNV-CCVC"]
    assert listed(db, desk, clock, organ="Hà Tĩnh") == ["45/QĐ-UBND"]


def test_type_and_urgency_narrow_the_list(db, clock, desk):
    desk.register(**PLAN)
    desk.register(**WORKSHOP)
    desk.register()
    assert listed(db, desk, clock, type_name="Công văn") == ["102/STTTT-CNTT", "12/BNV-CCVC"]
    assert listed(db, desk, clock, type_name="Công văn", urgency=1) == ["102/STTTT-CNTT"]
    assert listed(db, desk, clock, urgency=0) == ["12/BNV-CCVC", "45/QĐ-UBND"]


def direct(db, desk, login_as, document: IncomingDocument, *, lead) -> None:
    """The leader gives the document to `lead` through the web."""
    leader_web = login_as(desk.leader)
    uuid = db.scalar(select(OpenTask.task_uuid).where(OpenTask.instance_id == document.instance_id))
    response = leader_web.post(
        f"/inbox/tasks/{uuid}", {"directive": "Xử lý", "lead": lead.username, "deadline_days": "3"}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]


def handle(desk, login_as) -> None:
    specialist_web = login_as(desk.specialist)
    uuid = task_uuid_in(specialist_web.get("/inbox/").get_data(as_text=True))
    response = specialist_web.post(f"/inbox/tasks/{uuid}", {"result": "Đã xử lý"})
    assert response.status_code == 302


def test_status_and_handler_narrow_the_list(db, clock, desk, login_as):
    plan = desk.register(**PLAN)
    workshop = desk.register(**{**WORKSHOP, "due_date": "2026-11-24"})  # due yesterday
    report = desk.register()
    direct(db, desk, login_as, report, lead=desk.specialist)
    handle(desk, login_as)  # 12/BNV-CCVC is done, handled by the specialist
    direct(db, desk, login_as, workshop, lead=desk.specialist)  # 102/STTTT-CNTT waits for the specialist
    db.execute(update(ProcessInstance).where(ProcessInstance.id == plan.instance_id).values(status="incident"))
    db.commit()

    assert listed(db, desk, clock, status=ListStatus.DONE) == ["12/BNV-CCVC"]
    assert listed(db, desk, clock, status=ListStatus.IN_PROGRESS) == ["102/STTTT-CNTT"]
    assert listed(db, desk, clock, status=ListStatus.LATE) == ["102/STTTT-CNTT"]
    assert listed(db, desk, clock, status=ListStatus.INCIDENT) == ["45/QĐ-UBND"]
    assert listed(db, desk, clock, handler=desk.specialist.id) == ["102/STTTT-CNTT", "12/BNV-CCVC"]
    assert listed(db, desk, clock, handler=desk.clerk.id) == []
    assert db.get(ProcessInstance, plan.instance_id).status == InstanceStatus.INCIDENT


def test_a_task_past_its_deadline_makes_the_document_late(db, clock, desk, login_as):
    direct(db, desk, login_as, desk.register(), lead=desk.specialist)  # due in 3 working days
    assert listed(db, desk, clock, status=ListStatus.LATE) == []
    clock.freeze("2026-12-02T09:00:00+07:00")
    assert listed(db, desk, clock, status=ListStatus.LATE) == ["12/BNV-CCVC"]


def test_documents_of_another_agency_never_appear(db, clock, desk, make_agency, make_user):
    other = make_agency()
    make_user(other, Role.LEADER)
    services.register_incoming(db, make_user(other, Role.CLERK), {**VALUES, **PLAN}, [], now=clock.now())
    desk.register(**WORKSHOP)
    assert listed(db, desk, clock) == ["102/STTTT-CNTT"]
    assert listed(db, desk, clock, q="quyet dinh") == []
    assert listed(db, desk, clock, number="1") == ["102/STTTT-CNTT"]


def test_pages_hold_per_page_documents_newest_first_with_the_total(db, clock, desk):
    for number in range(1, 6):
        desk.register(number_symbol=f"{number}/A")
    first = queries.incoming_list(db, desk.agency.id, now=clock.now(), per_page=2)
    last = queries.incoming_list(db, desk.agency.id, now=clock.now(), page=3, per_page=2)
    beyond = queries.incoming_list(db, desk.agency.id, now=clock.now(), page=99, per_page=2)
    assert (first.total, first.page_count) == (5, 3)
    assert [row.document.arrival_number for row in first.rows] == [5, 4]
    assert [row.document.arrival_number for row in last.rows] == [1]
    assert beyond.page == 3


def test_the_list_page_filters_and_keeps_the_filters_in_its_page_links(db, clock, desk, login_as):
    for number in range(1, 53):
        desk.register(
            number_symbol=f"{number}/QĐ-UBND", type_name="Quyết định", subject=f"Quyết định số {number} về kế hoạch"
        )
    desk.register(**WORKSHOP)
    web = login_as(desk.clerk)
    html = web.get("/documents/incoming?q=ke+hoach&type_name=C%C3%B4ng+v%C4%83n").get_data(as_text=True)
    assert "Quyết định số" not in html and 'id="result-count">0 ' in html
    response = web.get("/documents/incoming?q=quyet+dinh+ke+hoach&urgency=0")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="result-count">52 ' in html
    assert "Quyết định số 52 về kế hoạch" in html and "Quyết định số 2 về kế hoạch" not in html
    assert "page=2" in html and "q=quyet+dinh+ke+hoach" in html and "urgency=0" in html
    html = web.get("/documents/incoming?q=quyet+dinh+ke+hoach&urgency=0&page=2").get_data(as_text=True)
    assert "Quyết định số 2 về kế hoạch" in html and "Quyết định số 52 về kế hoạch" not in html


@pytest.mark.parametrize(
    "query",
    [
        "date_from=2026-13-45&date_to=hôm+nay",
        "urgency=khẩn&page=-1",
        "page=abc&handler=999999",
        "status=bogus&type_name=Không+có",
        "handler=1e9&urgency=99999999999999999999",
        "q=%25%27%22%3B--&number=%5C&organ=%25",
        "urgency=%C2%B2&page=%C2%B2&number=%C2%B2",
        "date_from=0001-01-01&date_to=9999-12-31",
        "date_from=31/02/2026&handler=-1",
    ],
)
def test_a_bad_query_string_is_ignored_with_a_message(db, clock, desk, login_as, query):
    desk.register()
    response = login_as(desk.clerk).get(f"/documents/incoming?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    if "q=" not in query:
        assert "12/BNV-CCVC" in html and 'class="flash warning"' in html


def test_a_date_typed_the_vietnamese_way_is_understood(db, clock, desk, login_as):
    desk.register()
    web = login_as(desk.clerk)
    assert "12/BNV-CCVC" in web.get("/documents/incoming?date_from=25/11/2026").get_data(as_text=True)
    assert "12/BNV-CCVC" not in web.get("/documents/incoming?date_from=26/11/2026").get_data(as_text=True)


def test_a_specialist_lists_only_the_documents_they_handle(db, clock, make_agency, make_user, login_as):
    from tests.inbox.test_incoming_flow import register as register_via_web
    from tests.inbox.test_incoming_flow import task_uuid_in

    agency = make_agency()
    leader = make_user(agency, Role.LEADER)
    mine, other = make_user(agency, Role.SPECIALIST), make_user(agency, Role.SPECIALIST)
    clerk = login_as(make_user(agency, Role.CLERK))
    register_via_web(clerk, subject="Về việc giao cho tôi")
    register_via_web(clerk, number_symbol="13/BNV-CCVC", subject="Về việc của người khác")
    leader_web = login_as(leader)
    for person in (mine, other):
        uuid = task_uuid_in(leader_web.get("/inbox/").get_data(as_text=True))
        leader_web.post(f"/inbox/tasks/{uuid}", {"directive": "x", "lead": person.username, "deadline_days": "2"})
    from app.engine.models import OpenTask

    my_instance = db.scalar(select(OpenTask.instance_id).where(OpenTask.assignee_id == mine.id))
    my_subject = db.scalar(select(IncomingDocument.subject).where(IncomingDocument.instance_id == my_instance))
    page = login_as(mine).get("/documents/incoming").get_data(as_text=True)
    assert [s for s in ("Về việc giao cho tôi", "Về việc của người khác") if s in page] == [my_subject]
    all_page = login_as(make_user(agency, Role.CLERK)).get("/documents/incoming").get_data(as_text=True)
    assert "Về việc giao cho tôi" in all_page and "Về việc của người khác" in all_page
