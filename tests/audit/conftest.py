"""The signing fixtures (the session's test PKI, trust anchors, the signing secret) for the demo-like replay."""

from tests.signing.conftest import test_pki  # noqa: F401 - fixture
from tests.signing.test_web import signing_app, trusted  # noqa: F401 - fixtures
