"""RQ entry points of the inbox: mailing a notification."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from flask import current_app

from app import clock
from app.extensions import db
from app.inbox.models import Notification
from app.org.models import User


def mail_notification(notification_id: int) -> None:
    """Send one notification by e-mail; a second run finds it mailed and does nothing."""
    notice = db.session.get(Notification, notification_id)
    if notice is None or notice.mailed_at is not None:
        return
    user = db.session.get(User, notice.user_id)
    if user is None or not user.email:
        return
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = user.email
    message["Subject"] = ("[KHẨN] " if notice.is_urgent else "") + notice.message[:120]
    message.set_content(f"{notice.message}\n\n{notice.link}")
    with smtplib.SMTP(config["SMTP_HOST"], int(config["SMTP_PORT"]), timeout=30) as server:
        if config["SMTP_STARTTLS"]:
            server.starttls()
        if config["SMTP_USER"]:
            server.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
        server.send_message(message)
    notice.mailed_at = clock.now()
