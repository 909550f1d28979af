"""The yearly register of incoming documents (IN-6): the PDF of Phụ lục IV, its access, its command."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import event, select

from app.documents.models import IncomingDocument
from app.engine.models import OpenTask
from app.org.models import Role
from app.reports.registers import incoming_entries
from tests.inbox.test_incoming_flow import register

HEADINGS = [
    "Ngày đến",
    "Số đến",
    "Tác giả",
    "Số, ký hiệu văn bản",
    "Ngày tháng văn bản",
    "Tên loại và trích yếu nội dung",
    "Đơn vị hoặc người nhận",
    "Ngày chuyển",
    "Ký nhận",
    "Ghi chú",
]
ROW = re.compile(r"^\s*(\d\d/\d\d/\d{4})\s+(\d+)\s+(.*)$")


def pdf_text(pdf: bytes, tmp_path: Path, *, layout: bool = True) -> str:
    path = tmp_path / "register.pdf"
    path.write_bytes(pdf)
    options = ["-layout"] if layout else []
    return subprocess.run(["pdftotext", *options, str(path), "-"], check=True, capture_output=True, text=True).stdout


def direct(login_as, db, leader, document, lead) -> None:
    task = db.scalar(select(OpenTask).where(OpenTask.instance_id == document.instance_id, OpenTask.bpmn_id == "direct"))
    response = login_as(leader).post(
        f"/inbox/tasks/{task.task_uuid}", {"directive": "Giao xử lý", "lead": lead.username, "deadline_days": "3"}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]


@pytest.fixture
def year_of_documents(db, clock, make_agency, make_user, login_as):
    """Three documents of 2026 registered on three days, the second directed to a named specialist."""
    agency = make_agency(name="Sở Nội vụ tỉnh Kon Tum")
    clerk = make_user(agency, Role.CLERK, unit="VP")
    leader = make_user(agency, Role.LEADER)
    specialist = make_user(agency, Role.SPECIALIST, unit="KT")
    specialist.full_name = "Trần Thị Bình"
    db.commit()
    arrivals = [
        ("2026-01-05T08:00:00+07:00", "Văn phòng Chính phủ", "05/VPCP-KGVX", "2026-01-02"),
        ("2026-03-02T06:30:00+07:00", "Bộ Nội vụ", "12/BNV-CCVC", "2026-02-27"),  # 1 March in UTC
        ("2026-11-25T09:00:00+07:00", "Sở Tài chính", "301/STC-NS", "2026-11-20"),
    ]
    for at, organ, number_symbol, issued in arrivals:
        clock.freeze(at)
        response = register(login_as(clerk), organ_name=organ, number_symbol=number_symbol, issued_date=issued)
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    documents = db.scalars(
        select(IncomingDocument)
        .where(IncomingDocument.agency_id == agency.id)
        .order_by(IncomingDocument.arrival_number)
    ).all()
    clock.freeze("2026-11-25T10:15:00+07:00")
    direct(login_as, db, leader, documents[1], specialist)
    return agency, clerk, leader, specialist


def test_clerk_downloads_the_register_with_the_decree_columns_in_number_order(year_of_documents, login_as, tmp_path):
    clerk = year_of_documents[1]
    response = login_as(clerk).get("/reports/incoming-register?year=2026")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "so_dang_ky_van_ban_den_2026.pdf" in response.headers["Content-Disposition"]
    text = pdf_text(response.data, tmp_path)
    assert "SỔ ĐĂNG KÝ VĂN BẢN ĐẾN" in text
    assert "SỞ NỘI VỤ TỈNH KON TUM" in text
    assert "Năm: 2026" in text
    assert "Từ ngày 05/01/2026 đến ngày 25/11/2026" in text
    assert "Từ số 1 đến số 3" in text
    # Headings wrap inside their cells: read them in reading order, one cell after another.
    flowing = " ".join(pdf_text(response.data, tmp_path, layout=False).split())
    positions = [flowing.find(heading) for heading in HEADINGS]
    assert -1 not in positions, dict(zip(HEADINGS, positions, strict=True))
    assert positions == sorted(positions)
    assert "(1) (2) (3) (4) (5) (6) (7) (8) (9) (10)" in " ".join(text.split())
    rows = [match.groups() for line in text.splitlines() if (match := ROW.match(line))]
    assert [(arrived, number) for arrived, number, _rest in rows] == [
        ("05/01/2026", "1"),
        ("02/03/2026", "2"),  # the arrival day in Vietnam, not in UTC
        ("25/11/2026", "3"),
    ]
    assert "Văn phòng Chính phủ" in rows[0][2] and "05/VPCP-KGVX" in rows[0][2] and "02/01/2026" in rows[0][2]
    assert "Bộ Nội vụ" in rows[1][2] and "12/BNV-CCVC" in rows[1][2] and "27/02/2026" in rows[1][2]
    assert "Sở Tài chính" in rows[2][2] and "301/STC-NS" in rows[2][2]
    assert "Trần Thị Bình" in rows[1][2] and "25/11/2026" in rows[1][2]  # (7) the lead, (8) the day directed
    assert "Trần Thị Bình" not in rows[0][2] + rows[2][2]
    assert "Về việc báo cáo số lượng công chức năm 2026" in flowing
    assert "Trang 1/1" in text


@pytest.mark.parametrize("role", [Role.LEADER, Role.DEPUTY_LEADER, Role.ADMIN])
def test_leaders_and_admins_may_print_the_register(role, year_of_documents, make_user, login_as):
    agency = year_of_documents[0]
    web = login_as(make_user(agency, role))
    assert web.get("/reports/incoming-register?year=2026").status_code == 200
    page = web.get("/reports/").get_data(as_text=True)
    assert "/reports/incoming-register?year=2026" in page


def test_a_specialist_gets_403(year_of_documents, login_as):
    specialist_web = login_as(year_of_documents[3])
    assert specialist_web.get("/reports/incoming-register?year=2026").status_code == 403
    assert specialist_web.get("/reports/").status_code == 403
    assert "/reports/" not in specialist_web.get("/inbox/").get_data(as_text=True)


def test_a_clerk_of_another_agency_prints_only_its_own_register(
    year_of_documents, make_agency, make_user, login_as, tmp_path
):
    outsider = login_as(make_user(make_agency(name="Sở Y tế"), Role.CLERK))
    response = outsider.get("/reports/incoming-register?year=2026")
    assert response.status_code == 200
    text = pdf_text(response.data, tmp_path)
    assert "SỞ Y TẾ" in text
    assert "Bộ Nội vụ" not in text


def test_an_empty_year_still_gives_the_cover_and_the_headings(db, clock, make_agency, make_user, login_as, tmp_path):
    clerk_web = login_as(make_user(make_agency(), Role.CLERK))
    response = clerk_web.get("/reports/incoming-register?year=2025")
    assert response.status_code == 200
    assert response.data.startswith(b"%PDF-")
    text = pdf_text(response.data, tmp_path)
    assert "SỔ ĐĂNG KÝ VĂN BẢN ĐẾN" in text
    assert "Năm: 2025" in text
    assert "Chưa có văn bản nào được đăng ký trong năm" in text
    assert "Ghi chú" in text


def test_a_year_out_of_range_is_refused(db, clock, make_agency, make_user, login_as):
    clerk_web = login_as(make_user(make_agency(), Role.CLERK))
    assert clerk_web.get("/reports/incoming-register?year=20266").status_code == 422


def test_the_registers_page_is_in_the_menu_of_a_clerk(db, clock, make_agency, make_user, login_as):
    clerk_web = login_as(make_user(make_agency(), Role.CLERK))
    assert 'href="/reports/"' in clerk_web.get("/inbox/").get_data(as_text=True)
    page = clerk_web.get("/reports/").get_data(as_text=True)
    assert "/reports/incoming-register?year=2026" in page  # this year, even before its first document


def test_the_command_writes_the_register_of_an_agency(app, year_of_documents, tmp_path):
    agency = year_of_documents[0]
    out = tmp_path / "register.pdf"
    result = app.test_cli_runner().invoke(
        args=["reports", "incoming-register", "--agency", agency.code, "--year", "2026", str(out)]
    )
    assert result.exit_code == 0, result.output
    text = pdf_text(out.read_bytes(), tmp_path)
    assert "Trần Thị Bình" in text
    unknown = app.test_cli_runner().invoke(
        args=["reports", "incoming-register", "--agency", "999.99.99.Z99", "--year", "2026", str(out)]
    )
    assert unknown.exit_code == 1 and "999.99.99.Z99" in unknown.output


def test_the_register_reads_the_same_few_queries_however_many_documents(db, year_of_documents):
    agency = year_of_documents[0]
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = db.get_bind().engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        entries = incoming_entries(db, agency.id, 2026)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert [entry.arrival_number for entry in entries] == [1, 2, 3]
    assert len([s for s in statements if not s.startswith(("SAVEPOINT", "RELEASE"))]) <= 4


def test_a_direction_to_a_unit_names_the_unit(db, clock, make_agency, make_user, login_as):
    agency = make_agency(code="000.00.12.H34", name="Sở Nội vụ tỉnh Kon Tum", units=("HCTH", "TCBC"))
    clerk = make_user(agency, Role.CLERK, unit="HCTH")
    office_head = make_user(agency, Role.UNIT_LEADER, unit="HCTH")
    make_user(agency, Role.LEADER)
    deputy = make_user(agency, Role.DEPUTY_LEADER)
    make_user(agency, Role.UNIT_LEADER, unit="TCBC")
    register(login_as(clerk))
    office = login_as(office_head)
    task = db.scalar(select(OpenTask).where(OpenTask.agency_id == agency.id))
    assert office.post(f"/inbox/tasks/{task.task_uuid}", {"director": deputy.username}).status_code == 302
    task = db.scalar(select(OpenTask).where(OpenTask.agency_id == agency.id, OpenTask.bpmn_id == "direct"))
    response = login_as(deputy).post(
        f"/inbox/tasks/{task.task_uuid}", {"directive": "TCBC chủ trì", "lead_unit": "TCBC", "deadline_days": "5"}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    [entry] = incoming_entries(db, agency.id, 2026)
    assert entry.recipient == "Phòng TCBC"
    assert entry.handed_over_on is not None and entry.handed_over_on.isoformat() == "2026-11-25"
