"""Signing keys of people and agencies (PKCS#12 encrypted at rest, or a PKCS#11 token) and trust anchors."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime


class KeyKind(StrEnum):
    PKCS12 = "pkcs12"
    PKCS11 = "pkcs11"


class AnchorKind(StrEnum):
    ROOT = "root"
    INTERMEDIATE = "intermediate"
    CRL = "crl"


class SigningKey(Base):
    """A person's key (user_id set) or an agency's key (user_id empty); one active key per owner."""

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    # PKCS#12 encrypted with the key from SIGNING_SECRET; its own password is never stored for a person
    # (the signer types it to sign) and stored encrypted for an agency (the clerk seals by role).
    sealed_pkcs12: Mapped[bytes | None] = mapped_column(LargeBinary)
    sealed_password: Mapped[bytes | None] = mapped_column(LargeBinary)
    pkcs11_json: Mapped[str] = mapped_column(Text, default="")  # module, token, key and cert labels
    certificate: Mapped[bytes] = mapped_column(LargeBinary)  # DER
    subject_name: Mapped[str] = mapped_column(String(200))
    serial: Mapped[str] = mapped_column(String(80))
    fingerprint: Mapped[str] = mapped_column(String(64))
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    not_after: Mapped[datetime] = mapped_column(UTCDateTime)
    image_png: Mapped[bytes | None] = mapped_column(LargeBinary)  # blue signature, or red seal
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(80))


class TrustAnchor(Base):
    """A trusted root, an intermediate to build paths with, or a CRL: what verification trusts."""

    __tablename__ = "trust_anchors"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    data: Mapped[bytes] = mapped_column(LargeBinary)  # DER
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ExternalSigning(Base):
    """A document prepared for a signature made on the signer's own token, waiting for that signature."""

    __tablename__ = "external_signings"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    preparation_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
