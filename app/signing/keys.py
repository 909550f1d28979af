"""Signing keys: PKCS#12 files, PKCS#11 tokens, and the facts of a certificate shown to people."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import pkcs12 as asn1_pkcs12
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.keys.internal import translate_pyca_cryptography_cert_to_asn1, translate_pyca_cryptography_key_to_asn1
from pyhanko.sign.signers import Signer, SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from app.errors import N_
from app.signing.pki import load_pem_or_der_cert


class SigningFailure(ValueError):
    """An expected signing failure; `message` is an English sentence for translation, `detail` is for logs."""

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message if not detail else f"{message} ({detail})")
        self.message = message
        self.detail = detail


WRONG_SECRET = N_("The key password or PIN is wrong.")
UNREADABLE_P12 = N_("The key file is not a readable PKCS#12 (.p12/.pfx) file.")
NO_KEY_IN_P12 = N_("The key file holds no private key and certificate.")
TOKEN_NOT_FOUND = N_("The signing token was not found; check that it is plugged in.")
TOKEN_OBJECT_NOT_FOUND = N_("The key or certificate was not found on the signing token.")
TOKEN_FAILED = N_("The signing token could not be used.")
PIN_LOCKED = N_("The token PIN is locked.")
UNREADABLE_CERT = N_("The certificate could not be read.")
UNREADABLE_CRL = N_("The certificate revocation list could not be read.")


class CachedKeySigner(SimpleSigner):
    """A SimpleSigner that parses its private key once: pyHanko re-parses it for every signature (~35 ms)."""

    def __init__(
        self, signing_cert: asn1_x509.Certificate, private_key: RSAPrivateKey, chain: Sequence[asn1_x509.Certificate]
    ) -> None:
        super().__init__(
            signing_cert=signing_cert,
            signing_key=translate_pyca_cryptography_key_to_asn1(private_key),
            cert_registry=SimpleCertificateStore.from_certs([signing_cert, *chain]),
        )
        self.private_key = private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        if mechanism != "rsassa_pkcs1v15":
            return bytes(super().sign_raw(data, digest_algorithm))
        return self.private_key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))


@dataclass(frozen=True)
class Pkcs11Config:
    module_path: str
    token_label: str
    key_label: str
    cert_label: str
    pin: str
    chain_pem: bytes = b""  # CA certificates to embed in signatures, for tokens that hold only the signer's


@dataclass(frozen=True)
class CertificateFacts:
    subject_name: str  # the subject's common name: a person's full name or an agency's name
    organization: str
    username: str  # the UID attribute, or "" when absent
    serial: str  # hexadecimal
    issuer: str  # the issuer's common name
    not_before: datetime
    not_after: datetime
    fingerprint: str  # SHA-256 of the DER certificate, upper-case hexadecimal

    def is_valid_at(self, moment: datetime) -> bool:
        return self.not_before <= moment <= self.not_after


def load_pkcs12(data: bytes, password: str) -> Signer:
    """A key-caching signer with the certificate chain from a PKCS#12 file."""
    key, cert, chain = _open_pkcs12(data, password)
    if key is None or cert is None:
        raise SigningFailure(NO_KEY_IN_P12)
    signing_cert = translate_pyca_cryptography_cert_to_asn1(cert)
    ca_certs = [translate_pyca_cryptography_cert_to_asn1(c) for c in chain]
    if isinstance(key, RSAPrivateKey):
        return CachedKeySigner(signing_cert, key, ca_certs)
    return SimpleSigner(  # EC and other keys: rare here, and cheap enough to re-parse
        signing_cert=signing_cert,
        signing_key=translate_pyca_cryptography_key_to_asn1(key),
        cert_registry=SimpleCertificateStore.from_certs([signing_cert, *ca_certs]),
    )


def p12_certificate(data: bytes, password: str) -> bytes:
    """The DER certificate held in a PKCS#12 file."""
    _key, cert, _chain = _open_pkcs12(data, password)
    if cert is None:
        raise SigningFailure(NO_KEY_IN_P12)
    return cert.public_bytes(serialization.Encoding.DER)


def certificate_facts(data: bytes, password: str | None = None) -> CertificateFacts:
    """Display facts of a PEM/DER certificate, or of a PKCS#12 file's certificate when `password` is given."""
    try:
        cert = load_pem_or_der_cert(p12_certificate(data, password) if password is not None else data)
    except ValueError as error:
        if isinstance(error, SigningFailure):
            raise
        raise SigningFailure(UNREADABLE_CERT, detail=str(error)) from error
    return CertificateFacts(
        subject_name=_attribute(cert.subject, NameOID.COMMON_NAME),
        organization=_attribute(cert.subject, NameOID.ORGANIZATION_NAME),
        username=_attribute(cert.subject, NameOID.USER_ID),
        serial=format(cert.serial_number, "x"),
        issuer=_attribute(cert.issuer, NameOID.COMMON_NAME),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        fingerprint=hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper(),
    )


def to_der(data: bytes, *, crl: bool = False) -> bytes:
    """A PEM or DER certificate (or CRL) as DER, checked to parse."""
    try:
        if crl:
            parsed = (
                x509.load_pem_x509_crl(data)
                if data.lstrip().startswith(b"-----BEGIN")
                else x509.load_der_x509_crl(data)
            )
            return parsed.public_bytes(serialization.Encoding.DER)
        return load_pem_or_der_cert(data).public_bytes(serialization.Encoding.DER)
    except ValueError as error:
        raise SigningFailure(UNREADABLE_CRL if crl else UNREADABLE_CERT, detail=str(error)) from error


@contextmanager
def pkcs11_signer(config: Pkcs11Config) -> Iterator[Signer]:
    """Open a session on a PKCS#11 token and yield its signer; the session closes on exit."""
    import pkcs11
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session

    try:
        chain = [translate_pyca_cryptography_cert_to_asn1(c) for c in load_pem_chain(config.chain_pem)]
    except ValueError as error:
        raise SigningFailure(UNREADABLE_CERT, detail=str(error)) from error
    try:
        session = open_pkcs11_session(
            config.module_path, token_criteria=TokenCriteria(label=config.token_label), user_pin=config.pin
        )
    except (pkcs11.exceptions.PinIncorrect, pkcs11.exceptions.PinLenRange, pkcs11.exceptions.PinInvalid) as error:
        raise SigningFailure(WRONG_SECRET, detail=type(error).__name__) from error
    except pkcs11.exceptions.PinLocked as error:
        raise SigningFailure(PIN_LOCKED) from error
    except (pkcs11.exceptions.PKCS11Error, OSError, RuntimeError) as error:
        # A missing module or token, or one that is not initialised, all mean "not found" to the user.
        raise SigningFailure(TOKEN_NOT_FOUND, detail=f"{type(error).__name__}: {error}") from error
    try:
        signer = PKCS11Signer(
            session,
            cert_label=config.cert_label,
            key_label=config.key_label,
            ca_chain=chain,
            other_certs_to_pull=(),  # pulling every certificate off a busy token is slow and unneeded
        )
        try:
            signer.signing_cert  # noqa: B018  # loads the key and certificate now, so a wrong label fails here
        except pkcs11.exceptions.PKCS11Error as error:
            raise SigningFailure(TOKEN_OBJECT_NOT_FOUND, detail=str(error)) from error
        yield signer
    finally:
        session.close()


def load_pem_chain(data: bytes) -> list[x509.Certificate]:
    """The certificates of a PEM bundle; none for empty input."""
    return x509.load_pem_x509_certificates(data) if data.strip() else []


def _open_pkcs12(
    data: bytes, password: str
) -> tuple[PrivateKeyTypes | None, x509.Certificate | None, list[x509.Certificate]]:
    try:
        key, cert, chain = pkcs12.load_key_and_certificates(data, password.encode())
    except (ValueError, TypeError) as error:
        # cryptography says "invalid password or PKCS12 data" for both; the ASN.1 structure tells them apart.
        try:
            asn1_pkcs12.Pfx.load(data).native  # noqa: B018
        except (ValueError, TypeError, KeyError) as parse_error:
            raise SigningFailure(UNREADABLE_P12, detail=str(parse_error)) from error
        raise SigningFailure(WRONG_SECRET) from error
    return key, cert, chain


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else ""
