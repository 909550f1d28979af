"""Diacritics-free search text of incoming documents: what the list's search box and filters match."""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.documents.models import IncomingDocument

FTS_TABLE = "incoming_documents_fts"  # SQLite's FTS5 index over search_text, made by a migration, not the models
# Separates the parts of search_text so a filter can match one part with LIKE alone (see part_pattern).
SEPARATOR = " | "
ORGAN, NUMBER_SYMBOL, TYPE_NAME, SUBJECT, DESCRIPTION = range(5)
PART_COUNT = 5


def fold(text: str) -> str:
    """Lower case, without Vietnamese diacritics (đ → d), whitespace collapsed: 'Quyết  Định' → 'quyet dinh'."""
    decomposed = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower().split())


def search_text(document: IncomingDocument) -> str:
    """The folded issuing agency, number and symbol, type, trích yếu and description, in that order."""
    return joined_parts(
        document.organ_name, document.number_symbol, document.type_name, document.subject, document.description or ""
    )


def joined_parts(organ_name: str, number_symbol: str, type_name: str, subject: str, description: str) -> str:
    """search_text from its parts (also for the migration that fills it for documents registered before)."""
    parts = (organ_name, number_symbol, type_name, subject, description)
    return SEPARATOR.join(fold(part.replace("|", " ")) for part in parts)


def words(query: str) -> list[str]:
    """The distinct folded words of a search box, in order."""
    return list(dict.fromkeys(fold(query.replace("|", " ")).split()))


def escape_like(text: str) -> str:
    """`text` for a LIKE pattern with ESCAPE '\\'."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def part_pattern(text: str, part: int) -> str:
    """A LIKE pattern (ESCAPE '\\') matching search_text whose `part` contains the folded `text`."""
    # No part holds the separator, so a match with `part` separators before it and the rest after it lies
    # inside that part: one LIKE, which the trigram index serves, and no dialect's string functions.
    before = "%|" * part
    after = "|%" * (PART_COUNT - 1 - part)
    return f"{before}%{escape_like(fold(text.replace('|', ' ')))}%{after}"


def has_trigram(text: str) -> bool:
    """Whether folded `text` holds three letters or digits in a row: something a trigram index can look up."""
    return re.search(r"[0-9a-z]{3}", fold(text)) is not None


def is_fts_table(name: str) -> bool:
    """Whether `name` is the FTS5 table or one of its shadow tables, which schema comparisons must skip."""
    return name == FTS_TABLE or name.startswith(FTS_TABLE + "_")


def fts_query(query_words: list[str]) -> str:
    """An SQLite FTS5 query in which every word must start a token of the text."""
    return " AND ".join('"' + word.replace('"', '""') + '"*' for word in query_words)
