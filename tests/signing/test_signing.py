"""The leader's signature and the agency's seal on an outgoing document, validated by pyHanko."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from io import BytesIO

import pytest

from app.signing import keys, pdf
from app.signing.pki import TestPki
from tests.signing.conftest import AGENCY_NAME, DATE_LINE, NOW, NUMBER, Trust, appearance_text, widget_rect


def test_personal_signature_validates_and_shows_the_vietnamese_name(leader_signed: bytes, trust: Trust) -> None:
    result = trust.verify(leader_signed)

    (report,) = result.signatures
    assert result.is_signed and result.all_valid
    assert (report.field_name, report.signer_name, report.organization) == (
        "ChuKyLanhDao",
        "Nguyễn Văn Hùng",
        AGENCY_NAME,
    )
    assert report.is_intact and report.is_valid and report.is_trusted and report.covers_whole_document
    assert report.problem is None
    assert report.signing_time == NOW
    assert report.signing_time is not None and report.signing_time.utcoffset() == timedelta(hours=7)


def test_personal_stamp_shows_name_position_agency_and_vietnam_time(leader_signed: bytes) -> None:
    text = appearance_text(leader_signed, "ChuKyLanhDao")

    assert text.splitlines() == [
        "Ký bởi: Nguyễn Văn Hùng",
        "CHỦ TỊCH",
        AGENCY_NAME,
        "Thời gian ký: 24/11/2026 10:15:30 +07:00",
    ]


def test_personal_signature_sits_in_the_default_box_of_the_last_page(leader_signed: bytes) -> None:
    assert widget_rect(leader_signed, "ChuKyLanhDao") == pdf.PERSONAL_BOX


def test_leader_then_seal_both_validate_with_the_number_in_its_field(sealed: bytes, trust: Trust) -> None:
    result = trust.verify(sealed, at=NOW + timedelta(hours=2))

    leader, seal = result.signatures
    assert result.all_valid
    assert leader.summary == "INTACT:TRUSTED,EXTENDED_WITH_FORM_FILLING,ACCEPTABLE_MODIFICATIONS"
    assert not leader.covers_whole_document and not leader.is_changed_after_signing
    assert (seal.field_name, seal.signer_name, seal.summary) == ("ChuKyCoQuan", AGENCY_NAME, "INTACT:TRUSTED,UNTOUCHED")
    assert appearance_text(sealed, "so_ky_hieu") == NUMBER
    assert appearance_text(sealed, "ngay_ban_hanh") == DATE_LINE


def test_seal_covers_the_left_third_of_the_signature_image(sealed: bytes) -> None:
    x1, y1, x2, y2 = widget_rect(sealed, "ChuKyCoQuan")
    box_x1, box_y1, _box_x2, _box_y2 = pdf.PERSONAL_BOX
    # The 300×100 test image fills the box width less the text band: 168 pt wide, from x = 321.
    image_left, image_width = box_x1 + 21, 168

    assert x2 == pytest.approx(image_left + image_width / 3, abs=1.5)
    assert x2 - x1 == pytest.approx(pdf.SEAL_WIDTH, abs=1)  # real size: 38 mm
    assert y1 < box_y1 + pdf.PERSONAL_TEXT_BAND + 28 < y2  # centred on the image


def test_sealing_a_document_without_number_fields_is_refused(
    draft: bytes, leader: keys.Signer, agency: keys.Signer, sign_as_leader: Callable[..., bytes]
) -> None:
    unprepared = sign_as_leader(draft, leader)

    with pytest.raises(keys.SigningFailure) as raised:
        pdf.seal_agency(unprepared, agency, number=NUMBER, date_line=DATE_LINE, seal_png=None, signed_at=NOW)

    assert raised.value.message == "The document has no number and date fields; prepare it before the leader signs."


def test_sealing_twice_is_refused(sealed: bytes, agency: keys.Signer) -> None:
    with pytest.raises(keys.SigningFailure) as raised:
        pdf.seal_agency(sealed, agency, number=NUMBER, date_line=DATE_LINE, seal_png=None, signed_at=NOW)

    assert raised.value.message == pdf.NUMBER_ALREADY_FILLED


def test_prepare_draft_adds_the_fields_once(draft: bytes) -> None:
    prepared = pdf.prepare_draft(draft)

    assert prepared.startswith(draft)  # incremental: the original bytes stay as they were
    assert pdf.prepare_draft(prepared) == prepared
    assert widget_rect(prepared, "so_ky_hieu") == pdf.NUMBER_RECT
    assert widget_rect(prepared, "ngay_ban_hanh") == pdf.DATE_RECT


def test_fields_cannot_be_added_after_the_leader_signed(
    draft: bytes, leader: keys.Signer, sign_as_leader: Callable[..., bytes]
) -> None:
    with pytest.raises(keys.SigningFailure) as raised:
        pdf.prepare_draft(sign_as_leader(draft, leader))

    assert raised.value.message == pdf.FIELDS_AFTER_SIGNING


def test_two_personal_signatures_in_sequence_both_validate(
    leader_signed: bytes,
    test_pki: TestPki,
    load_signer: Callable[..., keys.Signer],
    trust: Trust,
    sign_as_leader: Callable[..., bytes],
) -> None:
    second = sign_as_leader(
        leader_signed,
        load_signer(test_pki.person_p12["lan"]),
        full_name="Trần Thị Lan",
        position="PHÓ CHỦ TỊCH",
        box=(90.0, 140.0, 290.0, 240.0),
        field_name="ChuKyPhoChuTich",
        signed_at=NOW + timedelta(minutes=1),
    )

    first, then = trust.verify(second).signatures
    assert first.bottom_line and then.bottom_line
    assert (first.signer_name, then.signer_name) == ("Nguyễn Văn Hùng", "Trần Thị Lan")
    assert first.summary == "INTACT:TRUSTED,EXTENDED_WITH_FORM_FILLING,ACCEPTABLE_MODIFICATIONS"


def test_signing_the_same_field_twice_is_refused(
    leader_signed: bytes, leader: keys.Signer, sign_as_leader: Callable[..., bytes]
) -> None:
    with pytest.raises(keys.SigningFailure) as raised:
        sign_as_leader(leader_signed, leader)

    assert raised.value.message == pdf.ALREADY_SIGNED_HERE


def test_ten_page_document_is_signed_on_its_last_page(
    draft_10_pages: bytes,
    leader: keys.Signer,
    agency: keys.Signer,
    red_png: bytes,
    trust: Trust,
    sign_as_leader: Callable[..., bytes],
) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader

    signed = sign_as_leader(pdf.prepare_draft(draft_10_pages), leader)
    sealed = pdf.seal_agency(signed, agency, number=NUMBER, date_line=DATE_LINE, seal_png=red_png, signed_at=NOW)

    assert trust.verify(sealed).all_valid
    reader = PdfFileReader(BytesIO(sealed), strict=False)
    last_page_annots = [ref.get_object()["/T"] for ref in reader.root["/Pages"]["/Kids"][9]["/Annots"]]
    assert last_page_annots == ["ChuKyLanhDao", "ChuKyCoQuan"]


def test_signing_without_an_image_still_shows_the_text(
    draft: bytes, leader: keys.Signer, trust: Trust, sign_as_leader: Callable[..., bytes]
) -> None:
    signed = sign_as_leader(draft, leader, image_png=None, position="KT. CHỦ TỊCH\nPHÓ CHỦ TỊCH")

    assert trust.verify(signed).all_valid
    assert "KT. CHỦ TỊCH\nPHÓ CHỦ TỊCH" in appearance_text(signed, "ChuKyLanhDao")


def test_a_page_that_does_not_exist_is_refused(
    draft: bytes, leader: keys.Signer, sign_as_leader: Callable[..., bytes]
) -> None:
    with pytest.raises(keys.SigningFailure) as raised:
        sign_as_leader(draft, leader, page=3)

    assert raised.value.message == pdf.NO_SUCH_PAGE


def test_an_image_that_is_not_a_picture_is_refused(
    draft: bytes, leader: keys.Signer, sign_as_leader: Callable[..., bytes]
) -> None:
    with pytest.raises(keys.SigningFailure) as raised:
        sign_as_leader(draft, leader, image_png=b"<svg/>")

    assert raised.value.message == pdf.BAD_IMAGE
