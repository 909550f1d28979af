"""Vietnamese is the default language: every message of the catalogue is translated."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from config import ROOT


def test_every_message_has_a_vietnamese_translation():
    with (ROOT / "app" / "translations" / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source)
    untranslated = [message.id for message in catalog if message.id and (not message.string or message.fuzzy)]
    assert untranslated == []


def test_placeholders_survive_translation():
    with (ROOT / "app" / "translations" / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source)
    for message in catalog:
        if message.id and isinstance(message.id, str) and "%(" in message.id:
            for name in re.findall(r"%\((\w+)\)s", message.id):
                assert f"%({name})s" in message.string, (message.id, message.string)
