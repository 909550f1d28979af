"""Signatures made elsewhere: what a signer's token needs, and its certificates as pyHanko reads them."""

from __future__ import annotations

from dataclasses import dataclass

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from app.signing.keys import UNREADABLE_CERT, SigningFailure
from app.signing.pki import load_pem_or_der_cert


@dataclass(frozen=True)
class ExternalPreparation:
    """A document waiting for a signature made elsewhere (a USB token at the signer's computer): bytes and ints."""

    pdf: bytes  # the document with the signature placeholder
    document_digest: bytes
    reserved_region_start: int
    reserved_region_end: int
    signed_attrs: bytes  # DER of the CMS signed attributes
    hash_to_sign: bytes  # sha256 of signed_attrs: what the token signs with RSA PKCS#1 v1.5
    cert_der: bytes
    chain_pem: bytes  # the CA certificates, a PEM bundle


def _external_signer(
    cert: asn1_x509.Certificate, chain: list[asn1_x509.Certificate], value: bytes
) -> signers.ExternalSigner:
    registry = SimpleCertificateStore.from_certs([cert, *chain])
    return signers.ExternalSigner(signing_cert=cert, cert_registry=registry, signature_value=value)


def _certificates(cert_der: bytes, chain_der: list[bytes]) -> tuple[asn1_x509.Certificate, list[asn1_x509.Certificate]]:
    try:
        certs = [
            asn1_x509.Certificate.load(load_pem_or_der_cert(data).public_bytes(serialization.Encoding.DER))
            for data in [cert_der, *chain_der]
        ]
    except ValueError as error:
        raise SigningFailure(UNREADABLE_CERT, detail=str(error)) from error
    return certs[0], certs[1:]


def _pem(cert: asn1_x509.Certificate) -> bytes:
    return load_pem_or_der_cert(cert.dump()).public_bytes(serialization.Encoding.PEM)


def _pem_blocks(bundle: bytes) -> list[bytes]:
    end = b"-----END CERTIFICATE-----"
    return [block + end for block in bundle.split(end) if block.strip()]
