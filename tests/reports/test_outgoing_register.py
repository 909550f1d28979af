"""The yearly register of outgoing documents (OUT-15): the PDF of Phụ lục IV, one book per register, its access,
its command."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime

import pytest
from sqlalchemy import event

from app.documents.models import OutgoingDocument, OutgoingState
from app.documents.services import take_number
from app.errors import PermissionDenied
from app.org.models import Role
from app.reports.registers import ensure_may_print_registers, outgoing_entries
from tests.reports.test_incoming_register import pdf_text

HEADINGS = [
    "Số, ký hiệu văn bản",
    "Ngày tháng văn bản",
    "Tên loại và trích yếu nội dung",
    "Người ký",
    "Nơi nhận văn bản",
    "Đơn vị, người nhận bản lưu",
    "Số lượng bản",
    "Ngày chuyển",
    "Ký nhận",
    "Ghi chú",
]
ROW = re.compile(r"^\s*(\d+/\S+)\s+(\d\d/\d\d/\d{4})\s+(.*)$")  # a row's first line: số, ký hiệu and its date
PROVINCE = "000.00.00.H34"  # an agency known in this installation: shown by its name
MINISTRY = "000.00.00.G22"  # an agency not known here: shown by its code


@pytest.fixture
def make_outgoing(db):
    def make(agency, drafter, taken, notation, issued, *, unit=None, recipients=(), units=(), **fields):
        register_id, number = taken
        document = OutgoingDocument(
            agency_id=agency.id,
            unit_id=unit.id if unit else None,
            drafter_id=drafter.id,
            type_name=fields.pop("type_name", "Công văn"),
            subject=fields.pop("subject", f"Về việc số {number}"),
            recipients_json=json.dumps(list(recipients)),
            internal_units_json=json.dumps(list(units)),
            state=fields.pop("state", OutgoingState.PUBLISHED),
            register_id=register_id,
            number=number,
            code_number=f"{number:02d}",
            code_notation=notation,
            issued_date=date.fromisoformat(issued),
            signer_name=fields.pop("signer_name", "Nguyễn Văn An"),
            signer_position="Giám đốc",
            created_at=datetime.fromisoformat(f"{issued}T08:00:00+07:00"),
            published_at=datetime.fromisoformat(fields.pop("published_at", f"{issued}T10:00:00+07:00")),
            **fields,
        )
        db.add(document)
        db.commit()
        return document

    return make


@pytest.fixture
def year_of_documents(db, clock, make_agency, make_user, make_outgoing):
    """Three documents of the 2026 register written in another order than their numbers, one of them recalled;
    one decision in the agency's register of decisions; a draft without a number; one document of 2025."""
    make_agency(code=PROVINCE, name="Ủy ban nhân dân tỉnh Kon Tum")
    agency = make_agency(name="Sở Nội vụ tỉnh Kon Tum", units=("VP", "TCBC"))
    clerk = make_user(agency, Role.CLERK, unit="VP")
    drafter = make_user(agency, Role.SPECIALIST, unit="TCBC")
    tcbc = next(unit for unit in agency.units if unit.code == "TCBC")
    first, second, third = (take_number(db, agency.id, "outgoing", 2026) for _ in range(3))
    make_outgoing(
        agency,
        drafter,
        third,
        "SNV-TCBC",
        "2026-11-20",
        unit=tcbc,
        recipients=[PROVINCE],
        state=OutgoingState.RECALLED,
        recalled_at=datetime.fromisoformat("2026-11-24T16:00:00+07:00"),
    )
    make_outgoing(
        agency,
        drafter,
        first,
        "SNV-VP",
        "2026-01-05",
        unit=tcbc,
        recipients=[PROVINCE, MINISTRY],
        units=["VP"],
        subject="Về việc báo cáo biên chế công chức năm 2026",
        published_at="2026-01-06T07:30:00+07:00",
    )
    make_outgoing(
        agency,
        drafter,
        second,
        "SNV-TCBC",
        "2026-03-02",
        recipients=[MINISTRY],
        type_name="Báo cáo",
        signer_name="Lê Thị Hoa",
        published_at="2026-03-01T23:30:00+00:00",  # 2 March in Vietnam
    )
    make_outgoing(agency, drafter, take_number(db, agency.id, "outgoing:QĐ", 2026), "QĐ-SNV", "2026-02-10")
    make_outgoing(agency, drafter, take_number(db, agency.id, "outgoing", 2025), "SNV-VP", "2025-12-30")
    db.add(
        OutgoingDocument(
            agency_id=agency.id,
            drafter_id=drafter.id,
            type_name="Công văn",
            subject="Dự thảo chưa ký",
            created_at=clock.now(),
        )
    )
    db.commit()
    return agency, clerk, drafter


@dataclass(frozen=True)
class Printed:
    """A downloaded register: its text laid out as printed, its text in reading order, its rows' first lines."""

    text: str
    flowing: str
    rows: list[tuple[str, str, str]]


def download(web, tmp_path, file_name: str, **query: object) -> Printed:
    response = web.get("/reports/outgoing-register", query_string=query)
    assert (response.status_code, response.mimetype) == (200, "application/pdf")
    assert f"filename={file_name}" in response.headers["Content-Disposition"]
    text = pdf_text(response.data, tmp_path)
    rows = [match.groups() for line in text.splitlines() if (match := ROW.match(line))]
    return Printed(text, " ".join(pdf_text(response.data, tmp_path, layout=False).split()), rows)


def test_clerk_downloads_the_register_with_the_decree_columns_in_number_order(year_of_documents, login_as, tmp_path):
    printed = download(login_as(year_of_documents[1]), tmp_path, "so_dang_ky_van_ban_di_2026.pdf", year=2026)
    cover = ["SỔ ĐĂNG KÝ VĂN BẢN ĐI", "SỞ NỘI VỤ TỈNH KON TUM", "Năm: 2026", "Từ ngày 05/01/2026 đến ngày 20/11/2026"]
    assert [line for line in [*cover, "Từ số 1 đến số 3", "Trang 1/1"] if line not in printed.text] == []
    # Headings wrap inside their cells: read them in reading order, one cell after another.
    positions = [printed.flowing.find(heading) for heading in HEADINGS]
    assert -1 not in positions and positions == sorted(positions), dict(zip(HEADINGS, positions, strict=True))
    assert "(1) (2) (3) (4) (5) (6) (7) (8) (9) (10)" in " ".join(printed.text.split())
    assert [(number, issued) for number, issued, _rest in printed.rows] == [
        ("01/SNV-VP", "05/01/2026"),
        ("02/SNV-TCBC", "02/03/2026"),
        ("03/SNV-TCBC", "20/11/2026"),
    ]
    first, second, _third = (rest for _number, _issued, rest in printed.rows)
    assert "Nguyễn Văn An" in first and "06/01/2026" in first  # (4) the signer, (8) the day published
    assert "Lê Thị Hoa" in second and "02/03/2026" in second  # the day in Vietnam, not in UTC
    flowing = printed.flowing
    assert "Công văn – Về việc báo cáo biên chế công chức năm 2026" in flowing
    assert "Báo cáo – Về việc số 2" in flowing
    assert "Ủy ban nhân dân tỉnh Kon Tum" in flowing  # (5) a known agency by its name
    assert MINISTRY in flowing and PROVINCE not in flowing  # an unknown one by its code
    assert "Phòng VP" in flowing  # (5) an internal unit by its name
    assert "Phòng TCBC" in flowing  # (6) the drafting unit keeps a copy
    assert "Đã thu hồi ngày 24/11/2026" in flowing  # a recalled document keeps its line and number
    assert "QĐ-SNV" not in flowing and "Dự thảo chưa ký" not in flowing and "30/12/2025" not in flowing


def test_the_entries_name_recipients_and_units_in_number_order(db, year_of_documents):
    agency = year_of_documents[0]
    entries = outgoing_entries(db, agency.id, 2026)
    assert [entry.number for entry in entries] == [1, 2, 3]
    assert entries[0].recipients == ("Ủy ban nhân dân tỉnh Kon Tum", MINISTRY, "Phòng VP")
    assert entries[0].kept_by == "Phòng TCBC" and entries[1].kept_by == ""
    assert entries[1].handed_over_on == date(2026, 3, 2)
    assert [entry.number_symbol for entry in outgoing_entries(db, agency.id, 2026, "outgoing:QĐ")] == ["01/QĐ-SNV"]


def test_another_register_of_the_agency_prints_as_its_own_book(year_of_documents, login_as, tmp_path):
    web = login_as(year_of_documents[1])
    printed = download(web, tmp_path, "so_dang_ky_van_ban_di_QD_2026.pdf", year=2026, kind="outgoing:QĐ")
    assert "SỔ ĐĂNG KÝ VĂN BẢN ĐI" in printed.text and "(QĐ)" in printed.text
    assert "Từ số 1 đến số 1" in printed.text
    assert [row[:2] for row in printed.rows] == [("01/QĐ-SNV", "10/02/2026")]
    assert "Sổ đăng ký văn bản đi (QĐ) năm 2026" in printed.text  # the running head of every page
    page = web.get("/reports/").get_data(as_text=True)
    assert "Sổ đăng ký văn bản đi: QĐ" in page
    assert "/reports/outgoing-register?year=2026&amp;kind=outgoing:Q%C4%90" in page
    assert "/reports/outgoing-register?year=2026" in page and "/reports/outgoing-register?year=2025" in page


@pytest.mark.parametrize("role", [Role.LEADER, Role.DEPUTY_LEADER, Role.ADMIN])
def test_leaders_and_admins_may_print_the_register(role, year_of_documents, make_user, login_as):
    web = login_as(make_user(year_of_documents[0], role))
    assert web.get("/reports/outgoing-register?year=2026").status_code == 200


def test_a_specialist_gets_403(year_of_documents, login_as):
    specialist_web = login_as(year_of_documents[2])
    assert specialist_web.get("/reports/outgoing-register?year=2026").status_code == 403
    assert specialist_web.get("/reports/outgoing-register?year=2026&kind=outgoing:QĐ").status_code == 403


def test_a_clerk_of_another_agency_is_refused_its_register_and_prints_only_its_own(
    year_of_documents, make_agency, make_user, login_as, tmp_path
):
    outsider = make_user(make_agency(name="Sở Y tế"), Role.CLERK)
    with pytest.raises(PermissionDenied) as refused:
        ensure_may_print_registers(outsider, year_of_documents[0])
    assert refused.value.status == 403
    printed = download(login_as(outsider), tmp_path, "so_dang_ky_van_ban_di_2026.pdf", year=2026)
    assert "SỞ Y TẾ" in printed.text and printed.rows == []
    assert "Chưa có văn bản nào được đăng ký trong năm" in printed.text


def test_an_empty_year_still_gives_the_cover_and_the_headings(db, clock, make_agency, make_user, login_as, tmp_path):
    web = login_as(make_user(make_agency(), Role.CLERK))
    printed = download(web, tmp_path, "so_dang_ky_van_ban_di_2024.pdf", year=2024)
    assert "SỔ ĐĂNG KÝ VĂN BẢN ĐI" in printed.text and "Năm: 2024" in printed.text
    assert "Từ số ………… đến số …………" in printed.text
    assert "Chưa có văn bản nào được đăng ký trong năm" in printed.text
    assert "Người ký" in printed.text and "Ghi chú" in printed.text


@pytest.mark.parametrize(
    "query", ["year=20266", "year=1899", "year=2026&kind=incoming", "year=2026&kind=outgoing:", "year=2026&kind=x"]
)
def test_a_wrong_year_or_register_is_refused(query, db, clock, make_agency, make_user, login_as):
    clerk_web = login_as(make_user(make_agency(), Role.CLERK))
    assert clerk_web.get(f"/reports/outgoing-register?{query}").status_code == 422


def test_the_registers_page_lists_the_outgoing_register_of_this_year(db, clock, make_agency, make_user, login_as):
    page = login_as(make_user(make_agency(), Role.CLERK)).get("/reports/").get_data(as_text=True)
    assert "/reports/outgoing-register?year=2026" in page  # this year, even before its first document
    assert "kind=" not in page


def test_the_command_writes_a_register_of_an_agency(app, year_of_documents, tmp_path):
    agency = year_of_documents[0]
    out = tmp_path / "register.pdf"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reports", "outgoing-register", "--agency", agency.code, "--year", "2026", str(out)])
    assert result.exit_code == 0, result.output
    assert "01/SNV-VP" in pdf_text(out.read_bytes(), tmp_path)
    args = ["reports", "outgoing-register", "--agency", agency.code, "--year", "2026", "--kind", "outgoing:QĐ"]
    result = runner.invoke(args=[*args, str(out)])
    assert result.exit_code == 0, result.output
    text = pdf_text(out.read_bytes(), tmp_path)
    assert "01/QĐ-SNV" in text and "SNV-VP" not in text
    wrong = runner.invoke(args=[*args[:-1], "incoming", str(out)])
    assert wrong.exit_code == 1 and "incoming is not an outgoing register" in wrong.output
    unknown = runner.invoke(
        args=["reports", "outgoing-register", "--agency", "999.99.99.Z99", "--year", "2026", str(out)]
    )
    assert unknown.exit_code == 1 and "999.99.99.Z99" in unknown.output


def test_the_register_reads_three_queries_however_many_documents(db, year_of_documents, make_outgoing):
    agency, _clerk, drafter = year_of_documents
    agency_id = agency.id

    def queries() -> int:
        """The statements one reading of the register sends (savepoints of the test's session aside)."""
        statements: list[str] = []
        engine = db.get_bind().engine
        listener = event.listens_for(engine, "before_cursor_execute")(lambda *args: statements.append(args[2]))
        try:
            outgoing_entries(db, agency_id, 2026)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len([statement for statement in statements if not statement.startswith(("SAVEPOINT", "RELEASE"))])

    few = queries()
    for index in range(5):
        taken = take_number(db, agency_id, "outgoing", 2026)
        make_outgoing(agency, drafter, taken, "SNV-VP", "2026-11-25", recipients=[f"000.00.0{index}.G22"], units=["VP"])
    assert len(outgoing_entries(db, agency_id, 2026)) == 8
    assert queries() == few <= 3
