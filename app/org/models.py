"""Agencies (mã định danh), units, users and the roles they hold."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, utcnow_column_default


class Role(StrEnum):
    CLERK = "clerk"
    LEADER = "leader"
    DEPUTY_LEADER = "deputy_leader"
    UNIT_LEADER = "unit_leader"
    SPECIALIST = "specialist"
    ADMIN = "admin"
    DESIGNER = "designer"
    AUDITOR = "auditor"


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(13), unique=True)  # mã định danh, e.g. 000.00.12.H34
    name: Mapped[str] = mapped_column(String(200))
    abbreviation: Mapped[str] = mapped_column(String(20))  # ký hiệu of the agency in document numbers: UBND, SNV
    place_name: Mapped[str] = mapped_column(String(100), default="")  # địa danh written before the date
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    parent: Mapped[Agency | None] = relationship(remote_side=[id])
    units: Mapped[list[Unit]] = relationship(back_populates="agency", order_by="Unit.name")


class Unit(Base):
    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("agency_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))  # abbreviation used in BPMN and in ký hiệu: VP, TCBC
    name: Mapped[str] = mapped_column(String(200))

    agency: Mapped[Agency] = relationship(back_populates="units")


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(100))
    position: Mapped[str] = mapped_column(String(100), default="")  # chức vụ
    email: Mapped[str] = mapped_column(String(200), default="")
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_login_count: Mapped[int] = mapped_column(Integer, default=0)
    # failed_login_count counts the failures since this instant; older than the window, counting starts again.
    first_failed_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(5), default="vi")
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow_column_default)

    agency: Mapped[Agency] = relationship()
    unit: Mapped[Unit | None] = relationship()
    role_grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> set[Role]:
        return {Role(grant.role) for grant in self.role_grants}

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_installation_admin(self) -> bool:
        """An administrator of a top agency (no parent) administers the whole installation."""
        return Role.ADMIN in self.roles and self.agency.parent_id is None

    @property
    def is_active(self) -> bool:  # flask-login: a disabled account cannot keep a session
        return self.is_enabled


class RoleGrant(Base):
    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(30), index=True)

    user: Mapped[User] = relationship(back_populates="role_grants")


class Delegation(Base):
    """A leader lets a named person assign and supervise in their place for a period (ACC-3)."""

    __tablename__ = "delegations"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    delegator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    delegator: Mapped[User] = relationship(foreign_keys=[delegator_id])
    delegate: Mapped[User] = relationship(foreign_keys=[delegate_id])


class LoginSession(Base):
    """One login: the cookie carries its token, whose hash is the key; ended rows stay as the record of who
    logged in from where."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie's token, in hex
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ip: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str] = mapped_column(String(20), default="")
