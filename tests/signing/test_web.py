"""Keys, signing, sealing, digitising and the signature panel through the web and the CLI, on the database."""

from __future__ import annotations

import base64
import io

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, utils
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from flask import Flask
from sqlalchemy import select

from app.documents.models import Attachment, IncomingDocument
from app.errors import InvalidInput
from app.org.models import Role
from app.signing import services
from app.signing.models import AnchorKind
from tests.inbox.test_incoming_flow import REGISTRATION
from tests.signing.conftest import PASSWORD, make_draft, make_png

SECRET = "test-signing-secret"


@pytest.fixture
def trusted(db, clock, test_pki):
    """The test PKI's root, intermediate and CRLs as the installation's trust anchors."""
    services.store_trust_anchor(db, AnchorKind.ROOT, "root", test_pki.root_pem.read_bytes(), now=clock.now())
    services.store_trust_anchor(
        db, AnchorKind.INTERMEDIATE, "sub", test_pki.intermediate_pem.read_bytes(), now=clock.now()
    )
    for crl in test_pki.crls:
        services.store_trust_anchor(db, AnchorKind.CRL, crl.name, crl.read_bytes(), now=clock.now())
    db.commit()
    return test_pki


@pytest.fixture
def signing_app(app: Flask):
    original = app.config["SIGNING_SECRET"]
    app.config["SIGNING_SECRET"] = SECRET
    yield app
    app.config["SIGNING_SECRET"] = original


def give_key(db, clock, agency, user, p12_path, image=None):
    services.store_pkcs12(
        db,
        agency=agency,
        user=user,
        data=p12_path.read_bytes(),
        password=PASSWORD,
        image_png=image,
        secret=SECRET,
        actor="test",
        now=clock.now(),
    )
    db.commit()


def upload(client, url, fields, files, page=None):
    token = client.token(page or url)
    data = {**fields, "csrf_token": token}
    for name, (filename, content) in files.items():
        data[name] = (io.BytesIO(content), filename)
    return client.client.post(url, data=data, content_type="multipart/form-data")


def test_an_administrator_imports_a_key_and_the_leader_signs_a_pdf(
    db, clock, signing_app, trusted, make_agency, make_user, login_as
):
    agency = make_agency()
    admin = login_as(make_user(agency, Role.ADMIN))
    leader = make_user(agency, Role.LEADER)
    response = upload(
        admin,
        "/signing/keys",
        {"owner": leader.username, "password": PASSWORD},
        {
            "pkcs12": ("hung.p12", trusted.person_p12["hung"].read_bytes()),
            "image": ("sig.png", make_png((20, 40, 170), (300, 100))),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert "Nguyễn Văn Hùng" in admin.get("/signing/keys").get_data(as_text=True)
    signed = upload(login_as(leader), "/signing/sign", {"password": PASSWORD}, {"file": ("du_thao.pdf", make_draft())})
    assert signed.status_code == 200 and signed.mimetype == "application/pdf"
    result = services.verify_document(db, signed.data, now=clock.now())
    assert result.all_valid and result.signatures[0].signer_name == "Nguyễn Văn Hùng"


def test_a_wrong_key_password_is_refused_in_the_users_language(
    db, clock, signing_app, trusted, make_agency, make_user, login_as
):
    agency = make_agency()
    leader = make_user(agency, Role.LEADER)
    give_key(db, clock, agency, leader, trusted.person_p12["hung"])
    response = upload(login_as(leader), "/signing/sign", {"password": "wrong"}, {"file": ("a.pdf", make_draft())})
    assert response.status_code == 422
    assert "Mật khẩu khóa hoặc mã PIN không đúng" in response.get_data(as_text=True)


def test_a_clerk_or_another_agencys_administrator_cannot_import_keys(
    db, clock, signing_app, trusted, make_agency, make_user, login_as
):
    agency = make_agency()
    files = {"pkcs12": ("hung.p12", trusted.person_p12["hung"].read_bytes())}
    clerk = login_as(make_user(agency, Role.CLERK))
    assert upload(clerk, "/signing/keys", {"owner": "agency", "password": PASSWORD}, files).status_code == 403
    outsider = login_as(make_user(make_agency(), Role.ADMIN))
    target = make_user(agency, Role.LEADER)
    assert upload(outsider, "/signing/keys", {"owner": target.username, "password": PASSWORD}, files).status_code == 404


def test_the_verify_page_names_the_signers_and_a_changed_file_fails(
    db, clock, signing_app, trusted, make_agency, make_user, login_as
):
    agency = make_agency()
    leader = make_user(agency, Role.LEADER)
    give_key(db, clock, agency, leader, trusted.person_p12["hung"])
    signed = services.sign_personal(db, leader, make_draft(), PASSWORD, secret=SECRET, now=clock.now())
    client = login_as(make_user(agency, Role.SPECIALIST))
    page = upload(client, "/signing/verify", {}, {"file": ("a.pdf", signed)}).get_data(as_text=True)
    assert "Nguyễn Văn Hùng" in page and 'data-all-valid="true"' in page
    tampered = bytearray(signed)
    position = tampered.index(b"stream") + 20
    tampered[position] ^= 0xFF
    page = upload(client, "/signing/verify", {}, {"file": ("a.pdf", bytes(tampered))}).get_data(as_text=True)
    assert 'data-all-valid="false"' in page
    refused = upload(client, "/signing/verify", {}, {"file": ("a.pdf", b"<html>not a pdf</html>")})
    assert refused.status_code == 422


def test_a_paper_document_is_digitised_and_signed_with_the_agency_certificate(
    db, clock, signing_app, trusted, make_agency, make_user, login_as
):
    agency = make_agency()
    make_user(agency, Role.LEADER)
    give_key(db, clock, agency, None, trusted.agency_p12["UBND"], make_png((200, 20, 20), (300, 300), ring=True))
    clerk = login_as(make_user(agency, Role.CLERK))
    token = clerk.token("/documents/incoming/new")
    data = {
        **REGISTRATION,
        "csrf_token": token,
        "is_paper": "on",
        "attachment": [
            (io.BytesIO(make_png((240, 240, 240), (1654, 2339))), "trang1.png"),
            (io.BytesIO(make_png((250, 250, 250), (1654, 2339))), "trang2.png"),
        ],
    }
    response = clerk.client.post("/documents/incoming/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    document = db.scalar(select(IncomingDocument).where(IncomingDocument.agency_id == agency.id))
    (attachment,) = db.scalars(select(Attachment).where(Attachment.document_id == document.id)).all()
    assert document.is_paper and attachment.file_name.endswith(".pdf")
    result = services.verify_document(db, attachment.content, now=clock.now())
    assert result.all_valid and result.signatures[0].signer_name == "ỦY BAN NHÂN DÂN TỈNH THỬ NGHIỆM"
    page = clerk.get(f"/documents/incoming/{document.id}").get_data(as_text=True)
    assert 'data-all-valid="true"' in page and "return-proposal" not in page


def test_a_document_signed_with_a_revoked_certificate_is_proposed_for_return(
    db, clock, signing_app, trusted, make_agency, make_user, login_as
):
    agency = make_agency()
    make_user(agency, Role.LEADER)
    revoked = make_user(agency, Role.SPECIALIST)
    give_key(db, clock, agency, revoked, trusted.revoked_p12)
    signed = services.sign_personal(db, revoked, make_draft(), PASSWORD, secret=SECRET, now=clock.now())
    clerk = login_as(make_user(agency, Role.CLERK))
    token = clerk.token("/documents/incoming/new")
    data = {**REGISTRATION, "csrf_token": token, "attachment": (io.BytesIO(signed), "cong_van.pdf")}
    assert (
        clerk.client.post("/documents/incoming/new", data=data, content_type="multipart/form-data").status_code == 302
    )
    document = db.scalar(select(IncomingDocument).where(IncomingDocument.agency_id == agency.id))
    page = clerk.get(f"/documents/incoming/{document.id}").get_data(as_text=True)
    assert 'id="return-proposal"' in page
    assert "thu hồi" in page  # "Chứng thư số đã bị thu hồi."


def test_a_leader_signs_on_a_personal_token_in_two_requests(
    db, clock, signing_app, trusted, make_agency, make_user, login_as
):
    agency = make_agency()
    leader = make_user(agency, Role.LEADER)
    give_key(db, clock, agency, leader, trusted.person_p12["hung"])
    key, certificate, chain = pkcs12.load_key_and_certificates(
        trusted.person_p12["hung"].read_bytes(), PASSWORD.encode()
    )
    client = login_as(leader)
    headers = {"X-CSRFToken": client.token("/signing/sign")}
    payload = {
        "pdf": base64.b64encode(make_draft()).decode(),
        "certificate": base64.b64encode(certificate.public_bytes(Encoding.DER)).decode(),
        "chain": [base64.b64encode(c.public_bytes(Encoding.DER)).decode() for c in chain],
    }
    prepared = client.client.post("/signing/external", json=payload, headers=headers)
    assert prepared.status_code == 201, prepared.get_data(as_text=True)[:1000]
    to_sign = base64.b64decode(prepared.json["hash_to_sign"])
    signature = key.sign(to_sign, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))  # what the token does
    finished = client.client.post(
        f"/signing/external/{prepared.json['id']}",
        json={"signature": base64.b64encode(signature).decode()},
        headers=headers,
    )
    assert finished.status_code == 200
    assert services.verify_document(db, finished.data, now=clock.now()).all_valid
    again = client.client.post(
        f"/signing/external/{prepared.json['id']}",
        json={"signature": base64.b64encode(signature).decode()},
        headers=headers,
    )
    assert again.status_code == 422


def test_signing_sign_seal_and_verify_commands(app, db, clock, signing_app, trusted, make_agency, make_user, tmp_path):
    agency = make_agency()
    agency.place_name = "Kon Tum"
    leader = make_user(agency, Role.LEADER)
    give_key(db, clock, agency, leader, trusted.person_p12["hung"])
    give_key(db, clock, agency, None, trusted.agency_p12["UBND"])
    (tmp_path / "draft.pdf").write_bytes(make_draft())
    runner = app.test_cli_runner()
    signed = runner.invoke(
        args=[
            "signing",
            "sign",
            str(tmp_path / "draft.pdf"),
            str(tmp_path / "signed.pdf"),
            "--user",
            leader.username,
            "--password",
            PASSWORD,
        ]
    )
    assert signed.exit_code == 0, signed.output
    sealed = runner.invoke(
        args=[
            "signing",
            "seal",
            str(tmp_path / "signed.pdf"),
            str(tmp_path / "sealed.pdf"),
            "--agency",
            agency.code,
            "--number",
            "12/QĐ-STN",
            "--date",
            "2026-11-24",
        ]
    )
    assert sealed.exit_code == 0, sealed.output
    verified = runner.invoke(args=["signing", "verify", str(tmp_path / "sealed.pdf")])
    assert verified.exit_code == 0, verified.output
    assert verified.output.count("VALID") == 2 and "INVALID" not in verified.output
    unsigned = runner.invoke(args=["signing", "verify", str(tmp_path / "draft.pdf")])
    assert unsigned.exit_code == 1 and "no digital signature" in unsigned.output


def test_a_leader_whose_key_is_on_a_pkcs11_token_signs_with_the_pin(
    db, clock, signing_app, trusted, softhsm_token, make_agency, make_user, login_as
):
    agency = make_agency()
    admin = login_as(make_user(agency, Role.ADMIN))
    leader = make_user(agency, Role.LEADER)
    _key, certificate, _chain = pkcs12.load_key_and_certificates(
        trusted.person_p12["hung"].read_bytes(), PASSWORD.encode()
    )
    form = {
        "owner": leader.username,
        "module_path": softhsm_token.module_path,
        "token_label": softhsm_token.token_label,
        "key_label": softhsm_token.key_label,
        "cert_label": softhsm_token.cert_label,
    }
    response = upload(
        admin,
        "/signing/keys/token",
        form,
        {"certificate": ("hung.pem", certificate.public_bytes(Encoding.PEM))},
        page="/signing/keys",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    client = login_as(leader)
    assert upload(client, "/signing/sign", {"password": "9999"}, {"file": ("a.pdf", make_draft())}).status_code == 422
    signed = upload(client, "/signing/sign", {"password": softhsm_token.pin}, {"file": ("a.pdf", make_draft())})
    assert signed.status_code == 200, signed.get_data(as_text=True)[:2000]
    assert services.verify_document(db, signed.data, now=clock.now()).all_valid


def test_an_appendix_in_its_own_file_gets_the_agency_signature_from_the_cli(
    app, db, clock, signing_app, trusted, make_agency, tmp_path
):
    agency = make_agency()
    give_key(db, clock, agency, None, trusted.agency_p12["UBND"])
    (tmp_path / "phu_luc.pdf").write_bytes(make_draft())
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "signing",
            "seal",
            str(tmp_path / "phu_luc.pdf"),
            str(tmp_path / "out.pdf"),
            "--agency",
            agency.code,
            "--number",
            "12/QĐ-STN",
            "--appendix",
        ]
    )
    assert result.exit_code == 0, result.output
    verification = services.verify_document(db, (tmp_path / "out.pdf").read_bytes(), now=clock.now())
    assert verification.all_valid and verification.signatures[0].signer_name == "ỦY BAN NHÂN DÂN TỈNH THỬ NGHIỆM"


def test_an_agency_token_needs_its_pin_recorded(db, clock, signing_app, trusted, make_agency, make_user):
    agency = make_agency()
    admin = make_user(agency, Role.ADMIN)
    config = {"module_path": "/x.so", "token_label": "T", "key_label": "k", "cert_label": "c"}
    with pytest.raises(InvalidInput):
        services.configure_pkcs11(
            db,
            admin,
            agency=agency,
            user=None,
            config=config,
            certificate=trusted.root_pem.read_bytes(),
            image_png=None,
            secret=SECRET,
            now=clock.now(),
        )


def test_the_clerk_numbers_and_seals_what_the_leader_signed_and_both_signatures_hold(
    db, clock, signing_app, trusted, make_agency, make_user, login_as
):
    agency = make_agency()
    leader = make_user(agency, Role.LEADER)
    give_key(db, clock, agency, leader, trusted.person_p12["hung"])
    give_key(db, clock, agency, None, trusted.agency_p12["UBND"], make_png((200, 20, 20), (300, 300), ring=True))
    signed = upload(login_as(leader), "/signing/sign", {"password": PASSWORD}, {"file": ("qd.pdf", make_draft())}).data
    clerk = login_as(make_user(agency, Role.CLERK))
    sealed = upload(clerk, "/signing/seal", {"number": "12/QĐ-STN"}, {"file": ("qd_da_ky.pdf", signed)})
    assert sealed.status_code == 200, sealed.get_data(as_text=True)[:2000]
    result = services.verify_document(db, sealed.data, now=clock.now())
    assert [s.bottom_line for s in result.signatures] == [True, True]
    assert [s.signer_name for s in result.signatures] == ["Nguyễn Văn Hùng", "ỦY BAN NHÂN DÂN TỈNH THỬ NGHIỆM"]
    specialist = login_as(make_user(agency, Role.SPECIALIST))
    assert upload(specialist, "/signing/seal", {"number": "1/X"}, {"file": ("a.pdf", signed)}).status_code == 403
