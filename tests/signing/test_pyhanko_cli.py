"""pyHanko's own command-line validator agrees that what we sign is valid and trusted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.signing.pki import TestPki
from tests.signing.conftest import LATER

PYHANKO = Path(sys.executable).parent / "pyhanko"


def _validate(document: Path, trust_root: Path, intermediate: Path, report: str) -> subprocess.CompletedProcess[str]:
    # The CLI takes no CRL files and would try to fetch http://crl.test.invalid/, so revocation is off here;
    # verify_pdf's tests cover revocation with the CRLs under hard-fail.
    command = [
        str(PYHANKO), "sign", "validate", report,
        "--trust", str(trust_root), "--trust-replace", "--other-certs", str(intermediate),
        "--no-revocation-check", "--validation-time", LATER.isoformat(), str(document),
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def sealed_file(tmp_path: Path, sealed: bytes) -> Path:
    if not PYHANKO.exists():
        pytest.skip("pyhanko-cli is not installed")
    path = tmp_path / "quyet-dinh.pdf"
    path.write_bytes(sealed)
    return path


def test_pyhanko_cli_reports_both_signatures_valid_and_trusted(sealed_file: Path, test_pki: TestPki) -> None:
    result = _validate(sealed_file, test_pki.root_pem, test_pki.intermediate_pem, "--pretty-print")

    assert result.returncode == 0, result.stderr
    assert "Field 1: ChuKyLanhDao" in result.stdout and "Field 2: ChuKyCoQuan" in result.stdout
    assert result.stdout.count("The signer's certificate is trusted.") == 2
    assert result.stdout.count("The signature is judged VALID.") == 2
    assert "compatible with the current document modification policy" in result.stdout  # the leader's, after filling


def test_pyhanko_cli_rejects_the_same_file_under_another_root(sealed_file: Path, test_pki: TestPki) -> None:
    result = _validate(sealed_file, test_pki.rogue_root_pem, test_pki.intermediate_pem, "--executive-summary")

    assert result.returncode != 0
    lines = result.stdout.split()
    assert len(lines) == 2 and all(line.endswith(":INVALID") for line in lines)
