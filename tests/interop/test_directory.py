"""The directory of agency codes (INT-3): the format rules, CSV and XML imports all or nothing, search,
deactivation, the administrator's pages, the agency field of forms, and the import command."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.engine import forms
from app.errors import InvalidInput, PermissionDenied
from app.interop import directory
from app.interop.directory import ImportRefused, ImportResult
from app.interop.directory_cli import directory_import
from app.interop.models import CodeKind, DirectoryEntry
from app.org.models import Role

CSV_VIETNAMESE = (
    "\ufeffMã định danh;Tên cơ quan;Mã cơ quan cha;Địa chỉ;Email;Điện thoại\n"
    "000.00.12.H34;Sở Nội vụ tỉnh Quảng Ngãi;000.00.00.H34;52 Hùng Vương, TP. Quảng Ngãi;snv@quangngai.gov.vn;0255 3822 123\n"
    "000.00.13.H34;SỞ Y TẾ TỈNH QUẢNG NGÃI;000.00.00.H34;;;\n"
).encode()

XML_ORGANS = """<?xml version="1.0" encoding="UTF-8"?>
<Organs xmlns="urn:example:danhmuc">
  <Organ>
    <OrganId>000.00.00.H49</OrganId>
    <OrganName>Ủy ban nhân dân tỉnh Quảng Nam</OrganName>
    <OrganAdd>62 Hùng Vương, Tam Kỳ</OrganAdd>
  </Organ>
  <Organ>
    <OrganId>000.00.21.H49</OrganId>
    <OrganName>Sở Tài chính tỉnh Quảng Nam</OrganName>
    <ParentId>000.00.00.H49</ParentId>
    <Email>stc@quangnam.gov.vn</Email>
    <Telephone>0235 3852 456</Telephone>
  </Organ>
</Organs>
""".encode()


@pytest.fixture
def admin(db, make_agency, make_user):
    return make_user(make_agency("000.00.01.H99", name="Văn phòng Thử nghiệm"), Role.ADMIN)


def entries(db) -> dict[str, DirectoryEntry]:
    db.expire_all()
    return {entry.code: entry for entry in db.scalars(select(DirectoryEntry))}


def add(db, clock, admin, code: str, name: str, **values) -> DirectoryEntry:
    entry = directory.save_entry(db, admin, {"code": code, "name": name, **values}, now=clock.now())
    db.commit()
    return entry


# ------------------------------------------------------------------------------------------------ the rules


def test_a_government_code_is_stripped_and_a_wrong_one_is_refused_with_the_expected_form():
    assert directory.validate_code(" 000.00.12.H34 ") == "000.00.12.H34"
    for wrong in ("000.00.12.h34", "000.0.12.H34", "000.00.12.H345", "H37.DN.001", ""):
        with pytest.raises(InvalidInput) as refused:
            directory.validate_code(wrong)
        assert "code" in refused.value.field_errors
        if wrong:
            assert wrong in str(refused.value)
            assert "000.00.12.H34" in str(refused.value)


def test_a_code_of_another_form_is_accepted_only_with_the_kind_other():
    assert directory.validate_code("H37.DN.001", CodeKind.OTHER) == "H37.DN.001"
    assert directory.validate_code("A1.B2.C3.D4.E5", CodeKind.OTHER) == "A1.B2.C3.D4.E5"
    for wrong in ("H37", "h37.dn.001", "H37..001", "A.B.C.D.E.F", "H37.DOANHNGHIEP1.001", "H37-DN-001"):
        with pytest.raises(InvalidInput) as refused:
            directory.validate_code(wrong, CodeKind.OTHER)
        assert wrong in str(refused.value)
        assert "H37.DN.001" in str(refused.value)


def test_an_entry_with_bad_fields_is_refused_field_by_field(db, clock, admin):
    with pytest.raises(InvalidInput) as refused:
        directory.save_entry(
            db,
            admin,
            {"code": "000.00.12.H34", "name": "x" * 201, "email": "không-phải-email", "transport": "http"},
            now=clock.now(),
        )
    assert set(refused.value.field_errors) == {"name", "email", "endpoint"}
    with pytest.raises(InvalidInput) as refused:
        directory.save_entry(db, admin, {"code": "000.00.12.H34", "name": "Sở", "transport": "ftp"}, now=clock.now())
    assert set(refused.value.field_errors) == {"transport"}
    assert entries(db) == {}


def test_an_administrator_adds_and_edits_an_entry_by_its_code(db, clock, admin):
    entry = add(db, clock, admin, "000.00.12.H34", "Sở Nội vụ", transport="http", endpoint="https://lgsp.example.vn/in")
    assert (entry.transport, entry.endpoint, entry.is_active, entry.updated_by) == (
        "http",
        "https://lgsp.example.vn/in",
        True,
        admin.username,
    )
    clock.advance(timedelta(hours=1))
    add(db, clock, admin, "000.00.12.H34", "Sở Nội vụ tỉnh Quảng Ngãi", transport="")
    [entry] = entries(db).values()
    assert (entry.name, entry.transport, entry.endpoint) == ("Sở Nội vụ tỉnh Quảng Ngãi", "", "")
    assert entry.updated_at == clock.now()
    with pytest.raises(InvalidInput):
        directory.save_entry(db, admin, {"code": "000.00.12.H34", "name": "Khác"}, now=clock.now(), create_only=True)


def test_only_an_administrator_changes_the_directory(db, clock, admin, make_agency, make_user):
    clerk = make_user(admin.agency, Role.CLERK)
    entry = add(db, clock, admin, "000.00.12.H34", "Sở Nội vụ")
    with pytest.raises(PermissionDenied):
        directory.save_entry(db, clerk, {"code": "000.00.13.H34", "name": "Sở Y tế"}, now=clock.now())
    with pytest.raises(PermissionDenied):
        directory.set_active(db, clerk, entry.id, False, now=clock.now())
    with pytest.raises(PermissionDenied):
        directory.import_file(db, clerk, "ds.csv", CSV_VIETNAMESE, now=clock.now())
    assert list(entries(db)) == ["000.00.12.H34"]
    assert entries(db)["000.00.12.H34"].is_active


# ------------------------------------------------------------------------------------------------ imports


def test_a_csv_list_with_vietnamese_headings_a_bom_and_semicolons_is_imported(db, clock, admin):
    result = directory.import_file(db, admin, "danh_muc.csv", CSV_VIETNAMESE, now=clock.now())
    assert result == ImportResult(added=2, updated=0, unchanged=0)
    found = entries(db)
    assert set(found) == {"000.00.12.H34", "000.00.13.H34"}
    first = found["000.00.12.H34"]
    assert (first.name, first.parent_code, first.address, first.email, first.telephone) == (
        "Sở Nội vụ tỉnh Quảng Ngãi",
        "000.00.00.H34",
        "52 Hùng Vương, TP. Quảng Ngãi",
        "snv@quangngai.gov.vn",
        "0255 3822 123",
    )
    assert (first.kind, first.is_active, first.transport, first.updated_by) == ("government", True, "", admin.username)
    assert first.updated_at == clock.now()


def test_a_csv_list_with_english_headings_and_the_kind_column_whitelists_other_codes(db, clock, admin):
    content = (
        "code,name,kind,telephone\n"
        '000.00.12.H34,"Sở Nội vụ, tỉnh Quảng Ngãi",,\n'
        "H37.DN.001,Công ty Cổ phần Phần mềm Thử nghiệm,other,0236 123\n"
    ).encode()
    assert directory.import_file(db, admin, "list.csv", content, now=clock.now()) == ImportResult(2, 0, 0)
    assert entries(db)["000.00.12.H34"].name == "Sở Nội vụ, tỉnh Quảng Ngãi"
    assert entries(db)["H37.DN.001"].kind == CodeKind.OTHER
    assert directory.other_codes(db) == {"H37.DN.001"}


def test_an_xml_list_of_organs_is_imported(db, clock, admin):
    result = directory.import_file(db, admin, "organs.xml", XML_ORGANS, now=clock.now())
    assert result == ImportResult(added=2, updated=0, unchanged=0)
    found = entries(db)
    assert found["000.00.00.H49"].name == "Ủy ban nhân dân tỉnh Quảng Nam"
    assert found["000.00.00.H49"].address == "62 Hùng Vương, Tam Kỳ"
    finance = found["000.00.21.H49"]
    assert (finance.parent_code, finance.email, finance.telephone) == (
        "000.00.00.H49",
        "stc@quangnam.gov.vn",
        "0235 3852 456",
    )


def test_an_xml_list_with_vietnamese_element_names_is_imported(db, clock, admin):
    content = (
        "<DanhMuc><CoQuan><MaDinhDanh>000.00.30.H49</MaDinhDanh><TenCoQuan>Sở Xây dựng</TenCoQuan></CoQuan>"
        "<CoQuan><MaDinhDanh>000.00.31.H49</MaDinhDanh><TenCoQuan>Sở Giáo dục và Đào tạo</TenCoQuan>"
        "<MaCoQuanCha>000.00.00.H49</MaCoQuanCha></CoQuan></DanhMuc>"
    ).encode()
    assert directory.import_file(db, admin, "dm.xml", content, now=clock.now()) == ImportResult(2, 0, 0)
    assert entries(db)["000.00.31.H49"].parent_code == "000.00.00.H49"


def test_a_bad_code_refuses_the_whole_file_with_its_line_and_reason(db, clock, admin):
    content = (
        "code,name\n"
        "000.00.12.H34,Sở Nội vụ\n"
        "000.00.13.h34,Sở Y tế\n"
        "000.00.14.H34,\n"
        "H37.DN.001,Công ty không được khai là khác\n"
    ).encode()
    with pytest.raises(ImportRefused) as refused:
        directory.import_file(db, admin, "ds.csv", content, now=clock.now())
    problems = [(p.line, p.code, p.field) for p in refused.value.problems]
    assert problems == [(3, "000.00.13.h34", "code"), (4, "000.00.14.H34", "name"), (5, "H37.DN.001", "code")]
    assert refused.value.count == 3
    first = refused.value.problems[0]
    assert first.params == {"code": "000.00.13.h34"}
    assert "000.00.12.H34" in first.message  # the reason shows the expected form
    assert entries(db) == {}


def test_duplicate_codes_in_one_file_are_refused(db, clock, admin):
    content = "code,name\n000.00.12.H34,Sở Nội vụ\n000.00.13.H34,Sở Y tế\n000.00.12.H34,Sở Nội vụ (2)\n".encode()
    with pytest.raises(ImportRefused) as refused:
        directory.import_file(db, admin, "ds.csv", content, now=clock.now())
    [problem] = refused.value.problems
    assert (problem.line, problem.code, problem.params) == (4, "000.00.12.H34", {"line": 2})
    assert entries(db) == {}


def test_at_most_twenty_problems_are_listed_but_all_are_counted(db, clock, admin):
    content = ("code,name\n" + "".join(f"{n:03}.00.12.X,Sở {n}\n" for n in range(30))).encode()
    with pytest.raises(ImportRefused) as refused:
        directory.import_file(db, admin, "ds.csv", content, now=clock.now())
    assert (len(refused.value.problems), refused.value.count) == (20, 30)
    assert refused.value.problems[-1].line == 21


def test_a_line_with_more_cells_than_columns_is_refused(db, clock, admin):
    content = "code,name\n000.00.12.H34,Sở Nội vụ,thừa\n".encode()
    with pytest.raises(ImportRefused) as refused:
        directory.import_file(db, admin, "ds.csv", content, now=clock.now())
    assert [(p.line, p.field) for p in refused.value.problems] == [(2, "")]


def test_a_second_import_updates_known_codes_and_keeps_their_transport_and_state(db, clock, admin):
    directory.import_file(db, admin, "v1.csv", CSV_VIETNAMESE, now=clock.now())
    kept = add(db, clock, admin, "000.00.99.H34", "Cơ quan không có trong tệp")
    hospital = entries(db)["000.00.13.H34"]
    directory.save_entry(
        db,
        admin,
        {"code": hospital.code, "name": hospital.name, "transport": "http", "endpoint": "https://yte.example.vn/edxml"},
        now=clock.now(),
    )
    directory.set_active(db, admin, hospital.id, False, now=clock.now())
    second = (
        "code;name;address\n"
        "000.00.12.H34;Sở Nội vụ tỉnh Quảng Ngãi;52 Hùng Vương, TP. Quảng Ngãi\n"
        "000.00.13.H34;Sở Y tế tỉnh Quảng Ngãi;\n"
        "000.00.15.H34;Sở Tư pháp tỉnh Quảng Ngãi;\n"
    ).encode()
    result = directory.import_file(db, None, "v2.csv", second, now=clock.now(), actor="nightly")
    assert result == ImportResult(added=1, updated=1, unchanged=1)
    found = entries(db)
    assert found["000.00.12.H34"].email == "snv@quangngai.gov.vn"  # no e-mail column: kept
    assert found["000.00.13.H34"].address == ""  # an empty cell of a column the file has: emptied
    assert found["000.00.13.H34"].name == "Sở Y tế tỉnh Quảng Ngãi"
    assert (found["000.00.13.H34"].transport, found["000.00.13.H34"].endpoint) == (
        "http",
        "https://yte.example.vn/edxml",
    )
    assert found["000.00.13.H34"].is_active is False
    assert found["000.00.15.H34"].updated_by == "nightly"
    assert found[kept.code].is_active  # not in the file, not deactivated
    again = directory.import_file(db, admin, "v2.csv", second, now=clock.now())
    assert again == ImportResult(added=0, updated=0, unchanged=3)


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"",
        "họ tên,ngày sinh\nNguyễn Văn A,01/01/1990\n".encode(),
        b"<Organs><Organ><OrganId>000.00.12.H34</OrganId>",
        b'<?xml version="1.0"?><!DOCTYPE Organs [<!ENTITY x "y">]><Organs><Organ><OrganId>000.00.12.H34</OrganId>'
        b"<OrganName>&x;</OrganName></Organ></Organs>",
        b"<Organs><Note>nothing here</Note></Organs>",
    ],
    ids=["binary", "empty", "no-code-column", "truncated-xml", "doctype", "no-organs"],
)
def test_a_file_that_is_not_a_list_of_agency_codes_is_refused(db, clock, admin, content):
    with pytest.raises(InvalidInput) as refused:
        directory.import_file(db, admin, "tep.dat", content, now=clock.now())
    assert "file" in refused.value.field_errors
    assert not isinstance(refused.value, ImportRefused)
    assert entries(db) == {}


def test_a_file_over_ten_megabytes_is_refused(db, clock, admin):
    content = b"code,name\n" + b"000.00.12.H34,S\n" * (directory.MAX_IMPORT_BYTES // 16 + 1)
    with pytest.raises(InvalidInput) as refused:
        directory.import_file(db, admin, "lon.csv", content, now=clock.now())
    assert "10 MB" in refused.value.message
    assert entries(db) == {}


# ------------------------------------------------------------------------------------------------ reading


def test_search_finds_a_code_prefix_or_part_of_a_name_ignoring_case(db, clock, admin):
    directory.import_file(db, admin, "ds.csv", CSV_VIETNAMESE, now=clock.now())
    directory.import_file(db, admin, "ds.xml", XML_ORGANS, now=clock.now())
    codes = lambda found: [entry.code for entry in found]  # noqa: E731
    assert codes(directory.search(db, "000.00.1")) == ["000.00.12.H34", "000.00.13.H34"]
    assert codes(directory.search(db, "sở y tế")) == ["000.00.13.H34"]  # stored as SỞ Y TẾ
    assert codes(directory.search(db, "QUẢNG NAM")) == ["000.00.00.H49", "000.00.21.H49"]
    assert codes(directory.search(db, "h49")) == []  # the code is matched from its start, not inside
    assert codes(directory.search(db, "")) == ["000.00.00.H49", "000.00.12.H34", "000.00.13.H34", "000.00.21.H49"]
    assert codes(directory.search(db, "Sở", limit=2)) == ["000.00.12.H34", "000.00.13.H34"]


def test_a_deactivated_entry_is_no_longer_used_until_it_is_reactivated(db, clock, admin):
    other = add(db, clock, admin, "H37.DN.001", "Công ty Thử nghiệm", kind=CodeKind.OTHER)
    assert directory.entry_for(db, "H37.DN.001") is not None
    assert directory.other_codes(db) == {"H37.DN.001"}
    directory.set_active(db, admin, other.id, False, now=clock.now())
    assert directory.entry_for(db, "H37.DN.001") is None
    assert directory.other_codes(db) == set()
    assert [e.code for e in directory.search(db, "H37", include_inactive=False)] == []
    assert [e.code for e in directory.search(db, "H37")] == ["H37.DN.001"]
    assert directory.counts(db) == directory.DirectoryCounts(active=0, inactive=1)
    directory.set_active(db, admin, other.id, True, now=clock.now())
    assert directory.entry_for(db, "H37.DN.001").name == "Công ty Thử nghiệm"
    assert directory.other_codes(db) == {"H37.DN.001"}


def test_the_agency_field_offers_directory_entries_after_the_installation_agencies(db, clock, admin, make_agency):
    ours = admin.agency
    neighbour = make_agency("000.00.02.H99", name="Sở Láng giềng")
    add(db, clock, admin, "000.00.12.H34", "Sở Nội vụ tỉnh Quảng Ngãi")
    add(db, clock, admin, neighbour.code, "Sở Láng giềng (danh mục)")  # also in the installation: listed once
    add(db, clock, admin, ours.code, "Văn phòng Thử nghiệm (danh mục)")  # the asking agency itself: not offered
    closed = add(db, clock, admin, "000.00.13.H34", "Sở Đã đóng")
    directory.set_active(db, admin, closed.id, False, now=clock.now())
    field = {"name": "recipient", "type": "agency"}
    choices = forms.options_for(db, ours.id, "vi")(field)
    assert [(c.value, c.label) for c in choices] == [
        ("000.00.02.H99", "Sở Láng giềng"),
        ("000.00.12.H34", "Sở Nội vụ tỉnh Quảng Ngãi (000.00.12.H34)"),
    ]
    definition = {"fields": [field]}
    options = forms.options_for(db, ours.id, "vi")
    assert forms.clean_submission(definition, {"recipient": "000.00.12.H34"}, options) == {"recipient": "000.00.12.H34"}
    with pytest.raises(InvalidInput):
        forms.clean_submission(definition, {"recipient": "000.00.13.H34"}, options)


# ------------------------------------------------------------------------------------------------ web


def table(response) -> str:
    """The directory's table of entries on a page (not the flashed messages above it)."""
    html = response.get_data(as_text=True)
    return html[html.index('id="entries"') : html.index("</table>", html.index('id="entries"'))]


def upload(client, url: str, name: str, content: bytes, page: str = "/directory/"):
    return client.post(url, {"file": (io.BytesIO(content), name)}, page=page, content_type="multipart/form-data")


def test_an_administrator_imports_a_list_on_the_page(db, admin, login_as):
    web = login_as(admin)
    page = web.get("/directory/").get_data(as_text=True)
    assert 'href="/directory/"' in page  # the menu link
    response = upload(web, "/directory/import", "danh_muc.csv", CSV_VIETNAMESE)
    assert response.status_code == 302
    assert set(entries(db)) == {"000.00.12.H34", "000.00.13.H34"}
    listing = table(web.get("/directory/?q=y+t%E1%BA%BF"))
    assert "SỞ Y TẾ TỈNH QUẢNG NGÃI" in listing
    assert "Sở Nội vụ tỉnh Quảng Ngãi" not in listing


def test_the_import_page_lists_the_bad_lines_and_writes_nothing(db, admin, login_as):
    web = login_as(admin)
    content = "code,name\n000.00.12.H34,Sở Nội vụ\n000.00.13.H3,Sở Y tế\n".encode()
    response = upload(web, "/directory/import", "ds.csv", content)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    table = html[html.index('id="import-problems"') :]
    assert re.search(r"<td[^>]*>3</td>\s*<td[^>]*>000\.00\.13\.H3</td>", table)
    assert "000.00.12.H34" in table[table.index("000.00.13.H3") :]  # the reason shows the expected form
    assert entries(db) == {}


def test_an_administrator_adds_edits_deactivates_and_reactivates_an_entry(db, admin, login_as):
    web = login_as(admin)
    form = {"code": "H37.DN.001", "name": "Công ty Thử nghiệm", "kind": "government", "transport": ""}
    refused = web.post("/directory/new", form)
    assert refused.status_code == 422
    assert 'value="H37.DN.001"' in refused.get_data(as_text=True)  # the form keeps what was typed
    assert entries(db) == {}
    assert web.post("/directory/new", form | {"kind": "other"}).status_code == 302
    entry = entries(db)["H37.DN.001"]
    assert (entry.kind, entry.updated_by) == ("other", admin.username)
    edit = f"/directory/{entry.id}/edit"
    assert web.post(edit, form | {"kind": "other", "transport": "http", "endpoint": "ftp://x"}).status_code == 422
    changed = form | {
        "kind": "other",
        "name": "Công ty CP Thử nghiệm",
        "transport": "http",
        "endpoint": "https://dn.example.vn/",
    }
    assert web.post(edit, changed).status_code == 302
    entry = entries(db)["H37.DN.001"]
    assert (entry.name, entry.transport, entry.endpoint) == ("Công ty CP Thử nghiệm", "http", "https://dn.example.vn/")
    assert web.post(f"/directory/{entry.id}/deactivate", page="/directory/").status_code == 302
    assert entries(db)["H37.DN.001"].is_active is False
    assert "H37.DN.001" not in table(web.get("/directory/"))
    assert "H37.DN.001" in table(web.get("/directory/?inactive=1"))
    assert web.post(f"/directory/{entry.id}/reactivate", page="/directory/").status_code == 302
    assert entries(db)["H37.DN.001"].is_active is True


def test_clerks_and_leaders_read_the_directory_and_others_are_refused(db, clock, admin, make_user, login_as):
    entry = add(db, clock, admin, "000.00.12.H34", "Sở Nội vụ")
    clerk = login_as(make_user(admin.agency, Role.CLERK))
    leader = login_as(make_user(admin.agency, Role.LEADER))
    specialist = login_as(make_user(admin.agency, Role.SPECIALIST))
    for reader in (clerk, leader):
        page = reader.get("/directory/")
        assert page.status_code == 200
        assert "000.00.12.H34" in page.get_data(as_text=True)
        assert 'id="import-form"' not in page.get_data(as_text=True)
    assert specialist.get("/directory/").status_code == 403
    token = clerk.token("/directory/")
    for url in (
        "/directory/import",
        "/directory/new",
        f"/directory/{entry.id}/edit",
        f"/directory/{entry.id}/deactivate",
    ):
        assert (
            clerk.client.post(url, data={"csrf_token": token, "code": "000.00.13.H34", "name": "X"}).status_code == 403
        )
    assert clerk.get("/directory/new").status_code == 403
    assert set(entries(db)) == {"000.00.12.H34"}
    assert entries(db)["000.00.12.H34"].is_active


# ------------------------------------------------------------------------------------------------ command line


def test_the_import_command_prints_the_counts_or_every_bad_line(app, db, tmp_path):
    runner = app.test_cli_runner()
    good = tmp_path / "organs.xml"
    good.write_bytes(XML_ORGANS)
    result = runner.invoke(directory_import, [str(good), "--actor", "ops"])
    assert result.exit_code == 0, result.output
    assert re.search(r"\b2\b.*\b0\b.*\b0\b", result.output)
    assert entries(db)["000.00.21.H49"].updated_by == "ops"
    bad = tmp_path / "ds.csv"
    bad.write_bytes("code,name\n000.00.30.H49,Sở Xây dựng\n000.00.31,Sở Giáo dục\n".encode())
    result = runner.invoke(directory_import, [str(bad)])
    assert result.exit_code == 1
    assert "3" in result.output and "000.00.31" in result.output
    assert "000.00.30.H49" not in entries(db)
