"""Rate limits per client address (Flask-Limiter), kept in the Redis that RQ uses, and the client address itself."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, flash, render_template, request
from flask_babel import gettext
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits.storage import RedisStorage
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from app import jobs

log = logging.getLogger(__name__)


class SharedRedisStorage(RedisStorage):
    """limits' Redis storage on `jobs.connection()`: the same server (embedded or REDIS_URL), reached only when a
    limit is checked, and reconnected with it. Its scheme `qlvb+redis://` is registered by defining the class."""

    STORAGE_SCHEME = ["qlvb+redis"]

    def __init__(self, uri: str, key_prefix: str = RedisStorage.PREFIX, **options: Any) -> None:
        super(RedisStorage, self).__init__(uri, wrap_exceptions=False)
        self.key_prefix = key_prefix
        self.target_server = "redis"
        self.dependency = self.dependencies["redis"].module

    def get_connection(self, readonly: bool = False) -> Any:
        return jobs.connection()

    def _script(self, source: str) -> Any:
        return self.get_connection().register_script(source)

    # The Lua scripts are bound to the connection of the moment, not to one made at start-up.
    lua_moving_window = property(lambda self: self._script(self.SCRIPT_MOVING_WINDOW))
    lua_acquire_moving_window = property(lambda self: self._script(self.SCRIPT_ACQUIRE_MOVING_WINDOW))
    lua_clear_keys = property(lambda self: self._script(self.SCRIPT_CLEAR_KEYS))
    lua_incr_expire = property(lambda self: self._script(self.SCRIPT_INCR_EXPIRE))
    lua_sliding_window = property(lambda self: self._script(self.SCRIPT_SLIDING_WINDOW))
    lua_acquire_sliding_window = property(lambda self: self._script(self.SCRIPT_ACQUIRE_SLIDING_WINDOW))


def _address_and_username() -> str:
    return f"{get_remote_address()}|{request.form.get('username', '').strip().lower()[:80]}"


# Failures only are counted (401), and a moving window: no burst at the edge of two fixed windows. When Redis is
# unreachable the limits are not applied (swallow_errors, logged by Flask-Limiter): logging in still works.
limiter = Limiter(
    key_func=get_remote_address, storage_uri="qlvb+redis://", strategy="moving-window", swallow_errors=True
)


def _is_failed_login(response: Response) -> bool:
    return response.status_code == 401


# Per address and name: below LOGIN_MAX_FAILURES, so one address never locks an account (README, "Login").
login_failures_per_account = limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT_PER_ACCOUNT"],
    key_func=_address_and_username,
    methods=["POST"],
    deduct_when=_is_failed_login,
    scope="login-account",
)
# Per address over every name: one address trying many accounts.
login_failures_per_address = limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"],
    methods=["POST"],
    deduct_when=_is_failed_login,
    scope="login-address",
)


def reset(app: Flask) -> None:
    """Forget every counted failure (tests)."""
    with app.app_context():
        limiter.reset()


def init_app(app: Flask) -> None:
    """Trust PROXY_FIX_X_FOR proxies for the client address, bind the limiter, answer 429 in the user's language."""
    if app.config["PROXY_FIX_X_FOR"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"])  # type: ignore[method-assign]
    app.config.setdefault("RATELIMIT_KEY_PREFIX", app.config["RQ_QUEUE"])
    limiter.init_app(app)

    @app.errorhandler(RateLimitExceeded)
    def _too_many(error: RateLimitExceeded) -> Any:
        message = gettext("Too many failed logins from your address. Wait a few minutes, then try again.")
        if request.endpoint == "org.login":
            flash(message, "error")
            return render_template("org/login.html"), 429
        return render_template("error.html", message=message, status=429), 429
