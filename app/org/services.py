"""Accounts: password policy and hashing, login with lockout, first-login change, role look-ups (ACC-3, ACC-5)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import N_, InvalidInput, NotFound, PermissionDenied
from app.org.models import Agency, Delegation, Role, RoleGrant, Unit, User

_hasher = PasswordHasher()

PASSWORD_RULES = (
    (re.compile(r".{8,}", re.S), N_("at least 8 characters")),
    (re.compile(r"[a-zà-ỹđ]"), N_("a lower-case letter")),
    (re.compile(r"[A-ZÀ-ỸĐ]"), N_("an upper-case letter")),
    (re.compile(r"\d"), N_("a digit")),
    (re.compile(r"[^\w\s]|_"), N_("a special character")),
)


class LoginFailed(PermissionDenied):
    pass


def password_problems(password: str) -> list[str]:
    """The policy rules of ACC-5 that `password` breaks (untranslated messages)."""
    return [rule for pattern, rule in PASSWORD_RULES if not pattern.search(password)]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def authenticate(
    session: Session, username: str, password: str, *, now: datetime, max_failures: int, lock_minutes: int
) -> User:
    """Check a login; lock the account for `lock_minutes` after `max_failures` failures in a row (ACC-5)."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    failure = LoginFailed(N_("Wrong username or password."))
    if user is None or not user.is_enabled:
        raise failure
    if user.locked_until is not None and user.locked_until > now:
        raise LoginFailed(
            N_("This account is locked after repeated failed logins; try again later or ask the administrator.")
        )
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        user.failed_login_count += 1
        if user.failed_login_count >= max_failures:
            user.locked_until = now + timedelta(minutes=lock_minutes)
            user.failed_login_count = 0
        session.flush()
        raise failure from None
    user.failed_login_count = 0
    user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    session.flush()
    return user


def change_password(session: Session, user: User, current: str, new: str, *, now: datetime) -> None:
    """Change a password under the policy; the new one must differ from the current one (ACC-5)."""
    try:
        _hasher.verify(user.password_hash, current)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise InvalidInput(N_("The current password is wrong."), {"current": N_("Wrong password")}) from None
    problems = password_problems(new)
    if problems:
        raise InvalidInput(N_("The new password does not follow the policy."), {"new": problems})
    if new == current:
        raise InvalidInput(N_("The new password must differ from the current one."), {"new": N_("Same as before")})
    user.password_hash = _hasher.hash(new)
    user.must_change_password = False
    user.password_changed_at = now
    session.flush()


def reset_password(session: Session, admin: User, user: User, temporary: str) -> None:
    """An administrator of the same agency sets a temporary password, to be changed at next login (ACC-5)."""
    if not admin.has_role(Role.ADMIN) or admin.agency_id != user.agency_id:
        raise PermissionDenied(N_("Only an administrator of the same agency may reset this password."))
    problems = password_problems(temporary)
    if problems:
        raise InvalidInput(N_("The new password does not follow the policy."), {"new": problems})
    user.password_hash = _hasher.hash(temporary)
    user.must_change_password = True
    user.failed_login_count = 0
    user.locked_until = None
    session.flush()


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
