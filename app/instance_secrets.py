"""The installation's secrets: read from the environment or instance/secrets.json, refused when weak or public.

`python -m app.instance_secrets init` (run by `make run`) writes the file once with random values at mode 600;
it needs no app, since create_app refuses to start without the secrets it writes.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import sys
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

SECRET_NAMES = ("SECRET_KEY", "SIGNING_SECRET", "AUDIT_SECRET")
FILE_NAME = "secrets.json"
MIN_LENGTH = 32
# Values published in this repository's history, its tests and common examples: anyone may sign with them.
KNOWN_VALUES = frozenset(
    {
        "dev-only-change-me",
        "dev-only-signing-secret",
        "test",
        "test-signing-secret",
        "test-audit-secret",
        "changeme",
        "change-me",
        "change_me",
        "secret",
        "secret-key",
        "secret_key",
        "secretkey",
        "password",
        "dev",
        "development",
        "default",
        "insecure",
        "your-secret-key",
        "your-secret-key-here",
        "super-secret-key",
        "supersecretkey",
    }
)
FIX = (
    "Set {names} in the environment (for example {name}=$(python3 -c 'import secrets; "
    "print(secrets.token_urlsafe(48))')), or run `make secrets` (python -m app.instance_secrets init) once to write "
    "random values into {path}."
)


class SecretError(RuntimeError):
    """The installation cannot start safely with these secrets (an operator's error, in English for the log)."""


def secrets_path(instance_dir: str | os.PathLike[str]) -> Path:
    return Path(instance_dir) / FILE_NAME


def read_file(path: Path) -> dict[str, str]:
    """The secrets stored in `path` ({} when absent); refused when group or others may read it."""
    if not path.exists():
        return {}
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SecretError(
            f"{path} is readable by other users (mode {mode:03o}); anyone who reads it can log in as any user. "
            f"Run: chmod 600 {path}"
        )
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SecretError(f"{path} cannot be read as JSON ({error}); restore it from the backup.") from None
    if not isinstance(stored, dict):
        raise SecretError(f"{path} must hold a JSON object of secrets; restore it from the backup.")
    return {name: str(value) for name, value in stored.items() if name in SECRET_NAMES}


def fill_from_file(settings: MutableMapping[str, Any]) -> None:
    """Give each secret left empty by the class and the environment its value from the instance file."""
    if all(settings.get(name) for name in SECRET_NAMES):
        return
    stored = read_file(secrets_path(settings["INSTANCE_DIR"]))
    for name in SECRET_NAMES:
        if not settings.get(name) and stored.get(name):
            settings[name] = stored[name]


def problem(value: str) -> str | None:
    """Why `value` cannot protect an installation, or None."""
    if not value:
        return "is missing"
    if value.strip().lower() in KNOWN_VALUES:
        return "is a publicly known value"
    if len(value) < MIN_LENGTH:
        return f"is too short ({len(value)} characters, at least {MIN_LENGTH})"
    if len(set(value)) < 10:
        return "is too simple (fewer than 10 different characters)"
    return None


def require_strong(settings: Mapping[str, Any]) -> None:
    """Refuse to start outside tests with a missing, short or public secret (cookies, stored keys, audit chain)."""
    problems = {name: reason for name in SECRET_NAMES if (reason := problem(str(settings.get(name) or ""))) is not None}
    if problems:
        path = secrets_path(settings["INSTANCE_DIR"])
        names = ", ".join(problems)
        raise SecretError(
            "Refusing to start: "
            + "; ".join(f"{name} {reason}" for name, reason in problems.items())
            + ". "
            + FIX.format(names=names, name=next(iter(problems)), path=path)
        )


def init(settings: Mapping[str, Any]) -> tuple[Path, list[str]]:
    """Write the secrets file with random values for each secret neither stored nor set in `settings` (the
    environment); a stored value is never replaced (a new SIGNING_SECRET loses the stored keys, a new AUDIT_SECRET
    breaks the audit chain). Returns the file and the names written."""
    path = secrets_path(settings["INSTANCE_DIR"])
    stored = read_file(path)
    missing = [name for name in SECRET_NAMES if not stored.get(name) and not settings.get(name)]
    if not missing:
        return path, []
    stored.update({name: secrets.token_urlsafe(48) for name in missing})
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{FILE_NAME}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(stored, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)  # whatever the umask
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path, missing


def main(argv: list[str] | None = None) -> int:
    from config import Config

    args = sys.argv[1:] if argv is None else argv
    if args != ["init"]:
        print("usage: python -m app.instance_secrets init", file=sys.stderr)
        return 2
    try:
        path, written = init(Config.from_env())
    except SecretError as error:
        print(error, file=sys.stderr)
        return 1
    if written:
        print(f"wrote {', '.join(written)} to {path} (mode 600); back this file up, never regenerate it")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
