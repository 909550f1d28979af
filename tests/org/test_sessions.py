"""Hole 4 of issue 12: login sessions live on the server, so logout, a password change, a reset or disabling
the account ends them, and the idle lock does not trust the cookie."""

from __future__ import annotations

from datetime import timedelta

from flask_login.utils import _create_identifier
from sqlalchemy import select

from app.org import login_sessions
from app.org import services as org
from app.org.models import LoginSession, Role
from tests.conftest import PASSWORD, WebClient

LOGIN = "/org/login"


def copy_cookie(app, source: WebClient) -> WebClient:
    """Another browser holding a copy of `source`'s cookie, as a thief would."""
    cookie = source.client.get_cookie("session")
    assert cookie is not None
    thief = WebClient(app.test_client())
    thief.client.set_cookie("session", cookie.value)
    return thief


def is_logged_out(client: WebClient) -> bool:
    response = client.get("/inbox/")
    return response.status_code == 302 and response.headers["Location"].startswith(LOGIN)


def sessions_of(db, user) -> list[LoginSession]:
    db.expire_all()
    return list(
        db.scalars(select(LoginSession).where(LoginSession.user_id == user.id).order_by(LoginSession.created_at))
    )


def test_a_copied_cookie_stops_working_when_its_owner_logs_out(app, db, clock, make_agency, make_user, login_as):
    owner = login_as(make_user(make_agency(), Role.CLERK))
    thief = copy_cookie(app, owner)
    assert thief.get("/inbox/").status_code == 200  # the copy is as good as the original while it lasts

    response = owner.post("/org/logout", page="/inbox/")
    assert response.status_code == 302 and response.headers["Location"] == LOGIN

    assert is_logged_out(thief)
    assert is_logged_out(owner)


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(
    db, clock, make_agency, make_user, login_as
) -> None:
    user = make_user(make_agency(), Role.CLERK)
    here = login_as(user)
    elsewhere = login_as(user)

    response = here.post("/org/password", {"current": PASSWORD, "new": "Khac-Hoan-Toan@2026mk"})
    assert response.status_code == 302

    assert here.get("/inbox/").status_code == 200
    response = elsewhere.get("/inbox/", follow_redirects=True)
    assert response.request.path == LOGIN
    assert "Phiên làm việc đã kết thúc. Vui lòng đăng nhập lại." in response.get_data(as_text=True)
    assert [row.end_reason for row in sessions_of(db, user)] == ["", "password_changed"]


def test_a_failed_password_change_ends_no_session(db, clock, make_agency, make_user, login_as) -> None:
    user = make_user(make_agency(), Role.CLERK)
    here = login_as(user)
    elsewhere = login_as(user)
    response = here.post("/org/password", {"current": "Sai@mat-khau1", "new": "Khac-Hoan-Toan@2026mk"})
    assert response.status_code == 422
    assert elsewhere.get("/inbox/").status_code == 200


def test_a_reset_by_the_administrator_ends_every_session_of_the_user(db, clock, make_agency, make_user, login_as):
    agency = make_agency()
    admin = make_user(agency, Role.ADMIN)
    user = make_user(agency, Role.CLERK)
    first, second = login_as(user), login_as(user)
    admin_client = login_as(admin)

    org.reset_password(db, admin, user, "Tam-thoi@Kontum2026", now=clock.now())
    db.commit()

    assert is_logged_out(first) and is_logged_out(second)
    assert admin_client.get("/inbox/").status_code == 200
    assert {row.end_reason for row in sessions_of(db, user)} == {"password_reset"}


def test_disabling_an_account_ends_its_sessions(db, clock, make_agency, make_user, login_as) -> None:
    agency = make_agency()
    admin = make_user(agency, Role.ADMIN)
    user = make_user(agency, Role.CLERK)
    client = login_as(user)

    org.disable_user(db, admin, user, now=clock.now())
    db.commit()

    assert is_logged_out(client)
    assert [row.end_reason for row in sessions_of(db, user)] == ["disabled"]


def test_a_disabled_account_with_an_open_session_is_not_let_in(db, clock, make_agency, make_user, login_as) -> None:
    """Even when its session row was left open (disabled by hand in the database), flask-login refuses it."""
    user = make_user(make_agency(), Role.CLERK)
    client = login_as(user)
    user.is_enabled = False
    db.commit()
    assert is_logged_out(client)


def test_an_idle_session_is_locked_though_its_cookie_carries_no_last_seen(
    db, clock, make_agency, make_user, login_as
) -> None:
    """The old lock read `last_seen` from the cookie: a cookie without it was never locked."""
    user = make_user(make_agency(), Role.CLERK)
    client = login_as(user)
    with client.client.session_transaction() as cookie_session:
        cookie_session.pop("last_seen", None)

    clock.advance(timedelta(minutes=14))
    assert client.get("/inbox/").status_code == 200
    with client.client.session_transaction() as cookie_session:
        cookie_session.pop("last_seen", None)
    clock.advance(timedelta(minutes=14))  # 14 idle minutes again: still in
    assert client.get("/inbox/").status_code == 200
    with client.client.session_transaction() as cookie_session:
        cookie_session.pop("last_seen", None)

    clock.advance(timedelta(minutes=15, seconds=1))
    response = client.get("/inbox/", follow_redirects=True)
    assert response.request.path == LOGIN
    assert "Phiên làm việc đã bị khóa sau 15 phút không hoạt động" in response.get_data(as_text=True)
    assert [row.end_reason for row in sessions_of(db, user)] == ["idle"]
    assert is_logged_out(client)


def test_last_seen_is_written_at_most_once_a_minute(db, clock, make_agency, make_user, login_as) -> None:
    user = make_user(make_agency(), Role.CLERK)
    client = login_as(user)
    started = clock.now()
    clock.advance(timedelta(seconds=50))
    assert client.get("/inbox/").status_code == 200
    assert sessions_of(db, user)[0].last_seen_at == started
    clock.advance(timedelta(seconds=20))
    assert client.get("/inbox/").status_code == 200
    assert sessions_of(db, user)[0].last_seen_at == clock.now()


def test_logout_by_get_does_not_log_out_and_offers_the_button(db, clock, make_agency, make_user, login_as) -> None:
    client = login_as(make_user(make_agency(), Role.CLERK))
    response = client.get("/org/logout")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Bạn có muốn đăng xuất không?" in html and 'method="post" action="/org/logout"' in html
    assert client.get("/inbox/").status_code == 200


def test_logout_posted_without_its_csrf_token_is_refused(db, clock, make_agency, make_user, login_as) -> None:
    client = login_as(make_user(make_agency(), Role.CLERK))
    response = client.client.post("/org/logout")
    assert response.status_code == 400
    assert client.get("/inbox/").status_code == 200


def test_the_header_logs_out_with_a_posted_form(db, clock, make_agency, make_user, login_as) -> None:
    client = login_as(make_user(make_agency(), Role.CLERK))
    html = client.get("/inbox/").get_data(as_text=True)
    assert '<form class="logout" method="post" action="/org/logout">' in html
    assert 'href="/org/logout"' not in html


def test_a_cookie_forged_with_the_apps_own_key_is_no_login_without_its_session(
    app, db, clock, make_agency, make_user
) -> None:
    """Whoever learns SECRET_KEY can sign any user id; without an open login session the server refuses it."""
    user = make_user(make_agency(), Role.ADMIN)
    with app.test_request_context(environ_base={"REMOTE_ADDR": "127.0.0.1"}):
        identifier = _create_identifier()
    forged = app.session_interface.get_signing_serializer(app).dumps(
        {"_user_id": str(user.id), "_fresh": True, "_id": identifier, "login_session": "made-up"}
    )
    client = WebClient(app.test_client())
    client.client.set_cookie("session", forged)
    assert is_logged_out(client)


def test_the_database_holds_a_hash_of_the_token_with_where_the_login_came_from(
    app, db, clock, make_agency, make_user, web
) -> None:
    user = make_user(make_agency(), Role.CLERK)
    web.client.environ_base["HTTP_USER_AGENT"] = "Trình duyệt thử"
    assert web.login(user.username).status_code == 302
    with web.client.session_transaction() as cookie_session:
        token = cookie_session[login_sessions.COOKIE_KEY]
    [row] = sessions_of(db, user)
    assert row.id != token and len(row.id) == 64
    assert (row.ip, row.user_agent, row.created_at, row.ended_at) == ("127.0.0.1", "Trình duyệt thử", clock.now(), None)


def test_logging_in_again_in_the_same_browser_ends_the_first_session(db, clock, make_agency, make_user, login_as):
    user = make_user(make_agency(), Role.CLERK)
    client = login_as(user)
    assert client.login(user.username).status_code == 302
    assert [row.end_reason for row in sessions_of(db, user)] == ["logout", ""]
    assert client.get("/inbox/").status_code == 200
