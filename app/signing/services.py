"""Keys of people and agencies, and signing, sealing, digitising and verifying with them (DOC-6, DOC-7,
IN-1, IN-4, OUT-8, OUT-9). The caller passes the configured secret and the clock."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import clock
from app.errors import N_, InvalidInput, NotFound, PermissionDenied
from app.org.models import Agency, Role, User
from app.signing import keys, pdf, vault, verify
from app.signing.models import AnchorKind, ExternalSigning, KeyKind, SigningKey, TrustAnchor


@contextmanager
def _translated_failures() -> Iterator[None]:
    """pyHanko-level failures become InvalidInput with the module's English sentence, shown translated."""
    try:
        yield
    except (keys.SigningFailure, pdf.InvalidPdf) as error:
        raise InvalidInput(error.message) from error


# --- keys -------------------------------------------------------------------------------------------------


def _check_admin(admin: User, agency_id: int) -> None:
    if not admin.has_role(Role.ADMIN) or admin.agency_id != agency_id:
        raise PermissionDenied(N_("Only an administrator of the same agency manages its keys."))


def check_key_manager(user: User) -> None:
    """Only an administrator manages the keys of their agency: asked before the upload is read."""
    _check_admin(user, user.agency_id)


def import_pkcs12(
    session: Session,
    admin: User,
    *,
    agency: Agency,
    user: User | None,
    data: bytes,
    password: str,
    image_png: bytes | None,
    secret: str,
    now: datetime,
) -> SigningKey:
    """Store a person's or an agency's PKCS#12, encrypted at rest; it replaces the owner's active key."""
    _check_admin(admin, agency.id)
    if user is not None and user.agency_id != agency.id:
        raise PermissionDenied(N_("This person belongs to another agency."))
    return store_pkcs12(
        session,
        agency=agency,
        user=user,
        data=data,
        password=password,
        image_png=image_png,
        secret=secret,
        actor=admin.username,
        now=now,
    )


def store_pkcs12(
    session: Session,
    *,
    agency: Agency,
    user: User | None,
    data: bytes,
    password: str,
    image_png: bytes | None,
    secret: str,
    actor: str,
    now: datetime,
) -> SigningKey:
    """Store a PKCS#12 after proving its password (for operators' tools; the web checks permissions first)."""
    with _translated_failures():
        keys.load_pkcs12(data, password)  # proves the password before anything is stored
        certificate = keys.p12_certificate(data, password)
    key = _new_key(session, agency, user, KeyKind.PKCS12, certificate, image_png, actor, now)
    key.sealed_pkcs12 = vault.seal(secret, data)
    if user is None:  # an agency's seal is applied by its clerks, who must not need the key password
        key.sealed_password = vault.seal(secret, password.encode("utf-8"))
    session.flush()
    return key


def configure_pkcs11(
    session: Session,
    admin: User,
    *,
    agency: Agency,
    user: User | None,
    config: dict[str, str],
    certificate: bytes,
    image_png: bytes | None,
    pin: str = "",
    secret: str = "",
    now: datetime,
) -> SigningKey:
    """Record a key on a PKCS#11 token (module, token label, key and certificate labels). A person types
    the PIN to sign; an agency's PIN is stored encrypted, as its clerks seal by role."""
    _check_admin(admin, agency.id)
    if user is not None and user.agency_id != agency.id:
        raise PermissionDenied(N_("This person belongs to another agency."))
    return store_pkcs11(
        session,
        agency=agency,
        user=user,
        config=config,
        certificate=certificate,
        image_png=image_png,
        pin=pin,
        secret=secret,
        actor=admin.username,
        now=now,
    )


def store_pkcs11(
    session: Session,
    *,
    agency: Agency,
    user: User | None,
    config: dict[str, str],
    certificate: bytes,
    image_png: bytes | None = None,
    pin: str = "",
    secret: str,
    actor: str,
    now: datetime,
) -> SigningKey:
    missing = {"module_path", "token_label", "key_label", "cert_label"} - {k for k, v in config.items() if v}
    if missing:
        raise InvalidInput(N_("The token settings lack %(fields)s."), fields=", ".join(sorted(missing)))
    if user is None and not pin:
        raise InvalidInput(N_("Give the token PIN: the agency's clerks seal without typing it."))
    with _translated_failures():
        certificate_der = keys.to_der(certificate)
    key = _new_key(session, agency, user, KeyKind.PKCS11, certificate_der, image_png, actor, now)
    key.pkcs11_json = json.dumps({k: config[k] for k in ("module_path", "token_label", "key_label", "cert_label")})
    if user is None:
        key.sealed_password = vault.seal(secret, pin.encode("utf-8"))
    session.flush()
    return key


def _new_key(
    session: Session,
    agency: Agency,
    user: User | None,
    kind: KeyKind,
    certificate: bytes,
    image_png: bytes | None,
    actor: str,
    now: datetime,
) -> SigningKey:
    with _translated_failures():
        facts = keys.certificate_facts(certificate)
    owner = SigningKey.user_id == user.id if user is not None else SigningKey.user_id.is_(None)
    session.execute(update(SigningKey).where(SigningKey.agency_id == agency.id, owner).values(is_active=False))
    key = SigningKey(
        agency_id=agency.id,
        user_id=user.id if user is not None else None,
        kind=kind.value,
        certificate=certificate,
        subject_name=facts.subject_name[:200],
        serial=facts.serial[:80],
        fingerprint=facts.fingerprint,
        not_before=facts.not_before,
        not_after=facts.not_after,
        image_png=image_png,
        is_active=True,
        created_at=now,
        created_by=actor,
    )
    session.add(key)
    return key


def active_key(session: Session, agency_id: int, user_id: int | None) -> SigningKey:
    owner = SigningKey.user_id == user_id if user_id is not None else SigningKey.user_id.is_(None)
    key = session.scalar(
        select(SigningKey).where(SigningKey.agency_id == agency_id, owner, SigningKey.is_active.is_(True))
    )
    if key is None:
        if user_id is None:
            raise NotFound(N_("The agency has no signing key; ask the administrator to import its certificate."))
        raise NotFound(N_("You have no signing key; ask the administrator to import your certificate."))
    return key


def keys_of_agency(session: Session, agency_id: int) -> list[SigningKey]:
    query = select(SigningKey).where(SigningKey.agency_id == agency_id).order_by(SigningKey.created_at.desc())
    return list(session.scalars(query))


@contextmanager
def _signer(key: SigningKey, secret_or_pin: str, secret: str) -> Iterator[Any]:
    with _translated_failures():
        if key.kind == KeyKind.PKCS11:
            config = keys.Pkcs11Config(**json.loads(key.pkcs11_json), pin=secret_or_pin)
            with keys.pkcs11_signer(config) as signer:
                yield signer
            return
        assert key.sealed_pkcs12 is not None
        yield keys.load_pkcs12(vault.unseal(secret, key.sealed_pkcs12), secret_or_pin)


def _agency_password(key: SigningKey, secret: str) -> str:
    return vault.unseal(secret, key.sealed_password).decode("utf-8") if key.sealed_password else ""


# --- signing ------------------------------------------------------------------------------------------


def sign_personal(session: Session, user: User, document: bytes, password: str, *, secret: str, now: datetime) -> bytes:
    """The signer's visible signature: image, name, position and time in Vietnam time (OUT-6, DOC-6)."""
    key = active_key(session, user.agency_id, user.id)
    with _signer(key, password, secret) as signer, _translated_failures():
        prepared = pdf.prepare_draft(document)
        return pdf.sign_personal(
            prepared,
            signer,
            full_name=user.full_name,
            position=user.position,
            agency_name=user.agency.name,
            signed_at=now,
            image_png=key.image_png,
        )


def date_line(place: str, day: date) -> str:
    """'Kon Tum, ngày 05 tháng 01 năm 2026': a leading 0 for days below 10 and for months 1 and 2 (NĐ30)."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}"


def check_sealer(user: User) -> None:
    """Only a clerk applies the agency's seal (OUT-8): asked before the upload is read."""
    if not user.has_role(Role.CLERK):
        raise PermissionDenied(N_("Only a clerk applies the agency's seal."))


def seal_document(session: Session, clerk: User, document: bytes, *, number: str, secret: str, now: datetime) -> bytes:
    """Write the number and date into the signed document and add the agency's seal signature (OUT-8)."""
    if not clerk.has_role(Role.CLERK):
        raise PermissionDenied(N_("Only a clerk applies the agency's seal."))
    return seal_as_agency(
        session, clerk.agency, document, number=number, issued_on=clock.local(now).date(), secret=secret, now=now
    )


def seal_as_agency(
    session: Session, agency: Agency, document: bytes, *, number: str, issued_on: date, secret: str, now: datetime
) -> bytes:
    """The sealing itself, for the clerk's service above and for operators' tools."""
    key = active_key(session, agency.id, None)
    line = date_line(agency.place_name or agency.name, issued_on)
    with _signer(key, _agency_password(key, secret), secret) as signer, _translated_failures():
        return pdf.seal_agency(document, signer, number=number, date_line=line, seal_png=key.image_png, signed_at=now)


def seal_appendix(session: Session, clerk: User, document: bytes, *, number: str, secret: str, now: datetime) -> bytes:
    """Sign an appendix in its own file with the agency's key: number and ISO time at the top right (OUT-9)."""
    if not clerk.has_role(Role.CLERK):
        raise PermissionDenied(N_("Only a clerk applies the agency's seal."))
    return seal_appendix_as_agency(session, clerk.agency, document, number=number, secret=secret, now=now)


def seal_appendix_as_agency(
    session: Session, agency: Agency, document: bytes, *, number: str, secret: str, now: datetime
) -> bytes:
    key = active_key(session, agency.id, None)
    with _signer(key, _agency_password(key, secret), secret) as signer, _translated_failures():
        return pdf.seal_appendix(document, signer, number=number, signed_at=now)


def digitise(session: Session, clerk: User, files: list[tuple[str, bytes]], *, secret: str, now: datetime) -> bytes:
    """A paper document scanned into one PDF and signed with the agency's certificate (IN-4, DOC-7)."""
    if not clerk.has_role(Role.CLERK):
        raise PermissionDenied(N_("Only a clerk digitises documents with the agency's signature."))
    key = active_key(session, clerk.agency_id, None)
    with _translated_failures():
        scanned = pdf.digitise(files)
    with _signer(key, _agency_password(key, secret), secret) as signer, _translated_failures():
        return pdf.seal_copy(scanned, signer, agency_name=clerk.agency.name, signed_at=now)


# --- signing on the signer's own token ---------------------------------------------------------------


def prepare_external(
    session: Session, user: User, document: bytes, certificate_der: bytes, chain_der: list[bytes], *, now: datetime
) -> tuple[ExternalSigning, bytes]:
    """Prepare the signer's visible signature; the hash returned is signed on the signer's own token."""
    key = session.scalar(select(SigningKey).where(SigningKey.user_id == user.id, SigningKey.is_active.is_(True)))
    with _translated_failures():
        if key is not None and keys.certificate_facts(certificate_der).fingerprint != key.fingerprint:
            raise keys.SigningFailure(N_("This certificate is not the one registered for you."))
        prepared = pdf.prepare_external(
            pdf.prepare_draft(document),
            cert_der=certificate_der,
            chain_der=chain_der,
            full_name=user.full_name,
            position=user.position,
            agency_name=user.agency.name,
            signed_at=now,
            image_png=key.image_png if key is not None else None,
        )
    stored = {
        name: base64.b64encode(value).decode() if isinstance(value, bytes) else value
        for name, value in asdict(prepared).items()
    }
    pending = ExternalSigning(user_id=user.id, preparation_json=json.dumps(stored), created_at=now)
    session.add(pending)
    session.flush()
    return pending, prepared.hash_to_sign


def finish_external(session: Session, user: User, pending_id: int, signature: bytes, *, now: datetime) -> bytes:
    """Embed the signature made on the token; a preparation is finished once, by the person who began it."""
    pending = session.get(ExternalSigning, pending_id)
    if pending is None or pending.user_id != user.id:
        raise NotFound(N_("No such signing in progress."))
    if pending.finished_at is not None:
        raise InvalidInput(N_("This signing was already finished."))
    stored: dict[str, Any] = json.loads(pending.preparation_json)
    values: dict[str, Any] = {
        name: base64.b64decode(value) if isinstance(value, str) else value for name, value in stored.items()
    }
    with _translated_failures():
        signed = pdf.finish_external(pdf.ExternalPreparation(**values), signature)
    pending.finished_at = now
    session.flush()
    return signed


# --- verification -----------------------------------------------------------------------------------------


def add_trust_anchor(session: Session, admin: User, kind: AnchorKind, name: str, data: bytes, *, now: datetime) -> None:
    """Trust a root, keep an intermediate for path building, or load a CRL (installation-wide)."""
    if not admin.has_role(Role.ADMIN) or admin.agency.parent_id is not None:
        raise PermissionDenied(N_("Only the administrator of the provincial office manages trusted roots."))
    store_trust_anchor(session, kind, name, data, now=now)


def store_trust_anchor(session: Session, kind: AnchorKind, name: str, data: bytes, *, now: datetime) -> TrustAnchor:
    with _translated_failures():
        der = keys.to_der(data, crl=kind == AnchorKind.CRL)
    anchor = TrustAnchor(kind=kind.value, name=name[:200], data=der, created_at=now)
    session.add(anchor)
    session.flush()
    return anchor


def trust_material(session: Session) -> tuple[list[bytes], list[bytes], list[bytes]]:
    roots: list[bytes] = []
    intermediates: list[bytes] = []
    crls: list[bytes] = []
    for anchor in session.scalars(select(TrustAnchor)):
        {AnchorKind.ROOT: roots, AnchorKind.INTERMEDIATE: intermediates, AnchorKind.CRL: crls}[
            AnchorKind(anchor.kind)
        ].append(anchor.data)
    return roots, intermediates, crls


def verify_document(session: Session, document: bytes, *, now: datetime) -> verify.PdfVerification:
    """Each signature's signer, time, integrity, trust and revocation, checked against the trust anchors."""
    roots, intermediates, crls = trust_material(session)
    with _translated_failures():
        return verify.verify_pdf(document, trust_roots=roots, other_certs=intermediates, crls=crls, at=now)


def seal_unsigned(
    session: Session, agency: Agency, document: bytes, *, number: str, issued_on: date, secret: str, now: datetime
) -> bytes:
    """Number, date and the agency's seal on a PDF nobody signed yet (documents injected by the test command)."""
    with _translated_failures():
        prepared = pdf.prepare_draft(document)
    return seal_as_agency(session, agency, prepared, number=number, issued_on=issued_on, secret=secret, now=now)
