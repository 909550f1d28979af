"""The DOC-2 file-name fixer: whatever name a person or an agency outside gives a file, the offered name is valid
(letters without diacritics, digits, _ and -, at most 50 characters) and offering it again changes nothing."""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from app.documents.services import MAX_NAME_LENGTH, is_valid_file_name, safe_file_name

VALID = re.compile(r"[A-Za-z0-9_-]+(\.[a-z0-9]+)?")
PARTS = st.sampled_from(["Quyết định", "Tờ trình", "đề án", "v1.2", ".", "..", "/", "\\", " ", ".PDF", ".docx", "."])
NAMES = st.one_of(
    st.text(max_size=120),
    st.lists(st.one_of(PARTS, st.text(max_size=8)), max_size=12).map("".join),
)


@given(NAMES)
@example("Quyết định số 12.PDF")
@example("báo cáo.đ")
@example("a." + "x" * 60)
@example(".bashrc")
@example("..")
@example("tệp.tar.gz")
@example("ảnh.JPEG ")
def test_the_offered_name_is_valid_and_stable(name):
    fixed = safe_file_name(name)
    assert VALID.fullmatch(fixed), (name, fixed)
    assert len(fixed) <= MAX_NAME_LENGTH
    assert is_valid_file_name(fixed)
    assert safe_file_name(fixed) == fixed


@given(st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9_-]{0,38}[A-Za-z0-9])?\.(pdf|docx|xlsx|png|txt)", fullmatch=True))
def test_a_name_that_is_already_valid_is_kept(name):
    assert safe_file_name(name) == name
