"""An offline test PKI: root and intermediate CAs, CRLs and PKCS#12 files for people and agencies."""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

KEY_BITS = 2048
CRL_BASE_URL = "http://crl.test.invalid"
CA_DAYS = 3650
LEAF_DAYS = 365


@dataclass(frozen=True)
class PersonSpec:
    username: str
    full_name: str
    agency_name: str


@dataclass(frozen=True)
class AgencySpec:
    code: str
    name: str


@dataclass(frozen=True)
class TestPki:
    """Paths of everything `generate_test_pki` wrote; every PKCS#12 is protected by `password`."""

    __test__: ClassVar[bool] = False  # not a pytest class, despite the name

    directory: Path
    password: str
    root_pem: Path
    intermediate_pem: Path
    root_crl: Path
    intermediate_crl: Path
    revoked_p12: Path
    expired_p12: Path
    rogue_p12: Path
    rogue_root_pem: Path
    person_p12: dict[str, Path] = field(default_factory=dict)
    agency_p12: dict[str, Path] = field(default_factory=dict)

    @property
    def crls(self) -> list[Path]:
        return [self.root_crl, self.intermediate_crl]


@dataclass(frozen=True)
class _Issuer:
    cert: x509.Certificate
    key: rsa.RSAPrivateKey
    crl_name: str  # the CRL this CA publishes, named in the distribution point of what it issues


def generate_test_pki(
    directory: Path,
    *,
    people: Sequence[PersonSpec],
    agencies: Sequence[AgencySpec],
    password: str,
    now: datetime,
) -> TestPki:
    """Write a complete RSA-2048 test PKI under `directory`, every validity date relative to `now`."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    now = now.astimezone(UTC).replace(microsecond=0)
    for name in [person.username for person in people] + [agency.code for agency in agencies]:
        if not re.fullmatch(r"[\w@-][\w.@-]*", name):
            raise ValueError(f"{name!r} cannot be used as a file name")
    for sub in ("people", "agencies"):
        (directory / sub).mkdir(parents=True, exist_ok=True)

    # Key generation is nearly all the cost and OpenSSL releases the GIL: use both cores.
    with ThreadPoolExecutor(max_workers=2) as pool:
        keys = list(pool.map(lambda _: _new_key(), range(len(people) + len(agencies) + 4)))
    root_key, intermediate_key, rogue_root_key, special_key = keys[:4]
    identity_keys = iter(keys[4:])

    # The CAs start two years back so that the expired identity lies inside their validity.
    ca_start = now - timedelta(days=730)
    root_cert = _certificate(_name("Test Root CA", "Test PKI"), root_key, None, now=ca_start, days=CA_DAYS, ca=True)
    root = _Issuer(root_cert, root_key, "root")
    intermediate_cert = _certificate(
        _name("Test Issuing CA", "Test PKI"), intermediate_key, root, now=ca_start, days=CA_DAYS - 1, ca=True
    )
    intermediate = _Issuer(intermediate_cert, intermediate_key, "intermediate")
    rogue_cert = _certificate(
        _name("Rogue Root CA", "Rogue"), rogue_root_key, None, now=ca_start, days=CA_DAYS, ca=True
    )
    rogue_root = _Issuer(rogue_cert, rogue_root_key, "rogue")
    chain = [intermediate_cert, root_cert]
    secret = password.encode()

    person_p12: dict[str, Path] = {}
    for person in people:
        key = next(identity_keys)
        subject = _name(person.full_name, person.agency_name, uid=person.username)
        cert = _certificate(subject, key, intermediate, now=now, days=LEAF_DAYS)
        person_p12[person.username] = _write_p12(
            directory / "people" / f"{person.username}.p12", key, cert, chain, secret
        )
    agency_p12: dict[str, Path] = {}
    for agency in agencies:
        key = next(identity_keys)
        cert = _certificate(
            _name(agency.name, agency.name, uid=agency.code), key, intermediate, now=now, days=LEAF_DAYS
        )
        agency_p12[agency.code] = _write_p12(directory / "agencies" / f"{agency.code}.p12", key, cert, chain, secret)

    # The three special identities share one key: only their certificates differ.
    revoked_name = _name("Trần Thị Thu Hồi", "Test PKI", uid="revoked")
    revoked = _certificate(revoked_name, special_key, intermediate, now=now, days=LEAF_DAYS)
    expired_name = _name("Lê Văn Hết Hạn", "Test PKI", uid="expired")
    ended = now - timedelta(days=LEAF_DAYS + 30)  # validity ended a month before `now`
    expired = _certificate(expired_name, special_key, intermediate, now=ended, days=LEAF_DAYS)
    rogue_name = _name("Phạm Văn Giả Mạo", "Rogue", uid="rogue")
    rogue = _certificate(rogue_name, special_key, rogue_root, now=now, days=LEAF_DAYS)

    paths = {
        "root_pem": directory / "root.pem",
        "intermediate_pem": directory / "intermediate.pem",
        "root_crl": directory / "root.crl",
        "intermediate_crl": directory / "intermediate.crl",
        "rogue_root_pem": directory / "rogue_root.pem",
    }
    paths["root_pem"].write_bytes(root_cert.public_bytes(serialization.Encoding.PEM))
    paths["intermediate_pem"].write_bytes(intermediate_cert.public_bytes(serialization.Encoding.PEM))
    paths["rogue_root_pem"].write_bytes(rogue_cert.public_bytes(serialization.Encoding.PEM))
    paths["root_crl"].write_bytes(_crl(root, [], now=now))
    paths["intermediate_crl"].write_bytes(_crl(intermediate, [revoked], now=now))
    return TestPki(
        directory=directory,
        password=password,
        revoked_p12=_write_p12(directory / "revoked.p12", special_key, revoked, chain, secret),
        expired_p12=_write_p12(directory / "expired.p12", special_key, expired, chain, secret),
        rogue_p12=_write_p12(directory / "rogue.p12", special_key, rogue, [rogue_cert], secret),
        person_p12=person_p12,
        agency_p12=agency_p12,
        **paths,
    )


def load_pem_or_der_cert(data: bytes) -> x509.Certificate:
    """Parse one X.509 certificate given as PEM or DER; ValueError if it is neither."""
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def _name(common_name: str, organization: str, *, uid: str | None = None) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ]
    if uid is not None:
        attributes.append(x509.NameAttribute(NameOID.USER_ID, uid))
    return x509.Name(attributes)


def _certificate(
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer: _Issuer | None,
    *,
    now: datetime,
    days: int,
    ca: bool = False,
) -> x509.Certificate:
    not_before = now - timedelta(days=1)
    signing_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=not ca,  # nonRepudiation: pyHanko's default signer policy wants it
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
        # A distribution point makes hard-fail validation demand the CRL; nothing ever fetches it.
        point = x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(f"{CRL_BASE_URL}/{issuer.crl_name}.crl")],
            relative_name=None,
            reasons=None,
            crl_issuer=None,
        )
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def _crl(issuer: _Issuer, revoked: Sequence[x509.Certificate], *, now: datetime) -> bytes:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(now - timedelta(hours=1))
        .next_update(now + timedelta(days=30))
        .add_extension(x509.CRLNumber(1), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False)
    )
    for cert in revoked:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(cert.serial_number)
            .revocation_date(now - timedelta(hours=12))
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
            .build()
        )
        builder = builder.add_revoked_certificate(entry)
    return builder.sign(issuer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _write_p12(
    path: Path,
    key: rsa.RSAPrivateKey,
    cert: x509.Certificate,
    chain: Sequence[x509.Certificate],
    password: bytes,
) -> Path:
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"key", key, cert, list(chain), serialization.BestAvailableEncryption(password)
        )
    )
    return path
