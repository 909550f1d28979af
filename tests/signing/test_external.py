"""Interrupted signing: the server prepares, the leader's own token signs a hash, the server finishes."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, replace
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12

from app.signing import keys, pdf, verify
from app.signing.pki import TestPki
from tests.signing.conftest import AGENCY_NAME, NOW, PASSWORD, Trust, appearance_text


@pytest.fixture(scope="module")
def token_key(test_pki: TestPki) -> tuple[RSAPrivateKey, bytes, list[bytes]]:
    """The leader's key as the USB token holds it, outside the server's reach: key, certificate, chain."""
    key, cert, chain = pkcs12.load_key_and_certificates(test_pki.person_p12["hung"].read_bytes(), PASSWORD.encode())
    assert isinstance(key, RSAPrivateKey) and cert is not None
    return key, cert.public_bytes(Encoding.DER), [c.public_bytes(Encoding.DER) for c in chain]


@pytest.fixture(scope="module")
def preparation(
    draft: bytes, blue_png: bytes, token_key: tuple[RSAPrivateKey, bytes, list[bytes]]
) -> pdf.ExternalPreparation:
    _key, cert_der, chain_der = token_key
    return pdf.prepare_external(
        pdf.prepare_draft(draft),
        cert_der=cert_der,
        chain_der=chain_der,
        full_name="Nguyễn Văn Hùng",
        position="CHỦ TỊCH",
        agency_name=AGENCY_NAME,
        signed_at=NOW,
        image_png=blue_png,
    )


def _token_sign(key: RSAPrivateKey, digest: bytes) -> bytes:
    return key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))


def test_signature_made_outside_the_server_validates(
    preparation: pdf.ExternalPreparation, token_key: tuple[RSAPrivateKey, bytes, list[bytes]], trust: Trust
) -> None:
    # Between the two requests the preparation lives as JSON: bytes as base64, ints as they are.
    stored = json.dumps(
        {k: base64.b64encode(v).decode() if isinstance(v, bytes) else v for k, v in asdict(preparation).items()}
    )
    restored = pdf.ExternalPreparation(
        **{k: base64.b64decode(v) if isinstance(v, str) else v for k, v in json.loads(stored).items()}
    )

    signed = pdf.finish_external(restored, _token_sign(token_key[0], restored.hash_to_sign))

    (report,) = trust.verify(signed, at=NOW + timedelta(minutes=5)).signatures
    assert report.bottom_line and report.signer_name == "Nguyễn Văn Hùng" and report.signing_time == NOW
    assert appearance_text(signed, "ChuKyLanhDao").startswith("Ký bởi: Nguyễn Văn Hùng\n")
    assert len(preparation.hash_to_sign) == 32


def test_an_all_zero_signature_is_refused_and_would_not_validate(
    preparation: pdf.ExternalPreparation, test_pki: TestPki, trust: Trust
) -> None:
    with pytest.raises(keys.SigningFailure) as raised:
        pdf.finish_external(preparation, bytes(256))
    assert raised.value.message == pdf.TOKEN_SIGNATURE_MISMATCH

    # Embedded anyway, past finish_external's check, pyHanko judges it invalid.
    signed = _embed_unchecked(preparation, bytes(256))
    (report,) = trust.verify(signed).signatures
    assert report.is_intact and not report.is_valid and not report.bottom_line
    assert report.problem == verify.CRYPTO_INVALID


def _embed_unchecked(preparation: pdf.ExternalPreparation, signature: bytes) -> bytes:
    import asyncio
    from io import BytesIO

    from asn1crypto import cms, x509
    from pyhanko.sign.signers import ExternalSigner
    from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    cert = x509.Certificate.load(preparation.cert_der)
    signer = ExternalSigner(cert, SimpleCertificateStore.from_certs([cert]), signature_value=signature)
    attrs = cms.CMSAttributes.load(preparation.signed_attrs)
    signed_data = asyncio.run(signer.async_sign_prescribed_attributes("sha256", signed_attrs=attrs))
    output = BytesIO(preparation.pdf)
    PreparedByteRangeDigest(
        preparation.document_digest, preparation.reserved_region_start, preparation.reserved_region_end
    ).fill_with_cms(output, signed_data)
    return output.getvalue()


def test_a_signature_of_other_data_is_refused(
    preparation: pdf.ExternalPreparation, token_key: tuple[RSAPrivateKey, bytes, list[bytes]]
) -> None:
    tampered = replace(preparation, hash_to_sign=bytes(32))

    with pytest.raises(keys.SigningFailure):
        pdf.finish_external(tampered, _token_sign(token_key[0], tampered.hash_to_sign))


def test_a_certificate_that_does_not_parse_is_refused(draft: bytes) -> None:
    with pytest.raises(keys.SigningFailure):
        pdf.prepare_external(
            draft,
            cert_der=b"junk",
            chain_der=[],
            full_name="A",
            position="B",
            agency_name="C",
            signed_at=NOW,
            image_png=None,
        )
