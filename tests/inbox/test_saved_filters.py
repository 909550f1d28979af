"""The inbox filtered by urgency, deadline, ownership, follow-up and text, in four orders; saved filters of the
inbox and of the incoming list, with their counts, kept to their owner."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from app.engine.models import OpenTask
from app.inbox import queries
from app.inbox.models import SavedFilter
from app.inbox.queries import DueWindow, InboxFilters, Ownership
from app.org.models import Agency, Role, User
from tests.inbox.test_incoming_flow import register

# Registered a minute apart in this order, on Wednesday 25/11/2026 from 09:00 (Vietnam time).
SUBJECTS = {
    "report": "Báo cáo quý IV về cải cách hành chính",  # Khẩn: due at once (09:00)
    "schedule": "Lịch công tác tháng 12",  # Thường: due today at 17:00
    "fire": "Phòng cháy chữa cháy mùa khô",  # Hỏa tốc: due at once (09:02)
    "inspection": "Kiểm tra công vụ",  # Thường: directed at once to the specialist, due Thursday 17:00
}
URGENCIES = {"schedule": "0", "report": "1", "fire": "3", "inspection": "0"}
KEYS = {subject: key for key, subject in SUBJECTS.items()}


@dataclass
class Office:
    agency: Agency
    leader: User
    deputy: User
    specialist: User
    clerk: User


@pytest.fixture
def office(db, clock, make_agency, make_user, login_as) -> Office:
    """Four documents registered; the fourth directed to the specialist; the clock then at 09:30."""
    agency = make_agency()
    leader, deputy = make_user(agency, Role.LEADER), make_user(agency, Role.LEADER)
    specialist = make_user(agency, Role.SPECIALIST, unit="KT")
    clerk = make_user(agency, Role.CLERK, unit="VP")
    clerk_web = login_as(clerk)
    for key, subject in SUBJECTS.items():
        assert register(clerk_web, subject=subject, urgency=URGENCIES[key]).status_code == 302
        clock.advance(timedelta(minutes=1))
    uuid = task_of(db, "inspection")
    response = login_as(leader).post(
        f"/inbox/tasks/{uuid}", {"directive": "Xử lý", "lead": specialist.username, "deadline_days": "1"}
    )
    assert response.status_code == 302
    clock.freeze("2026-11-25T09:30:00+07:00")
    return Office(agency, leader, deputy, specialist, clerk)


def task_of(db, key: str) -> str:
    return db.scalar(select(OpenTask.task_uuid).where(OpenTask.title == SUBJECTS[key]).order_by(OpenTask.id.desc()))


def listed(db, client, query: str = "") -> list[str]:
    """The documents of the inbox page's rows, in their order."""
    html = client.get(f"/inbox/?{query}").get_data(as_text=True)
    titles = {task.task_uuid: task.title for task in db.scalars(select(OpenTask))}
    return [KEYS[titles[uuid]] for uuid in re.findall(r'data-task="([0-9a-f-]{36})"', html)]


def saved_counts(html: str) -> dict[str, int]:
    """{name: count} of the saved-filter links of a page."""
    links = re.findall(r'<a href="[^"]*"(?: class="active" aria-current="page")? data-count="(\d+)">([^<]*)<span', html)
    return {name: int(count) for count, name in links}


def save(client, page: str, name: str, query: str, *, from_url: str = "/inbox/") -> Any:
    return client.post("/inbox/filters", {"page": page, "name": name, "query": query}, page=from_url)


# Filters and orders


def test_urgent_only_keeps_khan_and_hoa_toc_hoa_toc_first(db, office, login_as):
    leader = login_as(office.leader)
    assert listed(db, leader) == ["fire", "report", "schedule"]
    assert listed(db, leader, "urgent=1") == ["fire", "report"]


def test_deadline_windows_split_late_today_and_this_week(db, office, login_as):
    leader, specialist = login_as(office.leader), login_as(office.specialist)
    assert listed(db, leader, "due=late") == ["fire", "report"]
    assert listed(db, leader, "due=today") == ["schedule"]
    assert listed(db, leader, "due=week") == ["schedule"]
    assert listed(db, specialist, "due=today") == []
    assert listed(db, specialist, "due=week") == ["inspection"]  # due Thursday


def test_a_task_due_next_monday_is_not_due_this_week(db, clock, office, login_as):
    clock.freeze("2026-11-27T09:00:00+07:00")  # Friday: the Thursday task is late now
    specialist = login_as(office.specialist)
    assert listed(db, specialist, "due=week") == []
    assert listed(db, specialist, "due=late") == ["inspection"]


def test_claimed_assigned_and_shared_tasks(db, office, login_as):
    leader = login_as(office.leader)
    uuid = task_of(db, "schedule")
    assert leader.post(f"/inbox/tasks/{uuid}/claim", {}, page=f"/inbox/tasks/{uuid}").status_code == 302
    assert listed(db, leader, "whose=claimed") == ["schedule"]
    assert listed(db, leader, "whose=shared") == ["fire", "report"]
    assert listed(db, leader, "whose=assigned") == []
    assert listed(db, login_as(office.deputy)) == ["fire", "report"]  # claimed by another: gone from theirs
    assert listed(db, login_as(office.specialist), "whose=assigned") == ["inspection"]


def test_follow_up_reached_and_text_and_process(db, office, login_as):
    leader = login_as(office.leader)
    for key, day in (("schedule", "2026-11-25"), ("report", "2026-11-26")):
        uuid = task_of(db, key)
        leader.post(f"/inbox/tasks/{uuid}/follow-up", {"follow_up": day}, page=f"/inbox/tasks/{uuid}")
    assert listed(db, leader, "follow_up=1") == ["schedule"]  # 08:00 today has come, tomorrow's has not
    assert listed(db, leader, "q=Phòng+cháy") == ["fire"]
    assert listed(db, leader, "q=cai+cach+hanh+chinh") == ["report"]  # without diacritics, from the document
    assert listed(db, leader, "q=chỉ+đạo") == ["fire", "report", "schedule"]  # the task's name
    assert listed(db, leader, "process=incoming&urgent=1") == ["fire", "report"]


def test_the_four_orders(db, office, login_as):
    leader = login_as(office.leader)
    assert listed(db, leader, "sort=priority") == ["fire", "report", "schedule"]
    assert listed(db, leader, "sort=deadline") == ["report", "fire", "schedule"]
    assert listed(db, leader, "sort=newest") == ["fire", "schedule", "report"]
    assert listed(db, leader, "sort=oldest") == ["report", "schedule", "fire"]


def test_values_that_do_not_parse_are_ignored_and_reported(db, office, login_as):
    leader = login_as(office.leader)
    response = leader.get("/inbox/?due=yesterday&sort=sideways&process=nope&urgent=1")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "“yesterday” không hợp lệ" in html and "“sideways” không hợp lệ" in html and "“nope” không hợp lệ" in html
    assert listed(db, leader, "due=yesterday&sort=sideways&process=nope&urgent=1") == ["fire", "report"]


def test_counting_is_one_query_per_filter(db, office):
    leader = db.get(User, office.leader.id)
    filters = [InboxFilters(), InboxFilters(is_urgent=True), InboxFilters(due=DueWindow.LATE)]
    filters.append(InboxFilters(ownership=Ownership.SHARED, q="cháy"))
    statements: list[str] = []
    connection = db.connection()
    event.listen(connection, "before_cursor_execute", lambda *args: statements.append(args[2]))
    assert queries.counts(db, leader, filters) == [3, 2, 2, 1]
    assert len(statements) == 1 + len(filters)  # the delegations, then one count each


# Saved filters


def test_a_saved_filter_is_listed_with_its_count_renamed_and_deleted(db, office, login_as):
    leader = login_as(office.leader)
    response = save(leader, "inbox", "  Việc   gấp ", "?urgent=1&page=4&q=")
    assert response.status_code == 302 and response.headers["Location"].endswith("/inbox/?urgent=1")
    save(leader, "inbox", "Quá hạn", "due=late&sort=deadline")
    saved = db.scalars(select(SavedFilter).where(SavedFilter.user_id == office.leader.id).order_by(SavedFilter.id))
    first, second = saved.all()
    assert (first.name, first.query, first.page, first.position) == ("Việc gấp", "urgent=1", "inbox", 1)
    assert (second.query, second.position) == ("due=late&sort=deadline", 2)
    assert saved_counts(leader.get("/inbox/").get_data(as_text=True)) == {"Việc gấp": 2, "Quá hạn": 2}

    response = leader.post(f"/inbox/filters/{first.id}/rename", {"name": "Hỏa tốc và Khẩn"}, page="/inbox/")
    assert response.status_code == 302
    assert saved_counts(leader.get("/inbox/").get_data(as_text=True)) == {"Hỏa tốc và Khẩn": 2, "Quá hạn": 2}
    assert leader.post(f"/inbox/filters/{first.id}/rename", {"name": "quá HẠN"}, page="/inbox/").status_code == 302
    db.expire_all()
    assert db.get(SavedFilter, first.id).name == "Hỏa tốc và Khẩn"  # the name is taken by the other one

    assert leader.post(f"/inbox/filters/{second.id}/delete", {}, page="/inbox/").status_code == 302
    assert saved_counts(leader.get("/inbox/").get_data(as_text=True)) == {"Hỏa tốc và Khẩn": 2}
    assert db.scalar(select(SavedFilter.id).where(SavedFilter.id == second.id)) is None


def test_saving_again_under_a_name_replaces_its_filter_and_a_name_is_required(db, office, login_as):
    leader = login_as(office.leader)
    save(leader, "inbox", "Của tôi", "urgent=1")
    save(leader, "inbox", "của tôi", "due=today")
    assert save(leader, "inbox", "   ", "due=late").status_code == 302
    db.expire_all()
    (saved,) = db.scalars(select(SavedFilter).where(SavedFilter.user_id == office.leader.id)).all()
    assert (saved.name, saved.query) == ("Của tôi", "due=today")
    assert saved_counts(leader.get("/inbox/?due=today").get_data(as_text=True)) == {"Của tôi": 1}


def test_counts_follow_the_work_when_a_task_is_completed(db, office, login_as):
    leader = login_as(office.leader)
    save(leader, "inbox", "Khẩn trở lên", "urgent=1")
    assert saved_counts(leader.get("/inbox/").get_data(as_text=True)) == {"Khẩn trở lên": 2}
    uuid = task_of(db, "fire")
    response = leader.post(
        f"/inbox/tasks/{uuid}", {"directive": "Xử lý ngay", "lead": office.specialist.username, "deadline_days": "0"}
    )
    assert response.status_code == 302
    assert saved_counts(leader.get("/inbox/").get_data(as_text=True)) == {"Khẩn trở lên": 1}
    assert listed(db, leader, "urgent=1") == ["report"]


def test_another_person_neither_sees_nor_changes_my_filter(db, office, make_agency, make_user, login_as):
    leader = login_as(office.leader)
    save(leader, "inbox", "Bộ lọc riêng", "urgent=1")
    saved = db.scalar(select(SavedFilter).where(SavedFilter.user_id == office.leader.id))
    outsider = make_user(make_agency(), Role.LEADER)
    for person in (office.deputy, outsider):
        other = login_as(person)
        assert "Bộ lọc riêng" not in other.get("/inbox/").get_data(as_text=True)
        for action, form in (("rename", {"name": "Của tôi"}), ("delete", {})):
            response = other.post(f"/inbox/filters/{saved.id}/{action}", form, page="/inbox/")
            assert response.status_code == 404
            assert "Không có bộ lọc đã lưu này." in response.get_data(as_text=True)
    db.expire_all()
    assert db.get(SavedFilter, saved.id).name == "Bộ lọc riêng"


def test_a_saved_query_that_no_longer_parses_still_shows_and_counts(db, clock, office, login_as):
    db.add_all(
        [
            SavedFilter(user_id=office.leader.id, page="inbox", name="Cũ", query="due=yesterday&urgent=maybe&%%=&",
                        position=1, created_at=clock.now()),
            SavedFilter(user_id=office.clerk.id, page="incoming", name="Hỏng", query="urgency=9&status=bogus&x=%ZZ",
                        position=1, created_at=clock.now()),
        ]
    )  # fmt: skip
    db.commit()
    html = login_as(office.leader).get("/inbox/").get_data(as_text=True)
    assert saved_counts(html) == {"Cũ": 3}
    response = login_as(office.clerk).get("/documents/incoming")
    assert response.status_code == 200 and saved_counts(response.get_data(as_text=True)) == {"Hỏng": 4}


def test_the_incoming_list_saves_its_filters_and_counts_them_in_the_persons_scope(db, clock, office, login_as):
    clerk = login_as(office.clerk)
    response = save(clerk, "incoming", "Văn bản thường", "urgency=0", from_url="/documents/incoming?urgency=0")
    assert response.headers["Location"].endswith("/documents/incoming?urgency=0")
    save(clerk, "incoming", "Khẩn", "urgency=1", from_url="/documents/incoming?urgency=1")
    html = clerk.get("/documents/incoming?urgency=0").get_data(as_text=True)
    assert saved_counts(html) == {"Văn bản thường": 2, "Khẩn": 1}
    assert 'class="active" aria-current="page" data-count="2">Văn bản thường' in html
    assert "Văn bản thường" not in clerk.get("/inbox/").get_data(as_text=True)  # each list keeps its own

    register(clerk, subject="Công văn khẩn mới", urgency="1")
    assert saved_counts(clerk.get("/documents/incoming").get_data(as_text=True)) == {"Văn bản thường": 2, "Khẩn": 2}

    specialist = login_as(office.specialist)  # sees only the documents they handle
    save(specialist, "incoming", "Thường", "urgency=0", from_url="/documents/incoming")
    assert saved_counts(specialist.get("/documents/incoming").get_data(as_text=True)) == {"Thường": 1}


def test_a_list_keeps_at_most_twenty_filters(db, office, login_as):
    leader = login_as(office.leader)
    for number in range(21):
        save(leader, "inbox", f"Bộ lọc {number}", f"q={number}")
    names = db.scalars(select(SavedFilter.name).where(SavedFilter.user_id == office.leader.id)).all()
    assert len(names) == 20 and "Bộ lọc 20" not in names
