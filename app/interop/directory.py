"""The directory of agency codes (mã định danh): the format rules, reading, editing by an administrator, and
importing a CSV or XML list all or nothing (INT-3)."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.engine.forms import Choice
from app.errors import N_, InvalidInput, NotFound, PermissionDenied
from app.interop import endpoints
from app.interop.edxml import ORGAN_ID
from app.interop.models import CodeKind, DirectoryEntry
from app.org.models import Agency, Role, User

# QĐ 20/2020 forms of other organisations (H37.DN.001): 2 to 5 dot-separated groups of capitals or digits.
OTHER_CODE = re.compile(r"[A-Z0-9]{1,10}(?:\.[A-Z0-9]{1,10}){1,4}")
MAX_OTHER_CODE_LENGTH = 40
MAX_IMPORT_BYTES = 10 * 1024 * 1024
MAX_LISTED_PROBLEMS = 20
TRANSPORTS = ("", "directory", "http")
READER_ROLES = (Role.ADMIN, Role.CLERK, Role.LEADER, Role.DEPUTY_LEADER)
SEARCH_LIMIT = 200
LIMITS = {"name": 200, "parent_code": 40, "address": 250, "email": 100, "telephone": 20, "endpoint": 500}
IMPORTED = ("name", "parent_code", "address", "email", "telephone")  # what an import changes in a known entry
FIELD_LABELS = {
    "code": N_("Code"),
    "name": N_("Name"),
    "parent_code": N_("Parent code"),
    "address": N_("Address"),
    "email": N_("E-mail"),
    "telephone": N_("Telephone"),
    "kind": N_("Kind"),
    "transport": N_("Transport"),
    "endpoint": N_("Endpoint"),
}
EXTRA_CELLS = "_extra_cells"  # marks a CSV row with cells beyond the heading
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Column headings of a CSV list, casefolded: the English names and those of the Vietnamese lists.
CSV_COLUMNS = {
    "code": "code",
    "mã định danh": "code",
    "name": "name",
    "tên cơ quan": "name",
    "parent_code": "parent_code",
    "mã cơ quan cha": "parent_code",
    "address": "address",
    "địa chỉ": "address",
    "email": "email",
    "telephone": "telephone",
    "điện thoại": "telephone",
    "kind": "kind",
}
# Child elements of an organ in an XML list (local names, any namespace), edXML's OrganInfo names first.
XML_CHILDREN = {
    "code": ("OrganId", "Code", "MaDinhDanh"),
    "name": ("OrganName", "Name", "TenCoQuan"),
    "parent_code": ("ParentId", "ParentCode", "MaCoQuanCha"),
    "address": ("OrganAdd", "Address", "DiaChi"),
    "email": ("Email",),
    "telephone": ("Telephone", "DienThoai"),
    "kind": ("Kind",),
}


@dataclass(frozen=True)
class Issue:
    """One broken rule: `message` names the value (for the page's message and import reports), `hint` is
    shown next to the form field and takes no parameters."""

    field: str
    message: str
    hint: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class ImportProblem:
    line: int  # of the CSV file, or of the XML element's start tag
    code: str
    field: str  # a key of FIELD_LABELS, or "" for the whole row
    message: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    def translated(self) -> str:
        from flask_babel import gettext

        reason = gettext(self.message, **self.params)
        return f"{gettext(FIELD_LABELS[self.field])}: {reason}" if self.field else reason


class ImportRefused(InvalidInput):
    """An import with bad rows: nothing was written; `problems` lists the first MAX_LISTED_PROBLEMS of `count`."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        super().__init__(
            N_("Nothing was imported. Problems found in the file: %(count)s."),
            {"file": N_("Correct the listed lines and import the file again.")},
            count=len(problems),
        )
        self.problems = problems[:MAX_LISTED_PROBLEMS]
        self.count = len(problems)


@dataclass(frozen=True)
class ImportResult:
    added: int
    updated: int
    unchanged: int


@dataclass(frozen=True)
class DirectoryCounts:
    active: int
    inactive: int


# ------------------------------------------------------------------------------------------------ rules


def _code_issue(code: str, kind: str) -> Issue | None:
    if not code:
        return Issue("code", N_("The agency code is missing."), N_("This field is required."))
    if kind == CodeKind.OTHER:
        if len(code) <= MAX_OTHER_CODE_LENGTH and OTHER_CODE.fullmatch(code):
            return None
        return Issue(
            "code",
            N_(
                "%(code)s is not a code of the form H37.DN.001 (2 to 5 groups of capital letters or digits, "
                "separated by dots, at most 40 characters)."
            ),
            N_("Expected a form such as H37.DN.001."),
            {"code": code},
        )
    if ORGAN_ID.fullmatch(code):
        return None
    return Issue(
        "code",
        N_(
            "%(code)s is not an agency code of the form 000.00.12.H34 (three digits, two digits, two digits, a "
            "capital letter and two digits); codes of other organisations need the kind “other”."
        ),
        N_("Expected the form 000.00.12.H34."),
        {"code": code},
    )


def validate_code(code: str, kind: str = CodeKind.GOVERNMENT) -> str:
    """The stripped code when it follows the form of its kind, else InvalidInput with the expected form (INT-3)."""
    code = code.strip()
    issue = _code_issue(code, kind)
    if issue is not None:
        raise InvalidInput(issue.message, {issue.field: issue.hint}, **issue.params)
    return code


def _clean(raw: dict[str, Any], kind: str) -> tuple[dict[str, str], list[Issue]]:
    """The entry's values stripped, and every rule they break."""
    values = {key: str(raw.get(key) or "").strip() for key in FIELD_LABELS}
    values["kind"] = kind
    issues = [issue for issue in (_code_issue(values["code"], kind),) if issue is not None]
    if kind not in (CodeKind.GOVERNMENT, CodeKind.OTHER):
        issues.append(Issue("kind", N_("The kind must be government or other."), N_("Choose a kind.")))
    if not values["name"]:
        issues.append(Issue("name", N_("The name is missing."), N_("This field is required.")))
    for key, limit in LIMITS.items():
        if len(values[key]) > limit:
            issues.append(Issue(key, N_("At most %(limit)s characters."), N_("Too long."), {"limit": limit}))
    parent = values["parent_code"]
    if parent and len(parent) <= LIMITS["parent_code"] and not OTHER_CODE.fullmatch(parent):
        issues.append(
            Issue(
                "parent_code",
                N_("%(code)s is not an agency code."),
                N_("Expected a code such as 000.00.12.H34."),
                {"code": parent},
            )
        )
    if values["email"] and not EMAIL.fullmatch(values["email"]):
        issues.append(Issue("email", N_("Not a valid e-mail address."), N_("Not a valid e-mail address.")))
    if values["transport"] not in TRANSPORTS:
        issues.append(Issue("transport", N_("Unknown transport."), N_("Choose one of the offered values.")))
    if values["transport"] == "http":
        url = urlsplit(values["endpoint"])
        if url.scheme not in ("http", "https") or not url.netloc or any(ch.isspace() for ch in values["endpoint"]):
            issues.append(
                Issue(
                    "endpoint",
                    N_("The HTTP transport needs an http:// or https:// address."),
                    N_("Enter an http:// or https:// address."),
                )
            )
    else:
        values["endpoint"] = ""  # only the HTTP transport has an address
    return values, issues


def _refuse(issues: list[Issue]) -> InvalidInput:
    errors = {issue.field: issue.hint for issue in issues}
    if len(issues) == 1:
        return InvalidInput(issues[0].message, errors, **issues[0].params)
    return InvalidInput(N_("Some fields need correcting."), errors)


def can_read(user: User) -> bool:
    """The directory is installation-wide public data for administrators, clerks and leaders (INT-3)."""
    return user.has_role(*READER_ROLES)


def check_reader(user: User) -> None:
    if not can_read(user):
        raise PermissionDenied(N_("Only administrators, clerks and leaders see the directory of agency codes."))


def can_edit(user: User) -> bool:
    """The directory routes the whole installation's packages: only its administrator changes it (issue 12)."""
    return user.is_installation_admin


def check_editor(user: User | None) -> None:
    """Only the installation's administrator changes the directory (INT-3); None is the command line."""
    if user is not None and not can_edit(user):
        raise PermissionDenied(N_("Only the installation's administrator changes the directory of agency codes."))


# ------------------------------------------------------------------------------------------------ reading


def entry_for(session: Session, code: str) -> DirectoryEntry | None:
    """The active entry with this code."""
    return session.scalar(select(DirectoryEntry).where(DirectoryEntry.code == code, DirectoryEntry.is_active))


def other_codes(session: Session) -> set[str]:
    """Codes of other forms an administrator allowed (active entries of kind OTHER), for package readers."""
    query = select(DirectoryEntry.code).where(DirectoryEntry.kind == CodeKind.OTHER, DirectoryEntry.is_active)
    return set(session.scalars(query))


def get_entry(session: Session, entry_id: int) -> DirectoryEntry:
    entry = session.get(DirectoryEntry, entry_id)
    if entry is None:
        raise NotFound(N_("No such directory entry."))
    return entry


def _folded(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def search(
    session: Session, text: str = "", *, include_inactive: bool = True, limit: int = SEARCH_LIMIT
) -> list[DirectoryEntry]:
    """Entries whose code starts with `text` or whose name contains it, ignoring case, ordered by code."""
    condition = [] if include_inactive else [DirectoryEntry.is_active]
    needle = _folded(text.strip())
    if not needle:
        query = select(DirectoryEntry).where(*condition).order_by(DirectoryEntry.code).limit(limit)
        return list(session.scalars(query))
    # Compared here, not in SQL: SQLite's lower() leaves Ư, Đ, Ở… as they are, and PostgreSQL's depends on
    # the database's locale.
    ids: list[int] = []
    rows = session.execute(
        select(DirectoryEntry.id, DirectoryEntry.code, DirectoryEntry.name)
        .where(*condition)
        .order_by(DirectoryEntry.code)
    )
    for entry_id, code, name in rows:
        if _folded(code).startswith(needle) or needle in _folded(name):
            ids.append(entry_id)
            if len(ids) == limit:
                break
    if not ids:
        return []
    return list(session.scalars(select(DirectoryEntry).where(DirectoryEntry.id.in_(ids)).order_by(DirectoryEntry.code)))


def counts(session: Session) -> DirectoryCounts:
    rows = dict(
        session.execute(select(DirectoryEntry.is_active, func.count()).group_by(DirectoryEntry.is_active)).all()
    )
    return DirectoryCounts(active=rows.get(True, 0), inactive=rows.get(False, 0))


def agency_choices(session: Session, agency_id: int) -> list[Choice]:
    """For `agency` form fields: active entries that are not agencies of the installation, by name."""
    query = (
        select(DirectoryEntry)
        .where(DirectoryEntry.is_active, DirectoryEntry.code.not_in(select(Agency.code)))
        .order_by(DirectoryEntry.name, DirectoryEntry.code)
    )
    return [Choice(entry.code, f"{entry.name} ({entry.code})") for entry in session.scalars(query)]


# ------------------------------------------------------------------------------------------------ changing


def save_entry(
    session: Session, admin: User, values: dict[str, Any], *, now: datetime, create_only: bool = False
) -> DirectoryEntry:
    """Add the entry with this code, or change it (INT-3); `create_only` refuses a code already listed."""
    check_editor(admin)
    code = str(values.get("code") or "").strip()
    entry = session.scalar(select(DirectoryEntry).where(DirectoryEntry.code == code)) if code else None
    if entry is not None and create_only:
        raise InvalidInput(
            N_("%(code)s is already in the directory."), {"code": N_("This code is already listed.")}, code=code
        )
    current = _entry_values(entry) if entry is not None else {}
    clean, issues = _clean(current | values, str(values.get("kind") or current.get("kind") or CodeKind.GOVERNMENT))
    if issues:
        raise _refuse(issues)
    if clean["transport"] == "http":
        from app.interop.services import settings  # services import this module

        # A name that does not resolve here is kept; the transport checks it again before each package.
        endpoints.check(clean["endpoint"], settings.endpoint_policy, resolve=False)
    if entry is None:
        entry = DirectoryEntry(is_active=True)
        session.add(entry)
    elif clean == current:
        return entry
    for key, value in clean.items():
        setattr(entry, key, value)
    entry.updated_at, entry.updated_by = now, admin.username
    session.flush()
    return entry


def set_active(session: Session, admin: User, entry_id: int, active: bool, *, now: datetime) -> DirectoryEntry:
    """Deactivate an entry (packages from or to it are no longer routed by it) or bring it back (INT-3)."""
    check_editor(admin)
    entry = get_entry(session, entry_id)
    if entry.is_active != active:
        entry.is_active = active
        entry.updated_at, entry.updated_by = now, admin.username
        session.flush()
    return entry


def _entry_values(entry: DirectoryEntry) -> dict[str, str]:
    return {key: str(getattr(entry, key)) for key in FIELD_LABELS}


def import_file(
    session: Session, admin: User | None, file_name: str, content: bytes, *, now: datetime, actor: str = "cli"
) -> ImportResult:
    """Add or update the entries of a CSV or XML list, all or nothing (INT-3). Entries, columns and elements
    the file leaves out stay as they are, and so do the transport and state of a known entry. `admin` None: the
    command line, recorded as `actor`."""
    check_editor(admin)
    rows = list(_read_rows(file_name, content))
    if not rows:
        raise InvalidInput(N_("The file lists no agencies."), {"file": N_("The file lists no agencies.")})
    existing = _existing(session, {raw["code"].strip() for _, raw in rows})
    problems: list[ImportProblem] = []
    seen: dict[str, int] = {}
    accepted: list[tuple[dict[str, str], DirectoryEntry | None]] = []
    for line, raw in rows:
        code = raw["code"].strip()
        entry = existing.get(code)
        kind = _kind(raw.get("kind", ""), entry)
        # What the file leaves out (a column, an element) stays as it is.
        values, issues = _clean((_entry_values(entry) if entry is not None else {}) | raw, kind)
        problems += [ImportProblem(line, code, issue.field, issue.message, issue.params) for issue in issues]
        if raw.get(EXTRA_CELLS):
            problems.append(ImportProblem(line, code, "", N_("The line has more cells than the heading has columns.")))
        if code in seen:
            problems.append(
                ImportProblem(
                    line, code, "code", N_("The code is listed twice (also on line %(line)s)."), {"line": seen[code]}
                )
            )
        seen.setdefault(code, line)
        accepted.append((values, entry))
    if problems:
        raise ImportRefused(problems)
    added = updated = unchanged = 0
    by = admin.username if admin is not None else actor
    for values, entry in accepted:
        if entry is None:
            entry = DirectoryEntry(**values, is_active=True, updated_at=now, updated_by=by)
            session.add(entry)
            added += 1
            continue
        changes = {key: values[key] for key in (*IMPORTED, "kind") if values[key] != getattr(entry, key)}
        if not changes:
            unchanged += 1
            continue
        for key, value in changes.items():
            setattr(entry, key, value)
        entry.updated_at, entry.updated_by = now, by
        updated += 1
    session.flush()
    return ImportResult(added=added, updated=updated, unchanged=unchanged)


def _kind(given: str, entry: DirectoryEntry | None) -> str:
    """The kind a row states (government, other), else the known entry's, else government."""
    given = given.strip().casefold()
    if given:
        return given
    return entry.kind if entry is not None else CodeKind.GOVERNMENT


def _existing(session: Session, codes: set[str]) -> dict[str, DirectoryEntry]:
    found: dict[str, DirectoryEntry] = {}
    ordered = sorted(codes)
    for start in range(0, len(ordered), 500):  # below every database's limit of bound parameters
        chunk = ordered[start : start + 500]
        found |= {e.code: e for e in session.scalars(select(DirectoryEntry).where(DirectoryEntry.code.in_(chunk)))}
    return found


# ------------------------------------------------------------------------------------------------ reading files


def _read_rows(file_name: str, content: bytes) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, values by field) of every agency listed; InvalidInput when the file is not a list we read."""
    if len(content) > MAX_IMPORT_BYTES:
        raise InvalidInput(N_("%(file)s is larger than 10 MB."), {"file": N_("The file is too large.")}, file=file_name)
    start = content.lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith(b"<"):
        return _xml_rows(file_name, content)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = ""
    if not text.strip() or "\x00" in text:
        raise _not_a_list(file_name)
    return _csv_rows(file_name, text)


def _not_a_list(file_name: str) -> InvalidInput:
    return InvalidInput(
        N_("%(file)s is neither a UTF-8 CSV list with the columns code and name nor an XML list of organs."),
        {"file": N_("Choose a CSV or XML list of agency codes.")},
        file=file_name,
    )


def _csv_rows(file_name: str, text: str) -> Iterator[tuple[int, dict[str, str]]]:
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        heading = next(reader)
    except (StopIteration, csv.Error):
        raise _not_a_list(file_name) from None
    keys = [CSV_COLUMNS.get(_folded(cell.strip())) for cell in heading]
    if "code" not in keys or "name" not in keys:
        raise _not_a_list(file_name)
    doubled = sorted({key for key in keys if key is not None and keys.count(key) > 1})
    if doubled:
        raise InvalidInput(
            N_("The columns %(columns)s are given twice."),
            {"file": N_("Each column once.")},
            columns=", ".join(doubled),
        )
    return _csv_records(reader, keys, file_name)


def _csv_records(reader: Any, keys: list[str | None], file_name: str) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            values = {key: cell for key, cell in zip(keys, cells, strict=False) if key is not None}
            row = {key: values.get(key, "") for key in keys if key is not None}
            if len(cells) > len(keys) and any(cell.strip() for cell in cells[len(keys) :]):
                row[EXTRA_CELLS] = "yes"  # refused with its line rather than read shifted
            yield reader.line_num, row
    except csv.Error as error:
        raise InvalidInput(
            N_("%(file)s is not a readable CSV file (line %(line)s: %(detail)s)."),
            {"file": N_("Choose a CSV or XML list of agency codes.")},
            file=file_name,
            line=reader.line_num,
            detail=str(error),
        ) from None


def _xml_rows(file_name: str, content: bytes) -> Iterator[tuple[int, dict[str, str]]]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True)
    try:
        root = etree.fromstring(content, parser)
    except (etree.XMLSyntaxError, ValueError, LookupError) as error:
        raise InvalidInput(
            N_("%(file)s is not well-formed XML: %(detail)s"),
            {"file": N_("The file is not well-formed XML.")},
            file=file_name,
            detail=str(error),
        ) from None
    if root is None:
        raise _not_a_list(file_name)
    if root.getroottree().docinfo.doctype:
        raise InvalidInput(N_("An XML list may not declare a DOCTYPE."), {"file": N_("Remove the DOCTYPE.")})
    return _organs(root.iter())


def _organs(elements: Iterable[Any]) -> Iterator[tuple[int, dict[str, str]]]:
    """Every element with a code child and a name child (edXML's OrganId and OrganName, or their aliases)."""
    for element in elements:
        if not isinstance(element.tag, str):
            continue
        children = {etree.QName(child).localname: child for child in element if isinstance(child.tag, str)}
        found = {
            key: next((children[name] for name in names if name in children), None)
            for key, names in XML_CHILDREN.items()
        }
        if found["code"] is None or found["name"] is None:
            continue
        values = {key: "".join(child.itertext()) for key, child in found.items() if child is not None}
        yield element.sourceline or 0, values
