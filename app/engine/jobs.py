"""RQ entry points of the engine: ids in, one service call, idempotent."""

from __future__ import annotations

from app import clock


def wake_instance(instance_id: int) -> bool:
    """Fire the instance's due timers; a stale or repeated wake-up finds nothing due and does nothing."""
    from app.engine import services
    from app.extensions import db

    return services.fire_timers(db.session(), instance_id, now=clock.now())


def sweep_due_timers() -> int:
    """Queue a wake-up for every instance whose timer is due: repairs a schedule that Redis lost."""
    from app.engine import services
    from app.extensions import db
    from app.jobs import queue

    ids = services.due_instance_ids(db.session(), now=clock.now())
    for instance_id in ids:
        queue().enqueue(wake_instance, instance_id)
    return len(ids)
