"""RQ entry point of the audit: the daily signed checkpoint."""

from __future__ import annotations

from datetime import timedelta

from app import clock

CHECKPOINT_INTERVAL = timedelta(days=1)


def write_daily_checkpoint() -> int | None:
    """Verify and sign a checkpoint when the newest is a day old (or none exists); the id written, else None.
    Run by the worker's sweep and enqueueable; a second run the same day does nothing."""
    from app.audit import services
    from app.extensions import db

    session = db.session()
    if not services.is_checkpoint_due(session, now=clock.now(), interval=CHECKPOINT_INTERVAL):
        return None
    return services.write_checkpoint(session, now=clock.now()).id
