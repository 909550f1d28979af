"""QCVN 102:2016 edXML exchange: packages, transports, the directory of agency codes, quarantine."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    from app.interop.directory_views import bp as directory

    app.register_blueprint(directory)
    from app.engine.forms import register_agency_choices
    from app.interop.directory import agency_choices

    register_agency_choices("directory", agency_choices)
    from app.documents import exchange
    from app.interop import services
    from app.interop.cli import cli
    from app.interop.endpoints import Policy, allowed_hosts
    from app.interop.views import bp as interop

    app.register_blueprint(interop)
    app.cli.add_command(cli)
    config = app.config
    services.settings = services.Settings(
        outbox_dir=config["INTEROP_OUTBOX_DIR"],
        inbox_dir=config["INTEROP_INBOX_DIR"],
        default_transport=config["INTEROP_TRANSPORT"],
        http_url=config["INTEROP_HTTP_URL"],
        http_token=config["INTEROP_HTTP_TOKEN"],
        max_attempts=config["INTEROP_MAX_ATTEMPTS"],
        endpoint_policy=Policy(
            allowed_hosts=allowed_hosts(config["INTEROP_ALLOWED_HOSTS"]),
            allow_private=bool(config["INTEROP_ALLOW_PRIVATE_ENDPOINTS"]),
        ),
    )
    # Within the installation a status is written to the sender's row directly (`exchange.report`).
    exchange.register_transport(exchange.WITHIN, services.send_within)
    for name in services.OUTSIDE:
        exchange.register_transport(name, services.send_outside, services.send_status, services.send_recall)
    exchange.register_router("directory", services.router)
