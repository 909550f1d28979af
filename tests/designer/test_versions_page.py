"""A process designer uploads an agency's diagram; a broken one is refused with element-level messages."""

from __future__ import annotations

import io

from sqlalchemy import select

from app.engine.models import ProcessDefinition
from app.org.models import Role
from config import ROOT


def upload(client, name: str, content: bytes):
    token = client.token("/designer/")
    return client.client.post(
        "/designer/",
        data={"csrf_token": token, "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def test_a_designer_deploys_an_override_for_the_agency_and_sees_it_listed(db, clock, make_agency, make_user, login_as):
    agency = make_agency()
    designer = login_as(make_user(agency, Role.DESIGNER))
    xml = (
        (ROOT / "processes" / "_default" / "incoming.bpmn").read_bytes().replace(b"deadline_days", b"deadline_days + 1")
    )
    response = upload(designer, "incoming.bpmn", xml)
    assert response.status_code == 302
    deployed = db.scalar(select(ProcessDefinition).where(ProcessDefinition.scope == agency.code))
    assert (deployed.process_key, deployed.version) == ("incoming", 1)
    page = designer.get("/designer/").get_data(as_text=True)
    assert agency.code in page and "v1" in page


def test_a_broken_upload_is_refused_with_the_element_and_line(db, clock, make_agency, make_user, login_as):
    agency = make_agency()
    designer = login_as(make_user(agency, Role.DESIGNER))
    xml = (ROOT / "processes" / "_default" / "incoming.bpmn").read_bytes()
    broken = xml.replace(b'name="Chuy\xc3\xaan vi\xc3\xaan"', b'name="Th\xe1\xbb\xa7 kho"')
    response = upload(designer, "incoming.bpmn", broken)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "handle (line" in page and "Thủ kho" in page
    assert db.scalar(select(ProcessDefinition).where(ProcessDefinition.scope == agency.code)) is None


def test_a_file_that_is_not_bpmn_is_refused_in_the_users_language(db, clock, make_agency, make_user, login_as):
    designer = login_as(make_user(make_agency(), Role.DESIGNER))
    response = upload(designer, "notes.txt", b"hello")
    assert response.status_code == 422
    assert "Chỉ triển khai được tệp .bpmn" in response.get_data(as_text=True) or ".bpmn" in response.get_data(
        as_text=True
    )


def test_a_specialist_cannot_deploy(db, clock, make_agency, make_user, login_as):
    specialist = login_as(make_user(make_agency(), Role.SPECIALIST))
    assert specialist.get("/designer/").status_code == 403
    xml = (ROOT / "processes" / "_default" / "incoming.bpmn").read_bytes()
    token = specialist.token("/inbox/")
    response = specialist.client.post(
        "/designer/",
        data={"csrf_token": token, "file": (io.BytesIO(xml), "incoming.bpmn")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403


def test_processes_deploy_command_refuses_a_broken_file_and_deploys_a_good_one(app, db, clock, tmp_path):
    runner = app.test_cli_runner()
    bad = tmp_path / "incoming.bpmn"
    bad.write_bytes(b"<bpmn:definitions")
    refused = runner.invoke(args=["processes", "deploy", str(bad), "--agency", "_default"])
    assert refused.exit_code == 1
    assert "well-formed" in refused.output
    good = tmp_path / "good" / "incoming.bpmn"
    good.parent.mkdir()
    good.write_bytes(
        (ROOT / "processes" / "_default" / "incoming.bpmn").read_bytes().replace("Hoàn thành".encode(), b"Xong")
    )
    deployed = runner.invoke(args=["processes", "deploy", str(good), "--agency", "_default"])
    assert deployed.exit_code == 0, deployed.output
    assert "deployed: _default/incoming v" in deployed.output
