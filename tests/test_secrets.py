"""Hole 1 of issue 12: outside tests the app starts only with strong secrets of its own, kept in the environment
or in instance/secrets.json (mode 600), written once and never regenerated."""

from __future__ import annotations

import json
import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

from app import create_app
from app.instance_secrets import SECRET_NAMES, SecretError, init, read_file
from config import ROOT, Config

OLD_PUBLIC_KEY = "dev-only-change-me"


def strong() -> dict[str, str]:
    return {name: secrets.token_urlsafe(48) for name in SECRET_NAMES}


def clean_environment(instance: Path, **extra: str) -> dict[str, str]:
    """This process's environment without any secret or test switch, as on a fresh server."""
    environment = {k: v for k, v in os.environ.items() if k not in (*SECRET_NAMES, "TESTING", "SESSION_COOKIE_SECURE")}
    return {**environment, "INSTANCE_DIR": str(instance), "DATABASE_URL": "", **extra}


def run_python(code: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def bare_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*SECRET_NAMES, "TESTING"):
        monkeypatch.delenv(name, raising=False)


def test_the_shipped_defaults_hold_no_secret() -> None:
    assert all(getattr(Config, name) == "" for name in SECRET_NAMES)


def test_the_shipped_defaults_refuse_to_start(tmp_path, bare_environment) -> None:
    """The attack of the review: a cookie signed with the old public key. No app starts that would accept it."""
    with pytest.raises(SecretError, match="SECRET_KEY is missing") as refused:
        create_app(INSTANCE_DIR=str(tmp_path))
    message = str(refused.value)
    assert "SIGNING_SECRET is missing" in message and "AUDIT_SECRET is missing" in message
    assert "make secrets" in message and str(tmp_path / "secrets.json") in message


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("SECRET_KEY", OLD_PUBLIC_KEY, "publicly known"),
        ("SIGNING_SECRET", "dev-only-signing-secret", "publicly known"),
        ("AUDIT_SECRET", "test-audit-secret", "publicly known"),
        ("SECRET_KEY", "changeme", "publicly known"),
        ("SECRET_KEY", "Secret", "publicly known"),
        ("SIGNING_SECRET", "x7Kp2Qm9", "too short (8 characters, at least 32)"),
        ("AUDIT_SECRET", "ab" * 20, "too simple"),
        ("AUDIT_SECRET", "", "missing"),
    ],
)
def test_a_missing_short_or_known_secret_is_refused_naming_the_setting(
    tmp_path, bare_environment, name, value, reason
) -> None:
    settings = {**strong(), name: value}
    with pytest.raises(SecretError) as refused:
        create_app(INSTANCE_DIR=str(tmp_path), **settings)
    message = str(refused.value)
    assert message.startswith(f"Refusing to start: {name} ") and reason in message
    assert [other for other in SECRET_NAMES if other != name and f"{other} is" in message] == []


def test_a_secret_from_the_environment_is_checked_too(tmp_path, monkeypatch) -> None:
    for name, value in strong().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SECRET_KEY", OLD_PUBLIC_KEY)
    monkeypatch.delenv("TESTING", raising=False)
    with pytest.raises(SecretError, match="SECRET_KEY is a publicly known value"):
        create_app(INSTANCE_DIR=str(tmp_path))


def test_the_generator_writes_the_file_at_0600_once_and_keeps_it(tmp_path) -> None:
    settings = {"INSTANCE_DIR": str(tmp_path / "instance"), **dict.fromkeys(SECRET_NAMES, "")}
    path, written = init(settings)
    assert written == list(SECRET_NAMES)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = json.loads(path.read_text())
    assert set(first) == set(SECRET_NAMES) and all(len(value) >= 64 for value in first.values())
    assert len(set(first.values())) == 3

    again, written = init(settings)
    assert again == path and written == []
    assert json.loads(path.read_text()) == first


def test_the_generator_adds_a_missing_secret_without_touching_the_others(tmp_path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"SECRET_KEY": "k" * 10 + secrets.token_urlsafe(40), "SIGNING_SECRET": "s" * 64}))
    path.chmod(0o600)
    before = json.loads(path.read_text())
    _, written = init({"INSTANCE_DIR": str(tmp_path), **dict.fromkeys(SECRET_NAMES, "")})
    assert written == ["AUDIT_SECRET"]
    after = json.loads(path.read_text())
    assert {k: after[k] for k in before} == before and after["AUDIT_SECRET"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_secret_set_in_the_environment_is_not_written_to_the_file(tmp_path) -> None:
    _, written = init({"INSTANCE_DIR": str(tmp_path), **dict.fromkeys(SECRET_NAMES, ""), "SIGNING_SECRET": "x" * 40})
    assert written == ["SECRET_KEY", "AUDIT_SECRET"]
    assert "SIGNING_SECRET" not in json.loads((tmp_path / "secrets.json").read_text())


def test_a_secrets_file_readable_by_others_is_refused(tmp_path, bare_environment) -> None:
    path, _ = init({"INSTANCE_DIR": str(tmp_path), **dict.fromkeys(SECRET_NAMES, "")})
    path.chmod(0o644)
    with pytest.raises(SecretError, match=r"readable by other users.*chmod 600"):
        read_file(path)
    with pytest.raises(SecretError, match="chmod 600"):
        create_app(INSTANCE_DIR=str(tmp_path))
    with pytest.raises(SecretError, match="chmod 600"):
        init({"INSTANCE_DIR": str(tmp_path), **dict.fromkeys(SECRET_NAMES, "")})


def test_make_secrets_then_the_app_the_worker_and_flask_find_the_same_secrets(tmp_path) -> None:
    """`make run` runs the generator as a command (no app), then web, worker and `flask` read the one file."""
    instance = tmp_path / "instance"
    environment = clean_environment(instance)
    first = subprocess.run(
        [sys.executable, "-m", "app.instance_secrets", "init"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert first.returncode == 0, first.stderr
    assert "SECRET_KEY, SIGNING_SECRET, AUDIT_SECRET" in first.stdout
    stored = json.loads((instance / "secrets.json").read_text())
    second = subprocess.run(
        [sys.executable, "-m", "app.instance_secrets", "init"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 0 and second.stdout == "" and second.stderr == ""
    assert json.loads((instance / "secrets.json").read_text()) == stored

    # wsgi.py (web and `flask --app wsgi`), and the worker's create_app(): the secrets of the file.
    shown = run_python(
        "import json, wsgi\n"
        "from app import create_app\n"
        "worker = create_app()\n"
        "print(json.dumps([{n: a.config[n] for n in ('SECRET_KEY', 'SIGNING_SECRET', 'AUDIT_SECRET')}"
        " for a in (wsgi.app, worker)]))",
        environment,
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    web_app, worker_app = json.loads(shown.stdout.strip().splitlines()[-1])
    assert web_app == stored == worker_app

    flask = subprocess.run(
        [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "processes", "--help"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert flask.returncode == 0, flask.stderr[-2000:]

    refused = run_python("import wsgi", clean_environment(tmp_path / "elsewhere"))
    assert refused.returncode != 0 and "Refusing to start: SECRET_KEY is missing" in refused.stderr


def test_an_app_with_strong_secrets_starts_and_refuses_a_cookie_signed_with_the_old_key(tmp_path) -> None:
    """Served as in production (no TESTING), a session cookie forged with the old public key is not a login."""
    environment = clean_environment(tmp_path / "instance", **strong())
    code = """
import json
from flask import Flask
from app import create_app
app = create_app()
forger = Flask("forger")
forger.secret_key = "dev-only-change-me"
with app.test_request_context(environ_base={"REMOTE_ADDR": "127.0.0.1"}):
    from flask_login.utils import _create_identifier
    identifier = _create_identifier()
forged = forger.session_interface.get_signing_serializer(forger).dumps(
    {"_user_id": "1", "_fresh": True, "_id": identifier}
)
client = app.test_client()
client.set_cookie("session", forged)
response = client.get("/inbox/")
print(json.dumps({"status": response.status_code, "location": response.headers.get("Location", "")}))
"""
    result = run_python(code, environment)
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["status"] == 302 and "/org/login" in answer["location"]


def test_session_cookie_secure_from_the_environment_marks_the_cookie_secure(tmp_path) -> None:
    code = """
from app import create_app
app = create_app()
response = app.test_client().get("/org/login")
print(response.headers.get("Set-Cookie", ""))
"""
    secure = run_python(code, clean_environment(tmp_path / "a", SESSION_COOKIE_SECURE="true", **strong()))
    assert secure.returncode == 0, secure.stderr[-3000:]
    cookie = secure.stdout.strip().splitlines()[-1]
    assert cookie.startswith("session=") and "; Secure" in cookie and "HttpOnly" in cookie

    plain = run_python(code, clean_environment(tmp_path / "b", **strong()))
    assert plain.returncode == 0, plain.stderr[-3000:]
    assert "; Secure" not in plain.stdout.strip().splitlines()[-1]


def test_the_test_app_runs_with_public_test_secrets_only_because_it_is_testing(app: Flask) -> None:
    assert app.config["TESTING"] is True
    settings = {name: app.config[name] for name in SECRET_NAMES}
    with pytest.raises(SecretError, match="publicly known"):
        from app.instance_secrets import require_strong

        require_strong({"INSTANCE_DIR": app.config["INSTANCE_DIR"], **settings})
