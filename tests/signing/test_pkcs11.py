"""Signing with a key on a PKCS#11 token: SoftHSM2 stands in for the agency's HSM or a token on the server."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from app.signing import keys, pdf
from app.signing.pki import TestPki
from tests.signing.conftest import PASSWORD, Trust

MODULE_CANDIDATES = [
    os.environ.get("PKCS11_MODULE", ""),
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
]
TOKEN, PIN = "TEST-TOKEN", "1234"


@pytest.fixture(scope="session")
def softhsm_token(tmp_path_factory: pytest.TempPathFactory, test_pki: TestPki) -> Iterator[keys.Pkcs11Config]:
    """A fresh SoftHSM2 token holding the leader's key and certificate under the label "leader"."""
    module = next((path for path in MODULE_CANDIDATES if path and Path(path).exists()), None)
    if module is None or shutil.which("softhsm2-util") is None:
        pytest.skip("softhsm2 is not installed")
    import pkcs11
    from pkcs11 import Attribute, CertificateType, ObjectClass

    directory = tmp_path_factory.mktemp("softhsm")
    (directory / "tokens").mkdir()
    config = directory / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {directory / 'tokens'}\nobjectstore.backend = file\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOFTHSM2_CONF", str(config))  # read when the module initialises
        run = ["softhsm2-util", "--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", "5678"]
        subprocess.run(run, check=True, capture_output=True)
        key, cert, chain = pkcs12.load_key_and_certificates(test_pki.person_p12["hung"].read_bytes(), PASSWORD.encode())
        assert key is not None and cert is not None
        key_file = directory / "leader.pem"
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        run = ["softhsm2-util", "--import", str(key_file), "--token", TOKEN, "--label", "leader", "--id", "01"]
        subprocess.run([*run, "--pin", PIN], check=True, capture_output=True)
        key_file.unlink()
        token = pkcs11.lib(module).get_token(token_label=TOKEN)
        with token.open(rw=True, user_pin=PIN) as session:
            session.create_object(
                {
                    Attribute.CLASS: ObjectClass.CERTIFICATE,
                    Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                    Attribute.TOKEN: True,
                    Attribute.LABEL: "leader",
                    Attribute.ID: b"\x01",
                    Attribute.SUBJECT: cert.subject.public_bytes(),
                    Attribute.VALUE: cert.public_bytes(serialization.Encoding.DER),
                }
            )
        chain_pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain)
        yield keys.Pkcs11Config(module, TOKEN, key_label="leader", cert_label="leader", pin=PIN, chain_pem=chain_pem)


def test_signature_made_on_the_token_validates(
    softhsm_token: keys.Pkcs11Config, draft: bytes, trust: Trust, sign_as_leader: Callable[..., bytes]
) -> None:
    with keys.pkcs11_signer(softhsm_token) as signer:
        signed = sign_as_leader(pdf.prepare_draft(draft), signer)

    (report,) = trust.verify(signed).signatures
    assert report.bottom_line and report.signer_name == "Nguyễn Văn Hùng"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pin": "9999"}, keys.WRONG_SECRET),
        ({"token_label": "NO-SUCH-TOKEN"}, keys.TOKEN_NOT_FOUND),
        ({"key_label": "nobody", "cert_label": "nobody"}, keys.TOKEN_OBJECT_NOT_FOUND),
    ],
    ids=["wrong-pin", "unknown-token", "unknown-label"],
)
def test_token_problems_are_signing_failures(
    softhsm_token: keys.Pkcs11Config, change: dict[str, str], message: str
) -> None:
    from dataclasses import replace

    with pytest.raises(keys.SigningFailure) as raised, keys.pkcs11_signer(replace(softhsm_token, **change)):
        pass

    assert raised.value.message == message
