"""Signing with a key on a PKCS#11 token: SoftHSM2 stands in for the agency's HSM or a token on the server."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.signing import keys, pdf
from tests.signing.conftest import Trust


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
