"""Encryption at rest for key material, with the secret from configuration (SIGNING_SECRET)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from app.errors import N_, DomainError


class VaultError(DomainError):
    status = 500


def _fernet(secret: str) -> Fernet:
    # Fernet wants 32 url-safe base64 bytes; derive them from the configured secret of any length.
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode("utf-8")).digest()))


def seal(secret: str, data: bytes) -> bytes:
    return _fernet(secret).encrypt(data)


def unseal(secret: str, token: bytes) -> bytes:
    try:
        return _fernet(secret).decrypt(token)
    except InvalidToken:
        raise VaultError(N_("The stored key cannot be decrypted: the signing secret of this server changed.")) from None
