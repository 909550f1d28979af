"""Login sessions kept on the server: started at login, checked on every request, ended by logout, the idle lock,
a password change or reset and disabling the account (ACC-5; issue 12, hole 4)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.org.models import LoginSession, User

# The key of Flask's signed session cookie that holds the token.
COOKIE_KEY = "login_session"
# last_seen_at is written at most this often, so a busy user costs one UPDATE a minute, not one per request.
TOUCH_INTERVAL = timedelta(minutes=1)


class Check(StrEnum):
    ACTIVE = "active"  # nothing written
    TOUCHED = "touched"  # active; last_seen_at moved (to commit)
    IDLE = "idle"  # ended now by the idle lock (to commit)
    ENDED = "ended"  # unknown, ended before, or another user's


class EndReason(StrEnum):
    LOGOUT = "logout"
    IDLE = "idle"
    PASSWORD_CHANGED = "password_changed"
    PASSWORD_RESET = "password_reset"
    DISABLED = "disabled"


def _key(token: str) -> str:
    """The row's key: a hash, so that whoever reads the table cannot present its sessions."""
    return hashlib.sha256(token.encode()).hexdigest()


def load_user(session: Session, user_id: int, token: str) -> User | None:
    """The enabled user of the cookie, fetched with its login session in one query, so that `check` finds the row in
    the session's identity map instead of asking the database again."""
    query = (
        select(User, LoginSession)
        .outerjoin(LoginSession, (LoginSession.id == _key(token)) & (LoginSession.user_id == User.id))
        .where(User.id == user_id)
    )
    row = session.execute(query).first()
    if row is None or not row[0].is_enabled:
        return None  # a disabled account keeps no session
    session.info["login_session"] = row[1]  # the identity map holds objects weakly: keep it for `check`
    return row[0]


def start(session: Session, user: User, *, now: datetime, ip: str, user_agent: str) -> str:
    """Open a login session for `user`; the returned token goes into the signed cookie."""
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            id=_key(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            ip=ip[:45],
            user_agent=user_agent[:300],
            end_reason="",
        )
    )
    session.flush()
    return token


def check(session: Session, user_id: int, token: str, *, now: datetime, idle: timedelta) -> Check:
    """Whether the cookie's login session still lets `user_id` in; idle time is measured on the server's row, so a
    cookie cannot carry its own age (ACC-5: locked after SESSION_IDLE_MINUTES)."""
    row = session.get(LoginSession, _key(token)) if token else None
    if row is None or row.ended_at is not None or row.user_id != user_id:
        return Check.ENDED
    if now - row.last_seen_at > idle:
        row.ended_at, row.end_reason = now, EndReason.IDLE.value
        session.flush()
        return Check.IDLE
    if now - row.last_seen_at < TOUCH_INTERVAL:
        return Check.ACTIVE
    row.last_seen_at = now
    session.flush()
    return Check.TOUCHED


def end(session: Session, token: str, *, now: datetime, reason: EndReason) -> None:
    """End one login session (logout)."""
    row = session.get(LoginSession, _key(token)) if token else None
    if row is not None and row.ended_at is None:
        row.ended_at, row.end_reason = now, reason.value
        session.flush()


def end_all(session: Session, user: User, *, now: datetime, reason: EndReason, keep: str | None = None) -> int:
    """End every open login session of `user` except the one of token `keep`; how many were ended."""
    query = update(LoginSession).where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))
    if keep:
        query = query.where(LoginSession.id != _key(keep))
    result = session.execute(
        query.values(ended_at=now, end_reason=reason.value).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
