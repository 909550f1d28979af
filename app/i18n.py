"""Vietnamese by default, English on request; times shown in Asia/Ho_Chi_Minh."""

from __future__ import annotations

from flask import current_app, request, session
from flask_login import current_user


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("locale")
    if chosen in languages:
        return str(chosen)
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return str(current_user.locale)
    if request and request.args.get("lang") in languages:
        return str(request.args["lang"])
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def select_timezone() -> str:
    return str(current_app.config["BABEL_DEFAULT_TIMEZONE"])
