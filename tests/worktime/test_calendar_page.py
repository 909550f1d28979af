"""The provincial administrator enters make-up working days, and deadlines follow them at once."""

from __future__ import annotations

from app.org.models import Role
from app.worktime.services import load_calendar


def test_the_provincial_administrator_adds_a_make_up_saturday(db, make_agency, make_user, login_as):
    admin = login_as(make_user(make_agency(), Role.ADMIN))
    page = admin.get("/worktime/?year=2026").get_data(as_text=True)
    assert "24/11/2026" in page  # Ngày Văn hóa Việt Nam, from the holidays package
    response = admin.post("/worktime/", {"day": "2026-12-12", "kind": "working", "note": "Làm bù"}, page="/worktime/")
    assert response.status_code == 302
    from datetime import date

    assert load_calendar(db).is_working_day(date(2026, 12, 12))
    assert "Làm bù" in admin.get("/worktime/?year=2026").get_data(as_text=True)


def test_an_administrator_of_a_subordinate_agency_cannot_edit_the_calendar(db, make_agency, make_user, login_as):
    province = make_agency()
    department = make_agency()
    department.parent_id = province.id
    db.commit()
    admin = login_as(make_user(department, Role.ADMIN))
    response = admin.post("/worktime/", {"day": "2026-12-12", "kind": "working"}, page="/worktime/")
    assert response.status_code == 403
