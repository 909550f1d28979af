"""RQ entry points of the exchange: ids in, one service call, idempotent."""

from __future__ import annotations

from app import clock


def push_package(package_id: int) -> str:
    """Hand a waiting package to its transport; a sent or given-up package is left alone."""
    from app.extensions import db
    from app.interop import services

    session = db.session()
    return services.push(session, package_id, now=clock.now(), commit=session.commit)


def sweep_due_packages() -> int:
    """Queue every package whose attempt is due (Redis may have lost the job), and take in the inbox folder."""
    from app.extensions import db
    from app.interop import services
    from app.jobs import queue

    ids = services.due_packages(db.session(), clock.now())
    for package_id in ids:
        queue().enqueue(push_package, package_id)
    return len(ids)


def poll_inbox() -> dict[str, int]:
    """Take in the packages waiting in the inbox folder, each in its own transaction."""
    from app.extensions import db
    from app.interop import services

    session = db.session()
    return services.poll_inbox(session, now=clock.now(), commit=session.commit)
