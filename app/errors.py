"""Domain errors with translatable messages, and their mapping to HTTP pages and JSON."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def N_(message: str) -> str:
    """Mark a message for translation; it is translated where it is shown (views, CLI)."""
    return message


class DomainError(Exception):
    status = 400

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params

    def translated(self) -> str:
        from flask_babel import gettext

        return gettext(self.message, **self.params)


class PermissionDenied(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    """A stale or repeated submission, or a concurrent change that won."""

    status = 409


class InvalidInput(DomainError):
    status = 422

    def __init__(self, message: str, field_errors: Mapping[str, str | list[str]] | None = None, **params: Any) -> None:
        super().__init__(message, **params)
        self.field_errors = dict(field_errors or {})


def translated_field_errors(error: InvalidInput) -> dict[str, str]:
    """Field errors in the user's language, filled with the error's parameters; a list of rules becomes one line."""
    from flask_babel import gettext

    return {
        key: "; ".join(gettext(item, **error.params) for item in value)
        if isinstance(value, list)
        else gettext(value, **error.params)
        for key, value in error.field_errors.items()
    }


class InvalidDefinition(DomainError):
    """A BPMN file or form definition that cannot be deployed; `problems` name element and fault."""

    status = 422

    def __init__(self, message: str, problems: list[Any] | None = None, **params: Any) -> None:
        super().__init__(message, **params)
        self.problems = problems or []


def register_error_handlers(app: Flask) -> None:
    from flask import g, jsonify, render_template, request
    from flask_babel import gettext
    from markupsafe import escape
    from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError) -> Any:
        message = error.translated()
        if request.accept_mimetypes.best == "application/json":
            return jsonify(error=message), error.status
        return render_template("error.html", message=message, status=error.status), error.status

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(DisconnectionError)
    @app.errorhandler(PoolTimeout)
    def _database_unavailable(error: Exception) -> Any:
        """The database went away or is busy (restarted, failed over, connection cut, locked): the request's
        transaction was rolled back by its boundary, so the same click may be made again (a step that was
        committed after all then answers that it is done). Said in the user's language, with 503, no trace."""
        import logging

        from app.extensions import db

        logging.getLogger(__name__).warning(
            "database unavailable during %s %s: %s", request.method, request.path, error
        )
        db.session.remove()  # the broken connection goes back to the pool, which discards it
        g.database_unavailable = True  # the page's header asks the database nothing (web.py)
        message = gettext("The database did not answer. Please try again in a moment.")
        if request.accept_mimetypes.best == "application/json":
            return jsonify(error=message), 503, {"Retry-After": "5"}
        try:
            page = render_template("error.html", message=message, status=503)
        except SQLAlchemyError:  # still down while the page asked for the signed-in person: a bare page
            page = f"<!doctype html><meta charset=utf-8><title>503</title><p>{escape(message)}</p>"
        return page, 503, {"Retry-After": "5"}

    for status in (400, 403, 404, 405, 413):

        @app.errorhandler(status)
        def _http_error(error: Any, status: int = status) -> Any:
            return render_template("error.html", message=None, status=status), status
