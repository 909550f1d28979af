"""The edXML reader takes anything an agency outside might send: random bytes and valid packages mutated byte by
byte or element by element are read or refused with a PackageError naming the fault, never another exception."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from app.interop.edxml import read_package, read_status, write_package, write_status
from app.interop.messages import PackageError
from tests.interop.test_edxml import ATTACHMENTS, message, status

PACKAGE = write_package(message(attachments=ATTACHMENTS[:2]))
STATUS = write_status(status("03"))
TEXTS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)


def read_or_refuse(data: bytes) -> None:
    for reader in (read_package, read_status):
        try:
            reader(data)
        except PackageError as error:
            assert error.translated()  # a message the clerk can read in quarantine


@given(st.binary(max_size=2000))
def test_random_bytes_are_refused(data):
    read_or_refuse(data)


@given(st.data())
def test_valid_packages_mutated_byte_by_byte(data):
    original = bytearray(data.draw(st.sampled_from([PACKAGE, STATUS])))
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(original) - 1))
        action = data.draw(st.sampled_from(["flip", "drop", "insert", "cut"]))
        if action == "flip":
            original[at] = data.draw(st.integers(0, 255))
        elif action == "drop":
            del original[at : at + data.draw(st.integers(1, 40))]
        elif action == "insert":
            original[at:at] = data.draw(st.binary(min_size=1, max_size=20))
        else:
            del original[at:]
        if not original:
            break
    read_or_refuse(bytes(original))


@given(st.data())
def test_valid_packages_mutated_element_by_element(data):
    root = etree.fromstring(data.draw(st.sampled_from([PACKAGE, STATUS])))
    elements = list(root.iter())
    for _ in range(data.draw(st.integers(1, 5))):
        element = data.draw(st.sampled_from(elements))
        action = data.draw(st.sampled_from(["text", "remove", "duplicate", "empty", "attribute"]))
        parent = element.getparent()
        if action == "text" and not len(element):
            element.text = data.draw(TEXTS.filter(lambda text: all(ch >= " " or ch in "\t\n\r" for ch in text)))
        elif action == "remove" and parent is not None:
            parent.remove(element)
            elements = list(root.iter())
        elif action == "duplicate" and parent is not None:
            parent.append(etree.fromstring(etree.tostring(element)))
            elements = list(root.iter())
        elif action == "empty":
            element.text = ""
        elif action == "attribute":
            element.set("x", data.draw(TEXTS.filter(lambda text: all(ch >= " " for ch in text))))
    read_or_refuse(etree.tostring(root, xml_declaration=True, encoding="utf-8"))
