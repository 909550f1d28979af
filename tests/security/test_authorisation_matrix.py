"""The authorisation matrix (issue 12): every route of the URL map, asked by anonymous, by each role of agency A,
by each role of agency B and by the installation's administrator, about agency A's objects.

HOW TO ADD A ROW. Every endpoint of `app.url_map` (static excepted) needs one line in ROWS per method:

    Row("blueprint.endpoint", "POST", "/path/{id_key}", A=<who of A>, B=<who of B>, root=OK|DENIED, anon=LOGIN),

* the URL is formatted with `world.ids` (tests/security/conftest.py builds agency A's objects: incoming, attachment,
  instance, task, outgoing, version, received, received_file, quarantine, package, directory, filter,
  delegation, definition); add an object there when a new route needs a new kind of id;
* `A=` / `B=`: ALL, NONE, or a set of roles that get through (the others are refused with 403 or 404);
* `data=`: the form for a POST — harmless or empty: the point is the authorisation answer;
* `MATRIX_DISCOVER=1 pytest -s -k discover tests/security` prints what every actor gets for every row.

Rows run in table order against one world built for the module; in each row the refused actors ask first, then
those who may (whose requests may change the world: claim, revoke, dismiss — a row that needs the object as it
was goes before the row that changes it).

Outcomes: OK = got past authorisation (2xx, a redirect not to the login page, or 400/409/422: the input was
refused, not the person); LOGIN = redirected to the login page; DENIED = 403 or 404 (401 too for machine
endpoints). A page served to B or to anonymous never contains A's marker, and a refused POST changes no row
of any table. `test_every_route_has_a_row` fails when a route has no row or a row names no route."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db as database
from app.org.models import Role
from tests.security.conftest import MARKER, World

OK, LOGIN, DENIED = "OK", "LOGIN", "DENIED"
ALL, NONE = frozenset(Role), frozenset()
LEADERS = frozenset({Role.LEADER, Role.DEPUTY_LEADER})
CLERK, ADMIN = frozenset({Role.CLERK}), frozenset({Role.ADMIN})
READERS = frozenset({Role.ADMIN, Role.CLERK, Role.LEADER, Role.DEPUTY_LEADER})  # exchange, registers, directory
DELEGATORS = LEADERS | {Role.UNIT_LEADER}
AUDIT = frozenset({Role.ADMIN, Role.AUDITOR})
DESIGN = frozenset({Role.ADMIN, Role.DESIGNER})
SEES_INCOMING = CLERK | LEADERS | AUDIT  # the others only once a task of the document reaches them


@dataclass(frozen=True)
class Row:
    endpoint: str
    method: str
    url: str
    A: frozenset[Role] | set[Role] = NONE
    B: frozenset[Role] | set[Role] = NONE
    root: str = DENIED
    anon: str = LOGIN
    data: dict[str, Any] = field(default_factory=dict)
    allowed: str = OK  # what a person who may gets (logout: the login page)
    relogin: bool = False  # the request ends the session (logout): log in again afterwards

    @property
    def key(self) -> str:
        return f"{self.method} {self.endpoint}"


# fmt: off
ROWS = [
    Row("index", "GET", "/", A=ALL, B=ALL, root=OK, anon=OK),
    Row("org.login", "GET", "/org/login", A=ALL, B=ALL, root=OK, anon=OK),
    Row("org.login", "POST", "/org/login", anon=DENIED, data={"username": "mx.nobody", "password": "wrong"}),
    Row("org.change_password", "GET", "/org/password", A=ALL, B=ALL, root=OK),
    Row("org.change_password", "POST", "/org/password", A=ALL, B=ALL, root=OK),
    Row("org.set_language", "POST", "/org/language", A=ALL, B=ALL, root=OK, anon=OK, data={"locale": "vi"}),
    Row("org.list_delegations", "GET", "/org/delegations", A=ALL, B=ALL, root=OK),
    Row("org.create_delegation", "POST", "/org/delegations", A=DELEGATORS, B=DELEGATORS),
    Row("org.revoke_delegation", "POST", "/org/delegations/{delegation}/revoke", A={Role.UNIT_LEADER}),
    Row("audit.list_instances", "GET", "/audit/", A=AUDIT, B=AUDIT, root=OK),
    Row("audit.show_timeline", "GET", "/audit/instances/{instance}", A=AUDIT),
    Row("designer.list_versions", "GET", "/designer/", A=DESIGN, B=DESIGN, root=OK),
    Row("designer.upload_version", "POST", "/designer/", A={Role.DESIGNER}, B={Role.DESIGNER}),
    Row("designer.show_version", "GET", "/designer/versions/{definition}", A=DESIGN | AUDIT, root=OK),
    Row("designer.list_incidents", "GET", "/designer/incidents", A=ADMIN, B=ADMIN, root=OK),
    Row("designer.retry_incident", "POST", "/designer/incidents/{instance}/retry", A=ADMIN),
    Row("directory.list_entries", "GET", "/directory/", A=READERS, B=READERS, root=OK),
    Row("directory.new_entry", "GET", "/directory/new", root=OK),
    Row("directory.new_entry", "POST", "/directory/new", root=OK),
    Row("directory.edit_entry", "GET", "/directory/{directory}/edit", root=OK),
    Row("directory.edit_entry", "POST", "/directory/{directory}/edit", root=OK),
    Row("directory.import_entries", "POST", "/directory/import", root=OK),
    Row("directory.deactivate_entry", "POST", "/directory/{directory}/deactivate", root=OK),
    Row("directory.reactivate_entry", "POST", "/directory/{directory}/reactivate", root=OK),
    Row("documents.list_incoming", "GET", "/documents/incoming", A=ALL, B=ALL, root=OK),
    Row("documents.new_incoming", "GET", "/documents/incoming/new", A=CLERK, B=CLERK),
    Row("documents.register_incoming", "POST", "/documents/incoming/new", A=CLERK, B=CLERK),
    Row("documents.show_incoming", "GET", "/documents/incoming/{incoming}", A=SEES_INCOMING),
    Row("documents.download_attachment", "GET", "/documents/attachments/{attachment}", A=SEES_INCOMING),
    Row("documents.set_paper_holder", "POST", "/documents/incoming/{incoming}/paper", A=CLERK | LEADERS),
    Row("documents.rename_attachment", "POST", "/documents/attachments/{attachment}/rename", A=CLERK),
    Row("exchange.list_received", "GET", "/exchange/received", A=READERS, B=READERS, root=OK),
    Row("exchange.show_received", "GET", "/exchange/received/{received}", A=READERS),
    Row("exchange.download_received_file", "GET", "/exchange/received/{received}/files/{received_file}", A=READERS),
    Row("exchange.accept_form", "GET", "/exchange/received/{received}/accept", A=READERS),
    Row("exchange.accept", "POST", "/exchange/received/{received}/accept", A=CLERK),
    Row("exchange.return_received", "POST", "/exchange/received/{received}/return", A=CLERK),
    Row("exchange.answer_recall", "POST", "/exchange/received/{received}/recall", A=CLERK),
    Row("exchange.list_sent", "GET", "/exchange/sent", A=READERS, B=READERS, root=OK),
    Row("inbox.show_inbox", "GET", "/inbox/", A=ALL, B=ALL, root=OK),
    Row("inbox.show_watch", "GET", "/inbox/watch", A=DELEGATORS, B=DELEGATORS),
    Row("inbox.show_notifications", "GET", "/inbox/notifications", A=ALL, B=ALL, root=OK),
    Row("inbox.save_filter", "POST", "/inbox/filters", A=ALL, B=ALL, root=OK),
    Row("inbox.rename_filter", "POST", "/inbox/filters/{filter}/rename", A={Role.LEADER}),
    Row("inbox.delete_filter", "POST", "/inbox/filters/{filter}/delete", A={Role.LEADER}),
    Row("inbox.show_task", "GET", "/inbox/tasks/{task}", A={Role.LEADER}),
    Row("inbox.submit_task", "POST", "/inbox/tasks/{task}", A={Role.LEADER}),
    Row("inbox.set_follow_up", "POST", "/inbox/tasks/{task}/follow-up", A={Role.LEADER}),
    Row("inbox.remind", "POST", "/inbox/tasks/{task}/remind", A=DELEGATORS),
    Row("inbox.claim_task", "POST", "/inbox/tasks/{task}/claim", A={Role.LEADER}),
    Row("inbox.release_task", "POST", "/inbox/tasks/{task}/release", A={Role.LEADER}),  # who claimed it
    Row("interop.receive_package", "POST", "/interop/packages", anon=DENIED),  # no INTEROP_INBOUND_TOKEN: closed
    Row("interop.list_quarantine", "GET", "/interop/quarantine", A=ADMIN, B=ADMIN, root=OK),
    Row("interop.show_quarantined", "GET", "/interop/quarantine/{quarantine}", A=ADMIN),
    Row("interop.download_quarantined", "GET", "/interop/quarantine/{quarantine}/package", A=ADMIN),
    Row("interop.release_quarantined", "POST", "/interop/quarantine/{quarantine}/release", A=ADMIN),
    Row("interop.dismiss_quarantined", "POST", "/interop/quarantine/{quarantine}/dismiss", A=ADMIN),
    Row("interop.list_outbound", "GET", "/interop/outbound", A=ADMIN, B=ADMIN, root=OK),
    Row("interop.send_again", "POST", "/interop/outbound/{package}/again", A=ADMIN),
    Row("outgoing.list_outgoing", "GET", "/outgoing/", A=ALL, B=ALL, root=OK),
    Row("outgoing.new_outgoing", "GET", "/outgoing/new", A=ALL, B=ALL, root=OK),
    Row("outgoing.create_outgoing", "POST", "/outgoing/new", A=ALL, B=ALL, root=OK),
    Row("outgoing.show_outgoing", "GET", "/outgoing/{outgoing}", A=ALL - {Role.DESIGNER}),
    Row("outgoing.download_version", "GET", "/outgoing/versions/{version}", A=ALL - {Role.DESIGNER}),
    Row("outgoing.recall", "POST", "/outgoing/{outgoing}/recall", A=CLERK | LEADERS),
    Row("reports.list_registers", "GET", "/reports/", A=READERS, B=READERS, root=OK),
    Row("reports.download_incoming_register", "GET", "/reports/incoming-register", A=READERS, B=READERS, root=OK),
    Row("reports.download_outgoing_register", "GET", "/reports/outgoing-register", A=READERS, B=READERS, root=OK),
    Row("signing.list_keys", "GET", "/signing/keys", A=ALL, B=ALL, root=OK),
    Row("signing.import_key", "POST", "/signing/keys", A=ADMIN, B=ADMIN, root=OK, data={"owner": "agency"}),
    Row("signing.configure_token", "POST", "/signing/keys/token", A=ADMIN, B=ADMIN, root=OK, data={"owner": "agency"}),
    Row("signing.prepare_external", "POST", "/signing/external", A=ALL, B=ALL, root=OK),
    Row("signing.finish_external", "POST", "/signing/external/999999", A=ALL, B=ALL, root=OK),
    Row("signing.sign_file", "GET", "/signing/sign", A=ALL, B=ALL, root=OK),
    Row("signing.sign_file", "POST", "/signing/sign", A=ALL, B=ALL, root=OK),
    Row("signing.seal_file", "GET", "/signing/seal", A=CLERK, B=CLERK),
    Row("signing.seal_file", "POST", "/signing/seal", A=CLERK, B=CLERK),
    Row("signing.verify_file", "GET", "/signing/verify", A=ALL, B=ALL, root=OK),
    Row("signing.verify_file", "POST", "/signing/verify", A=ALL, B=ALL, root=OK),
    Row("worktime.show_calendar", "GET", "/worktime/", A=ALL, B=ALL, root=OK),
    Row("worktime.set_day", "POST", "/worktime/", root=OK),
    Row("worktime.clear_day", "POST", "/worktime/2026-12-26/clear", root=OK),
    Row("org.list_locked_accounts", "GET", "/org/locked-accounts", A=ADMIN, B=ADMIN, root=OK),
    Row("org.unlock_account", "POST", "/org/locked-accounts/{a_leader}/unlock", A=ADMIN),
    Row("org.confirm_logout", "GET", "/org/logout", A=ALL, B=ALL, root=OK),
    Row("org.logout", "POST", "/org/logout", A=ALL, B=ALL, root=OK, allowed=LOGIN, relogin=True),
]
# fmt: on


def outcome(response: Any) -> str:
    if response.status_code in (301, 302, 303, 307, 308) and "/org/login" in response.headers.get("Location", ""):
        return LOGIN
    if response.status_code in (401, 403, 404):
        return DENIED
    if response.status_code < 400 or response.status_code in (400, 409, 422):
        return OK
    return f"HTTP {response.status_code}"


def expected(row: Row, actor: str) -> str:
    if actor == "anonymous":
        return row.anon
    if actor == "root":
        return row.allowed if row.root == OK else row.root
    side, role = actor.split(".")
    return row.allowed if Role(role) in (row.A if side == "A" else row.B) else DENIED


def fingerprint(app: Flask) -> str:
    """A digest of every row of every table: a refused POST must leave it as it was."""
    digest = hashlib.sha256()
    with app.app_context(), database.engine.connect() as connection:
        for table in database.metadata.sorted_tables:
            for record in connection.execute(select(table).order_by(*table.primary_key.columns)):
                digest.update(repr(tuple(record)).encode())
    return digest.hexdigest()


def routes(app: Flask) -> set[str]:
    return {
        f"{method} {rule.endpoint}"
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and not rule.endpoint.endswith(".static")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }


def test_every_route_has_a_row(app):
    listed = [row.key for row in ROWS]
    assert sorted(key for key in set(listed) if listed.count(key) > 1) == [], "a route listed twice"
    assert sorted(routes(app) - set(listed)) == [], "routes without a row in ROWS"
    assert sorted(set(listed) - routes(app)) == [], "rows naming no route"


@pytest.mark.skipif(not os.environ.get("MATRIX_DISCOVER"), reason="prints what each actor gets, to write rows")
def test_discover(app, world: World):
    for row in ROWS:
        url = row.url.format(**world.ids)
        seen = {}
        for name, actor in world.actors.items():
            response = actor.request(row.method, url, row.data)
            seen[name] = f"{response.status_code}:{outcome(response)}"
            if row.relogin:
                actor.login()
        print(row.key, url, seen)


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.key)
def test_each_actor_gets_the_answer_of_the_table(app, world: World, row: Row):
    url = row.url.format(**world.ids)
    refused = [name for name in world.actors if expected(row, name) in (DENIED, LOGIN) and not row.relogin]
    allowed = [name for name in world.actors if name not in refused]
    wrong = {}
    before = fingerprint(app) if row.method != "GET" else ""
    for name in refused + allowed:  # the refused first: their requests must find and leave the world unchanged
        actor = world.actors[name]
        response = actor.request(row.method, url, row.data)
        got = outcome(response)
        if got != expected(row, name):
            wrong[name] = f"expected {expected(row, name)}, got {response.status_code} ({got})"
        elif (name == "anonymous" or name.startswith("B.")) and MARKER.encode() in response.get_data():
            wrong[name] = f"{response.status_code} shows agency A's data"
        if row.relogin:
            actor.login()
        if refused and name == refused[-1] and row.method != "GET" and fingerprint(app) != before:
            wrong["(refused)"] = "a refused request changed the database"
    assert not wrong, "\n".join(f"{name}: {problem}" for name, problem in wrong.items())
