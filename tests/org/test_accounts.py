"""ACC-5 and the session rules: password policy, forced change at first login, lockout, idle lock, CSRF."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.org.models import Role
from app.org.passwords import password_problems


@pytest.mark.parametrize(
    ("password", "broken"),
    [
        ("Ab1!xyzqrstuv", "at least %(min_length)s characters"),
        ("abcdefgh1!xyzq", "an upper-case letter"),
        ("ABCDEFGH1!XYZQ", "a lower-case letter"),
        ("Abcdefgh!xyzqr", "a digit"),
        ("Abcdefgh1xyzqr", "a special character"),
    ],
)
def test_a_password_breaking_one_rule_names_that_rule(password, broken):
    assert password_problems(password) == [broken]


def test_a_password_with_vietnamese_letters_follows_the_policy():
    assert password_problems("Đổi@mật1khẩu-Mới") == []


def test_the_initial_password_must_be_changed_at_first_login(db, clock, make_agency, make_user, web):
    user = make_user(make_agency(), Role.SPECIALIST)
    user.must_change_password = True
    db.commit()
    assert web.login(user.username).status_code == 302
    response = web.get("/inbox/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/org/password")
    refused = web.post("/org/password", {"current": "Secret@123", "new": "short"})
    assert refused.status_code == 422
    changed = web.post("/org/password", {"current": "Secret@123", "new": "Moi@MatKhau2026"})
    assert changed.status_code == 302
    assert web.get("/inbox/").status_code == 200
    assert web.login(user.username, "Moi@MatKhau2026").status_code == 302


def test_five_failed_logins_lock_the_account_even_with_the_right_password(db, clock, make_agency, make_user, web):
    user = make_user(make_agency(), Role.CLERK)
    for attempt in range(5):  # from several addresses: one address is stopped before it can lock (test_login_security)
        address = {"REMOTE_ADDR": f"10.9.0.{attempt + 1}"}
        assert web.login(user.username, "Wrong@pass1", environ_base=address).status_code == 401
    locked = web.login(user.username, environ_base={"REMOTE_ADDR": "10.9.1.1"})
    assert locked.status_code == 401
    assert "tạm khóa" in locked.get_data(as_text=True)
    clock.advance(timedelta(minutes=31))
    assert web.login(user.username).status_code == 302


def test_the_password_is_stored_as_an_argon2_hash(db, make_agency, make_user):
    user = make_user(make_agency(), Role.CLERK)
    assert user.password_hash.startswith("$argon2id$")
    assert "Secret@123" not in user.password_hash


def test_a_session_idle_for_15_minutes_is_locked(db, clock, make_agency, make_user, login_as):
    client = login_as(make_user(make_agency(), Role.CLERK))
    clock.advance(timedelta(minutes=14))
    assert client.get("/inbox/").status_code == 200
    clock.advance(timedelta(minutes=16))
    response = client.get("/inbox/")
    assert response.status_code == 302 and "/org/login" in response.headers["Location"]


def test_a_form_posted_without_its_csrf_token_is_refused(db, clock, make_agency, make_user, login_as):
    client = login_as(make_user(make_agency(), Role.CLERK))
    response = client.client.post("/documents/incoming/new", data={"organ_name": "X"})
    assert response.status_code == 400


def test_an_open_redirect_after_login_is_refused(db, make_agency, make_user, web):
    user = make_user(make_agency(), Role.CLERK)
    token = web.token("/org/login")
    response = web.client.post(
        "/org/login?next=https://evil.example/",
        data={"username": user.username, "password": "Secret@123", "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_pages_are_in_vietnamese_and_english_on_request(db, make_agency, make_user, login_as):
    client = login_as(make_user(make_agency(), Role.CLERK))
    assert "Hộp công việc" in client.get("/inbox/").get_data(as_text=True)
    client.post("/org/language", {"locale": "en"}, page="/inbox/")
    assert "Inbox" in client.get("/inbox/").get_data(as_text=True)
