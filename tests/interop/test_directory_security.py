"""Issue 12, hole 3: only the installation's administrator changes the directory of agency codes, endpoints are
https addresses of public servers (checked when saved and again before each package), and packages for no agency
of ours are quarantined for the installation's administrator only."""

from __future__ import annotations

import http.server
import io
import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import select

from app.interop import directory, services, transports
from app.interop.endpoints import EndpointRefused, Policy, check
from app.interop.models import DirectoryEntry, OutboundPackage, QuarantinedPackage
from app.org import services as org
from app.org.models import Role

PROVINCE, COMMUNE = "000.00.00.H98", "000.00.31.H98"
OUTSIDE_CODE = "000.00.12.H34"
PRIVATE = Policy()  # the default: https to public servers only
OPEN = Policy(allowed_hosts=frozenset({"127.0.0.1"}), allow_private=True)


@pytest.fixture
def world(db, make_agency, make_user, clock):
    province = make_agency(PROVINCE, name="UBND tỉnh Thử nghiệm")
    commune = org.create_agency(db, COMMUNE, "UBND xã Thử nghiệm", "UBND", parent=province)
    db.commit()
    installation_admin = make_user(province, Role.ADMIN)
    commune_admin = make_user(commune, Role.ADMIN)
    entry = DirectoryEntry(
        code=OUTSIDE_CODE,
        name="Sở Nội vụ tỉnh Quảng Ngãi",
        transport="http",
        endpoint="https://1.1.1.1/edxml",
        updated_at=clock.now(),
        updated_by="tests",
    )
    db.add(entry)
    db.commit()
    return installation_admin, commune_admin, entry.id


@pytest.fixture
def policy() -> Iterator[callable]:
    saved = services.settings

    def use(value: Policy) -> None:
        services.settings = replace(saved, endpoint_policy=value)

    use(PRIVATE)
    try:
        yield use
    finally:
        services.settings = saved


def snapshot(db, entry_id: int) -> tuple:
    db.expire_all()
    entry = db.get(DirectoryEntry, entry_id)
    return entry.name, entry.transport, entry.endpoint, entry.is_active, entry.updated_by


def test_the_installation_admin_is_the_top_agency_admin(world):
    installation_admin, commune_admin, _ = world
    assert installation_admin.is_installation_admin and not commune_admin.is_installation_admin


def test_a_commune_administrator_cannot_change_the_directory(db, world, login_as, policy):
    _, commune_admin, entry_id = world
    before = snapshot(db, entry_id)
    count = db.scalar(select(DirectoryEntry.id).where(DirectoryEntry.code == "000.00.77.H34"))
    web = login_as(commune_admin)
    assert web.get("/directory/").status_code == 200  # reading stays allowed
    assert 'class="directory-actions"' not in web.get("/directory/").get_data(as_text=True)
    repoint = {"name": "Sở giả", "kind": "government", "transport": "http", "endpoint": "https://203.0.114.9/"}
    page = "/directory/"
    for url, data in (
        (f"/directory/{entry_id}/edit", repoint),
        (f"/directory/{entry_id}/deactivate", {}),
        ("/directory/new", repoint | {"code": "000.00.77.H34"}),
    ):
        response = web.post(url, data, page=page)
        assert response.status_code == 403, url
        assert "installation" not in response.get_data(as_text=True)  # Vietnamese, not the msgid
    assert web.get(f"/directory/{entry_id}/edit").status_code == 403
    assert web.get("/directory/new").status_code == 403
    upload = {"file": (io.BytesIO(f"code,name\n{OUTSIDE_CODE},Tên mới\n".encode()), "ds.csv")}
    assert web.post("/directory/import", upload, page=page, content_type="multipart/form-data").status_code == 403
    assert snapshot(db, entry_id) == before
    assert count is None and db.scalar(select(DirectoryEntry).where(DirectoryEntry.code == "000.00.77.H34")) is None


def test_a_commune_administrator_cannot_reactivate_either(db, clock, world, login_as):
    installation_admin, commune_admin, entry_id = world
    directory.set_active(db, installation_admin, entry_id, False, now=clock.now())
    db.commit()
    web = login_as(commune_admin)
    assert web.post(f"/directory/{entry_id}/reactivate", page="/directory/").status_code == 403
    assert snapshot(db, entry_id)[3] is False


def test_the_installation_administrator_changes_the_directory(db, world, login_as, policy):
    installation_admin, _, entry_id = world
    web = login_as(installation_admin)
    assert 'class="directory-actions"' in web.get("/directory/").get_data(as_text=True)
    form = {"name": "Sở Nội vụ", "kind": "government", "transport": "http", "endpoint": "https://8.8.8.8/in"}
    assert web.post(f"/directory/{entry_id}/edit", form).status_code == 302
    assert snapshot(db, entry_id)[:3] == ("Sở Nội vụ", "http", "https://8.8.8.8/in")
    assert web.post(f"/directory/{entry_id}/deactivate", page="/directory/").status_code == 302
    assert snapshot(db, entry_id)[3] is False
    upload = {"file": (io.BytesIO(f"code,name\n{OUTSIDE_CODE},Tên mới\n".encode()), "ds.csv")}
    assert (
        web.post("/directory/import", upload, page="/directory/", content_type="multipart/form-data").status_code == 302
    )
    assert snapshot(db, entry_id)[0] == "Tên mới"


REFUSED = {
    "http://127.0.0.1/in": "không phải địa chỉ https://",
    "http://10.0.0.5/in": "không phải địa chỉ https://",
    "https://10.0.0.5/in": "mạng nội bộ",
    "https://127.0.0.1:8443/in": "mạng nội bộ",
    "https://169.254.169.254/latest/meta-data": "mạng nội bộ",
    "https://[::1]/in": "mạng nội bộ",
    "https://[::ffff:127.0.0.1]/in": "mạng nội bộ",
    "https://[::ffff:a00:5]/in": "mạng nội bộ",
    "https://0.0.0.0/in": "mạng nội bộ",
    "https://224.0.0.1/in": "mạng nội bộ",
    "https://localhost/in": "mạng nội bộ",
    "https://app.localhost/in": "mạng nội bộ",
    "http://example.gov.vn/in": "không phải địa chỉ https://",
    "https://user:secret@8.8.8.8/in": "tên người dùng hoặc mật khẩu",
    "ftp://8.8.8.8/in": "cần một địa chỉ http",
}


@pytest.mark.parametrize("endpoint", list(REFUSED))
def test_an_endpoint_that_is_not_a_public_https_server_is_refused(db, world, login_as, policy, endpoint):
    installation_admin, _, entry_id = world
    before = snapshot(db, entry_id)
    web = login_as(installation_admin)
    form = {"name": "Sở Nội vụ", "kind": "government", "transport": "http", "endpoint": endpoint}
    response = web.post(f"/directory/{entry_id}/edit", form)
    assert response.status_code == 422
    assert REFUSED[endpoint] in response.get_data(as_text=True)
    assert snapshot(db, entry_id) == before


@pytest.mark.parametrize(
    "endpoint",
    ["http://127.0.0.1:5000/interop/packages", "https://10.0.0.5/in", "https://[::1]/in", "https://localhost/"],
)
def test_the_settings_allow_private_and_allow_listed_endpoints(db, clock, world, policy, endpoint):
    installation_admin, _, entry_id = world
    policy(Policy(allowed_hosts=frozenset({"127.0.0.1"}), allow_private=True))
    values = {"code": OUTSIDE_CODE, "name": "Sở Nội vụ", "transport": "http", "endpoint": endpoint}
    directory.save_entry(db, installation_admin, values, now=clock.now())
    assert snapshot(db, entry_id)[2] == endpoint


def test_an_allow_listed_host_may_use_http_but_not_a_private_address_without_the_other_setting():
    with pytest.raises(EndpointRefused):
        check("http://127.0.0.1/in", Policy(allowed_hosts=frozenset({"127.0.0.1"})))
    assert (
        check("http://gateway.example/in", Policy(allowed_hosts=frozenset({"gateway.example"})), resolve=False) is None
    )
    with pytest.raises(EndpointRefused):
        check("http://127.0.0.1/in", Policy(allow_private=True))


class Listener:
    """A plain HTTP server on 127.0.0.1 that counts what reaches it and answers with `status`."""

    def __init__(self, status: int = 200, location: str = "") -> None:
        self.hits = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                owner.hits += 1
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                owner.hits += 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/interop/packages"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def test_the_transport_refuses_at_send_time_an_entry_that_points_to_a_private_address(
    db, clock, world, policy, listener
):
    # Saved when the name was public (or written before the rule): the address is checked again before sending.
    entry = db.get(DirectoryEntry, world[2])
    entry.endpoint = listener.url
    db.commit()
    package = services.enqueue(
        db, b"<edXML/>", kind="document", to=OUTSIDE_CODE, file_name="p.edxml", agency_id=None, now=clock.now()
    )
    db.commit()
    assert services.push(db, package.id, now=clock.now(), commit=db.commit) == "retry"
    stored = db.get(OutboundPackage, package.id)
    assert "không phải địa chỉ https://" in stored.last_error
    assert listener.hits == 0
    policy(OPEN)  # the same package goes once the installation allows the address
    assert services.push(db, package.id, now=stored.next_attempt_at, commit=db.commit) == "sent"
    assert listener.hits == 1


def test_the_transport_refuses_a_private_address_behind_an_https_name():
    with pytest.raises(transports.TransportError, match="mạng nội bộ"):
        transports.post("https://localhost:9/in", b"x", token="", timeout=1, policy=PRIVATE)
    with pytest.raises(transports.TransportError, match="mạng nội bộ"):
        transports.post("https://[::ffff:169.254.169.254]/in", b"x", token="", timeout=1, policy=PRIVATE)


def test_the_transport_does_not_follow_a_redirect():
    target = Listener()
    redirecting = Listener(status=302, location=target.url)
    try:
        with pytest.raises(transports.TransportError, match="redirect"):
            transports.post(redirecting.url, b"<edXML/>", token="", timeout=5, policy=OPEN)
        assert (redirecting.hits, target.hits) == (1, 0)
    finally:
        redirecting.close()
        target.close()


def test_packages_for_no_agency_of_ours_are_for_the_installation_admin_only(db, clock, world, login_as):
    installation_admin, commune_admin, _ = world
    stray = services.quarantine(
        db, b"<edXML>for nobody</edXML>", "For no agency of ours.", {}, transport="http", source="test", now=clock.now()
    )
    db.commit()
    assert stray.agency_id is None
    assert [e.id for e in services.quarantine_list(db, installation_admin)] == [stray.id]
    assert services.quarantine_list(db, commune_admin) == []
    web = login_as(commune_admin)
    assert web.get(f"/interop/quarantine/{stray.id}").status_code == 403
    assert web.get(f"/interop/quarantine/{stray.id}/package").status_code == 403
    assert web.post(f"/interop/quarantine/{stray.id}/dismiss", page="/interop/quarantine").status_code == 403
    db.expire_all()
    assert db.get(QuarantinedPackage, stray.id).state == "held"
    assert login_as(installation_admin).get(f"/interop/quarantine/{stray.id}").status_code == 200
