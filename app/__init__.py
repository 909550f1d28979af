"""Application factory: every part is listed here; nothing is discovered and nothing happens at import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from config import Config, derived


def create_app(config: type[Config] = Config, **overrides: Any) -> Flask:
    from app import instance_secrets

    settings = {**config.from_env(), **overrides}
    instance_secrets.fill_from_file(settings)
    if not settings["TESTING"]:
        instance_secrets.require_strong(settings)  # before anything is configured: a refused app leaves no trace
    app = Flask(__name__, instance_path=settings["INSTANCE_DIR"])
    app.config.from_mapping(settings)
    app.config.from_mapping(derived(settings))
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(Path(__file__).parent / "translations")
    Path(app.config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)

    from app import clock, db, i18n, input_guard, jobs, models, ratelimits, web  # noqa: F401 - models: complete metadata
    from app.engine import history, runtime
    from app.extensions import babel, csrf, login_manager, migrate
    from app.extensions import db as database

    if app.config["FROZEN_CLOCK"]:
        clock.freeze(app.config["FROZEN_CLOCK"])
    runtime.install()
    history.configure(app.config["AUDIT_SECRET"])
    input_guard.install(app)  # before CSRF and before any route: NUL refused first, <int:…> ids bounded
    database.init_app(app)
    migrate.init_app(app, database, directory=str(Path(__file__).parent.parent / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    db.install_session_hooks(database.session)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            db.install_sqlite_hooks(database.engine)
    elif app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        with app.app_context():
            db.install_postgresql_hooks(database.engine)
    jobs.configure(app.config["REDIS_URL"], app.config["INSTANCE_DIR"], app.config["RQ_QUEUE"])
    ratelimits.init_app(app)

    from app.audit.cli import cli as audit_cli
    from app.audit.views import bp as audit
    from app.demo.cli import cli as demo_cli
    from app.designer.cli import cli as processes_cli
    from app.designer.views import bp as designer
    from app.documents.cli import cli as exchange_cli
    from app.documents.exchange_views import bp as exchange
    from app.documents.outgoing_views import bp as outgoing
    from app.documents.views import bp as documents
    from app.inbox.views import bp as inbox
    from app.org.cli import cli as accounts_cli
    from app.org.views import bp as org
    from app.reports.cli import cli as reports_cli
    from app.reports.views import bp as reports
    from app.signing.cli import cli as signing_cli
    from app.signing.views import bp as signing
    from app.worktime.cli import cli as worktime_cli
    from app.worktime.views import bp as worktime

    for blueprint in (org, inbox, documents, exchange, outgoing, audit, designer, signing, worktime, reports):
        app.register_blueprint(blueprint)
    for group in (
        demo_cli,
        exchange_cli,
        processes_cli,
        audit_cli,
        signing_cli,
        worktime_cli,
        reports_cli,
        accounts_cli,
    ):
        app.cli.add_command(group)
    from functools import partial

    from app.documents import exchange as documents_exchange
    from app.documents import outgoing as documents_outgoing
    from app.engine import scripting
    from app.engine.services import register_notice_handler, register_outbox_handler
    from app.inbox import services as inbox_services

    mail = bool(app.config["SMTP_HOST"])
    register_notice_handler(partial(inbox_services.deliver_notice, mail=mail))
    scripting.register("report_status", documents_exchange.report_status_helper)
    for kind in ("status", "completed"):
        register_outbox_handler(kind, "exchange", documents_exchange.on_process_status)
    documents_exchange.on_arrival("inbox", partial(inbox_services.tell_clerks_of_arrival, mail=mail))
    documents_exchange.on_status("inbox", partial(inbox_services.tell_sender_of_status, mail=mail))
    documents_exchange.on_recall("inbox", partial(inbox_services.tell_clerks_of_recall, mail=mail))
    documents_outgoing.on_publication("inbox", partial(inbox_services.tell_units_of_publication, mail=mail))
    from app import interop

    interop.init_app(app)
    web.init_app(app)
    return app
