"""The offline test PKI and reading keys from it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from app.signing import keys
from app.signing.pki import TestPki, load_pem_or_der_cert
from tests.signing.conftest import AGENCY_NAME, NOW, PASSWORD


def test_person_certificate_names_the_person_the_agency_and_the_username(test_pki: TestPki) -> None:
    facts = keys.certificate_facts(test_pki.person_p12["hung"].read_bytes(), PASSWORD)

    assert (facts.subject_name, facts.organization, facts.username) == ("Nguyễn Văn Hùng", AGENCY_NAME, "hung")
    assert facts.issuer == "Test Issuing CA"
    assert facts.is_valid_at(NOW)
    assert len(facts.fingerprint) == 64


def test_agency_certificate_is_named_after_the_agency(test_pki: TestPki) -> None:
    facts = keys.certificate_facts(test_pki.agency_p12["UBND"].read_bytes(), PASSWORD)

    assert (facts.subject_name, facts.organization) == (AGENCY_NAME, AGENCY_NAME)


def test_signer_certificates_allow_signing_and_non_repudiation_only(test_pki: TestPki) -> None:
    cert = load_pem_or_der_cert(keys.p12_certificate(test_pki.person_p12["lan"].read_bytes(), PASSWORD))
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value

    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert points[0].full_name[0].value.startswith("http://crl.test.invalid/")


def test_intermediate_crl_lists_the_revoked_certificate_only(test_pki: TestPki) -> None:
    revoked = load_pem_or_der_cert(keys.p12_certificate(test_pki.revoked_p12.read_bytes(), PASSWORD))
    crl = x509.load_der_x509_crl(test_pki.intermediate_crl.read_bytes())
    root_crl = x509.load_der_x509_crl(test_pki.root_crl.read_bytes())

    assert [entry.serial_number for entry in crl] == [revoked.serial_number]
    assert len(root_crl) == 0


def test_expired_certificate_ended_before_now(test_pki: TestPki) -> None:
    facts = keys.certificate_facts(test_pki.expired_p12.read_bytes(), PASSWORD)

    assert facts.not_after < NOW - timedelta(days=1)


def test_rogue_certificate_comes_from_the_rogue_root(test_pki: TestPki) -> None:
    rogue = load_pem_or_der_cert(keys.p12_certificate(test_pki.rogue_p12.read_bytes(), PASSWORD))
    rogue_root = load_pem_or_der_cert(test_pki.rogue_root_pem.read_bytes())

    assert rogue.issuer == rogue_root.subject
    assert rogue_root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Rogue Root CA"


def test_wrong_pkcs12_password_is_a_signing_failure(test_pki: TestPki) -> None:
    with pytest.raises(keys.SigningFailure) as raised:
        keys.load_pkcs12(test_pki.person_p12["hung"].read_bytes(), "wrong")

    assert raised.value.message == "The key password or PIN is wrong."


def test_a_file_that_is_not_pkcs12_is_reported_as_unreadable(test_pki: TestPki) -> None:
    with pytest.raises(keys.SigningFailure) as raised:
        keys.load_pkcs12(test_pki.root_pem.read_bytes(), PASSWORD)

    assert raised.value.message == keys.UNREADABLE_P12


def test_certificate_and_crl_are_normalised_to_der(test_pki: TestPki) -> None:
    der = keys.to_der(test_pki.root_pem.read_bytes())

    assert load_pem_or_der_cert(der).subject == load_pem_or_der_cert(test_pki.root_pem.read_bytes()).subject
    assert keys.to_der(test_pki.root_crl.read_bytes(), crl=True) == test_pki.root_crl.read_bytes()
    with pytest.raises(keys.SigningFailure):
        keys.to_der(b"not a certificate")
