"""Accounts: password hashing, login with lockout and unlock, first-login change, role look-ups (ACC-3, ACC-5)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import N_, InvalidInput, NotFound, PermissionDenied
from app.org import login_sessions
from app.org.models import Agency, Delegation, Role, RoleGrant, Unit, User
from app.org.passwords import password_problems

_hasher = PasswordHasher()
log = logging.getLogger(__name__)


class LoginFailed(PermissionDenied):
    pass


# One message for every refusal: an unknown name, a wrong password, a disabled or a locked account must not be
# told apart, or usernames can be discovered. The owner of a locked account reads "temporarily locked" here.
LOGIN_FAILED = N_(
    "Wrong username or password, or the account is temporarily locked. Try again later or ask the administrator."
)


@cache
def _dummy_hash() -> str:
    """A hash with the hasher's parameters, made once: unknown names are checked against it, in the same time."""
    return _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    now: datetime,
    max_failures: int,
    lock_minutes: int,
    failure_window_minutes: int = 15,
) -> User:
    """Check a login; lock the account for `lock_minutes` after `max_failures` failures within
    `failure_window_minutes` (ACC-5). Every refusal costs one password check and reads alike."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        _password_matches(_dummy_hash(), password)
        raise LoginFailed(LOGIN_FAILED)
    matches = _password_matches(user.password_hash, password)
    if not user.is_enabled or (user.locked_until is not None and user.locked_until > now):
        raise LoginFailed(LOGIN_FAILED)
    if not matches:
        window_started = user.first_failed_login_at
        if window_started is None or now - window_started >= timedelta(minutes=failure_window_minutes):
            user.failed_login_count = 0
            user.first_failed_login_at = now
        user.failed_login_count += 1
        if user.failed_login_count >= max_failures:
            user.locked_until = now + timedelta(minutes=lock_minutes)
            user.failed_login_count = 0
            user.first_failed_login_at = None
            log.warning(
                "account %s locked until %s after %s failed logins", user.username, user.locked_until, max_failures
            )
        session.flush()
        raise LoginFailed(LOGIN_FAILED)
    user.failed_login_count = 0
    user.first_failed_login_at = None
    user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    session.flush()
    return user


def _refuse_weak(user: User, new: str, min_length: int) -> None:
    problems = password_problems(new, username=user.username, min_length=min_length)
    if problems:
        raise InvalidInput(N_("The new password does not follow the policy."), {"new": problems}, min_length=min_length)


def change_password(
    session: Session,
    user: User,
    current: str,
    new: str,
    *,
    now: datetime,
    min_length: int = 14,
    keep_session: str | None = None,
) -> None:
    """Change a password under the policy of domain.md §7.2; the new one must differ from the current one; every
    login session but the one of token `keep_session` ends (ACC-5)."""
    if not _password_matches(user.password_hash, current):
        raise InvalidInput(N_("The current password is wrong."), {"current": N_("Wrong password")})
    _refuse_weak(user, new, min_length)
    if new == current:
        raise InvalidInput(N_("The new password must differ from the current one."), {"new": N_("Same as before")})
    user.password_hash = _hasher.hash(new)
    user.must_change_password = False
    user.password_changed_at = now
    login_sessions.end_all(session, user, now=now, reason=login_sessions.EndReason.PASSWORD_CHANGED, keep=keep_session)
    session.flush()


def reset_password(
    session: Session, admin: User, user: User, temporary: str, *, now: datetime, min_length: int = 14
) -> None:
    """An administrator of the same agency sets a temporary password, to be changed at next login; the user's
    login sessions end (ACC-5)."""
    if not admin.has_role(Role.ADMIN) or admin.agency_id != user.agency_id:
        raise PermissionDenied(N_("Only an administrator of the same agency may reset this password."))
    _refuse_weak(user, temporary, min_length)
    user.password_hash = _hasher.hash(temporary)
    user.must_change_password = True
    user.failed_login_count = 0
    user.first_failed_login_at = None
    user.locked_until = None
    login_sessions.end_all(session, user, now=now, reason=login_sessions.EndReason.PASSWORD_RESET)
    session.flush()


def disable_user(session: Session, admin: User, user: User, *, now: datetime) -> None:
    """An administrator of the same agency disables an account; its login sessions end at once (ACC-3)."""
    if not admin.has_role(Role.ADMIN) or admin.agency_id != user.agency_id or admin.id == user.id:
        raise PermissionDenied(N_("Only an administrator of the same agency may disable this account."))
    user.is_enabled = False
    login_sessions.end_all(session, user, now=now, reason=login_sessions.EndReason.DISABLED)
    session.flush()


def locked_accounts(session: Session, admin: User, *, now: datetime) -> list[User]:
    """The accounts of the administrator's agency locked now by failed logins (ACC-5)."""
    if not admin.has_role(Role.ADMIN):
        raise PermissionDenied(N_("Only an administrator sees the locked accounts."))
    query = (
        select(User)
        .where(User.agency_id == admin.agency_id, User.locked_until.is_not(None), User.locked_until > now)
        .order_by(User.username)
    )
    return list(session.scalars(query))


def unlock_account(session: Session, admin: User | None, user_id: int, *, now: datetime) -> User:
    """An administrator of the same agency (or the command line, `admin` None) unlocks an account (ACC-5)."""
    if admin is not None and not admin.has_role(Role.ADMIN):
        raise PermissionDenied(N_("Only an administrator unlocks accounts."))
    user = session.get(User, user_id)
    if user is None or (admin is not None and user.agency_id != admin.agency_id):
        raise NotFound(N_("No such account."))
    was_locked_until = user.locked_until
    user.locked_until = None
    user.failed_login_count = 0
    user.first_failed_login_at = None
    session.flush()
    log.warning(
        "account %s unlocked by %s at %s (was locked until %s)",
        user.username,
        admin.username if admin is not None else "the command line",
        now.isoformat(),
        was_locked_until,
    )
    return user


def create_agency(
    session: Session, code: str, name: str, abbreviation: str, *, place_name: str = "", parent: Agency | None = None
) -> Agency:
    agency = Agency(code=code, name=name, abbreviation=abbreviation, place_name=place_name, parent=parent)
    session.add(agency)
    session.flush()
    return agency


def create_user(
    session: Session,
    agency: Agency,
    username: str,
    full_name: str,
    password: str,
    roles: Iterable[Role],
    *,
    unit: Unit | None = None,
    position: str = "",
    email: str = "",
) -> User:
    user = User(
        username=username.lower(),
        full_name=full_name,
        position=position,
        email=email,
        agency_id=agency.id,
        unit_id=unit.id if unit else None,
        password_hash=_hasher.hash(password),
        must_change_password=True,
    )
    user.role_grants = [RoleGrant(role=role.value) for role in roles]
    session.add(user)
    session.flush()
    return user


def agency_by_code(session: Session, code: str) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        raise NotFound(N_("No agency has the code %(code)s."), code=code)
    return agency


def holders(session: Session, agency_id: int, role: Role, unit_code: str | None = None) -> list[User]:
    """Enabled users of the agency holding `role`, optionally only those of the unit with `unit_code`."""
    query = (
        select(User)
        .join(RoleGrant)
        .where(User.agency_id == agency_id, User.is_enabled.is_(True), RoleGrant.role == role.value)
        .order_by(User.full_name)
    )
    if unit_code is not None:
        query = query.join(Unit, Unit.id == User.unit_id).where(Unit.code == unit_code)
    return list(session.scalars(query))


def check_delegator(user: User) -> None:
    """Only leaders delegate (ACC-3): asked before the form is read."""
    if not user.has_role(Role.LEADER, Role.DEPUTY_LEADER, Role.UNIT_LEADER):
        raise PermissionDenied(N_("Only leaders delegate their assigning."))


def delegate(
    session: Session, leader: User, delegate_user: User, *, starts_at: datetime, ends_at: datetime, now: datetime
) -> Delegation:
    """A leader delegates assigning and supervising to a named person of the agency for a period (ACC-3)."""
    check_delegator(leader)
    if delegate_user.agency_id != leader.agency_id or delegate_user.id == leader.id:
        raise InvalidInput(N_("Choose another person of your agency."), {"delegate": N_("Choose another person.")})
    if ends_at <= starts_at or ends_at <= now:
        raise InvalidInput(
            N_("The period must end after it starts, in the future."), {"ends_at": N_("Check the dates.")}
        )
    delegation = Delegation(
        agency_id=leader.agency_id,
        delegator_id=leader.id,
        delegate_id=delegate_user.id,
        starts_at=starts_at,
        ends_at=ends_at,
        created_at=now,
    )
    session.add(delegation)
    session.flush()
    return delegation


def revoke_delegation(session: Session, leader: User, delegation_id: int, *, now: datetime) -> None:
    delegation = session.get(Delegation, delegation_id)
    if delegation is None or delegation.delegator_id != leader.id:
        raise NotFound(N_("No such delegation."))
    delegation.revoked_at = now
    session.flush()


def active_delegators(session: Session, user: User, *, now: datetime) -> list[User]:
    """The people `user` stands in for now."""
    query = (
        select(User)
        .join(Delegation, Delegation.delegator_id == User.id)
        .where(
            Delegation.delegate_id == user.id,
            Delegation.starts_at <= now,
            Delegation.ends_at > now,
            Delegation.revoked_at.is_(None),
            User.is_enabled.is_(True),
        )
    )
    return list(session.scalars(query))


def delegations_of(session: Session, user: User) -> list[Delegation]:
    query = (
        select(Delegation)
        .where((Delegation.delegator_id == user.id) | (Delegation.delegate_id == user.id))
        .order_by(Delegation.starts_at.desc())
    )
    return list(session.scalars(query))
