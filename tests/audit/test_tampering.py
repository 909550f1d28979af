"""Tampering that a database writer can do, each caught by `flask audit verify`: the chain is keyed with
AUDIT_SECRET (not in the database) and anchored by signed, chained checkpoints of every head."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import delete, func, select, update

from app.audit import checkpoints
from app.audit.models import Checkpoint
from app.engine import history
from app.engine.history import HashScheme
from app.engine.models import HistoryEvent, OpenTask, ProcessInstance
from app.org.models import Agency, Role
from tests.audit.test_timeline_and_verify import run_to_direction
from tests.worker.test_timers import start_timer_instance


def verify(app, *args):
    return app.test_cli_runner().invoke(args=["audit", "verify", *args])


def checkpoint(app, db):
    result = app.test_cli_runner().invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    db.expire_all()
    return db.scalar(select(Checkpoint).order_by(Checkpoint.id.desc()).limit(1))


def directed_instance(db, make_agency, make_user, login_as) -> ProcessInstance:
    _agency, leader = run_to_direction(make_agency, make_user, login_as)
    instance_id = db.scalar(select(HistoryEvent.instance_id).where(HistoryEvent.actor == leader.username))
    db.expire_all()
    return db.get(ProcessInstance, instance_id)


def events_of(db, instance_id):
    db.expire_all()
    return list(
        db.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance_id).order_by(HistoryEvent.seq))
    )


def test_an_untampered_database_passes_with_its_checkpoint(app, db, clock, make_agency, make_user, login_as):
    instance = directed_instance(db, make_agency, make_user, login_as)
    assert {event.hash_scheme for event in events_of(db, instance.id)} == {HashScheme.HMAC1}
    written = checkpoint(app, db)
    assert written.instance_count == db.scalar(select(func.count()).select_from(ProcessInstance))
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert f"checkpoint #{written.id}" in result.output and "0 broken" in result.output
    assert "BROKEN" not in result.output and "UNKEYED" not in result.output and "WARNING" not in result.output


def test_the_last_event_deleted_with_the_head_set_back_is_caught(app, db, clock, make_agency, make_user, login_as):
    instance = directed_instance(db, make_agency, make_user, login_as)
    checkpoint(app, db)
    *kept, last = events_of(db, instance.id)
    db.execute(delete(HistoryEvent).where(HistoryEvent.id == last.id))
    db.execute(
        update(ProcessInstance)
        .where(ProcessInstance.id == instance.id)
        .values(event_count=len(kept), last_event_hash=kept[-1].hash)
    )
    db.commit()
    result = verify(app)
    assert result.exit_code == 1
    assert f"BROKEN instance {instance.id} at event {last.seq}: events signed by the last checkpoint were deleted" in (
        result.output
    )


def test_the_whole_history_deleted_with_the_head_blanked_is_caught(app, db, clock, make_agency, make_user, login_as):
    instance = directed_instance(db, make_agency, make_user, login_as)
    checkpoint(app, db)
    db.execute(delete(HistoryEvent).where(HistoryEvent.instance_id == instance.id))
    db.execute(
        update(ProcessInstance).where(ProcessInstance.id == instance.id).values(event_count=0, last_event_hash="")
    )
    db.commit()
    result = verify(app)
    assert result.exit_code == 1
    assert f"BROKEN instance {instance.id} at event 1: all its events were deleted" in result.output


def test_an_instance_row_deleted_with_its_history_is_caught(app, db, clock, make_agency):
    instance = start_timer_instance(db, clock, make_agency())
    written = checkpoint(app, db)
    db.execute(delete(HistoryEvent).where(HistoryEvent.instance_id == instance.id))
    db.execute(delete(OpenTask).where(OpenTask.instance_id == instance.id))
    db.execute(delete(ProcessInstance).where(ProcessInstance.id == instance.id))
    db.commit()
    result = verify(app)
    assert result.exit_code == 1
    assert f"BROKEN instance {instance.id} at event 1: the instance was deleted with its history" in result.output
    assert f"fewer than the {written.instance_count} of checkpoint #{written.id}" in result.output


def test_an_instance_row_deleted_without_its_history_is_caught_without_a_checkpoint(app, db, clock, make_agency):
    instance = start_timer_instance(db, clock, make_agency())
    db.execute(delete(ProcessInstance).where(ProcessInstance.id == instance.id))
    db.commit()
    result = verify(app)
    assert result.exit_code == 1
    assert f"BROKEN instance {instance.id} at event 1: the instance was deleted; its history remains" in result.output


def recompute_with_sha256(db, instance_id, *, relabel: bool):
    """What an attacker who read the code does: rewrite every hash of the chain with plain SHA-256."""
    previous = history.GENESIS
    for event in events_of(db, instance_id):
        if relabel:
            event.hash_scheme = HashScheme.SHA256
        event.prev_hash = previous
        event.hash = history.event_hash(event, HashScheme.SHA256)
        previous = event.hash
    db.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id).values(last_event_hash=previous))
    db.commit()


def test_an_event_edited_with_every_hash_recomputed_by_sha256_is_caught(
    app, db, clock, make_agency, make_user, login_as
):
    instance = directed_instance(db, make_agency, make_user, login_as)
    checkpoint(app, db)
    edited = next(event for event in events_of(db, instance.id) if event.kind == "task_completed")
    db.execute(update(HistoryEvent).where(HistoryEvent.id == edited.id).values(actor="someone.else"))
    recompute_with_sha256(db, instance.id, relabel=False)
    result = verify(app)
    assert result.exit_code == 1
    assert f"BROKEN instance {instance.id} at event 1: its content was changed after it was written" in result.output

    recompute_with_sha256(db, instance.id, relabel=True)  # and marked as written before keying
    result = verify(app)
    assert result.exit_code == 1
    count = len(events_of(db, instance.id))
    assert f"UNKEYED {count} events are hashed with plain SHA-256" in result.output
    assert f"BROKEN instance {instance.id} at event {count}: it is not the event signed by the last checkpoint" in (
        result.output
    )


def test_a_relabelled_sha256_chain_is_reported_even_before_any_checkpoint(
    app, db, clock, make_agency, make_user, login_as
):
    instance = directed_instance(db, make_agency, make_user, login_as)
    recompute_with_sha256(db, instance.id, relabel=True)
    result = verify(app)
    assert result.exit_code == 1 and "UNKEYED" in result.output and "0 broken" in result.output


def test_a_checkpoint_forged_without_the_key_is_caught(app, db, clock, make_agency):
    instance = start_timer_instance(db, clock, make_agency())
    first = checkpoint(app, db)
    # The attacker deletes the instance, then writes the checkpoint that would cover it, without the key.
    db.execute(delete(HistoryEvent).where(HistoryEvent.instance_id == instance.id))
    db.execute(delete(ProcessInstance).where(ProcessInstance.id == instance.id))
    blob, digest = checkpoints.pack_heads(checkpoints.current_heads(db))
    forged = Checkpoint(
        at=clock.now(),
        instance_count=first.instance_count - 1,
        event_count=first.event_count - 1,
        heads_digest=digest,
        heads=blob,
        prev_mac=first.mac,
    )
    forged.mac = hashlib.sha256(checkpoints.material(forged).encode()).hexdigest()
    db.add(forged)
    db.commit()
    result = verify(app)
    assert result.exit_code == 1
    assert f"BROKEN checkpoint #{forged.id} was forged or edited: its MAC does not hold" in result.output
    # The older, genuine checkpoint still anchors the histories: the deleted instance is named.
    assert f"BROKEN instance {instance.id} at event 1: the instance was deleted with its history" in result.output


def test_a_checkpoint_edited_or_deleted_in_the_middle_breaks_the_next(app, db, clock, make_agency):
    start_timer_instance(db, clock, make_agency())
    first = checkpoint(app, db)
    clock.advance(timedelta(days=1))
    second = checkpoint(app, db)
    clock.advance(timedelta(days=1))
    third = checkpoint(app, db)
    assert (second.prev_mac, third.prev_mac) == (first.mac, second.mac)

    db.execute(update(Checkpoint).where(Checkpoint.id == first.id).values(instance_count=first.instance_count - 1))
    db.commit()
    result = verify(app)
    assert result.exit_code == 1 and f"BROKEN checkpoint #{first.id} was forged or edited" in result.output

    db.execute(update(Checkpoint).where(Checkpoint.id == first.id).values(instance_count=first.instance_count))
    db.execute(delete(Checkpoint).where(Checkpoint.id == second.id))
    db.commit()
    result = verify(app)
    assert result.exit_code == 1
    assert f"BROKEN checkpoint #{third.id} does not follow the one before it" in result.output


def test_deleting_the_latest_checkpoint_is_reported_and_caught_against_an_anchor(app, db, clock, make_agency):
    """The database alone cannot tell its newest checkpoint was deleted (the one before still verifies): verify
    names the checkpoint it checked, and `--anchor` with a mac recorded outside (the CLI and worker print it)
    fails when that checkpoint is gone."""
    start_timer_instance(db, clock, make_agency())
    first = checkpoint(app, db)
    clock.advance(timedelta(days=1))
    latest = checkpoint(app, db)
    assert verify(app, "--anchor", latest.mac[:16]).exit_code == 0
    db.execute(delete(Checkpoint).where(Checkpoint.id == latest.id))
    db.commit()
    result = verify(app)
    assert result.exit_code == 0 and f"checkpoint #{first.id} at" in result.output  # reported, not detected
    result = verify(app, "--anchor", latest.mac[:16])
    assert result.exit_code == 1
    assert f"BROKEN the anchored checkpoint {latest.mac[:16]} is gone" in result.output


def test_a_stale_checkpoint_with_newer_events_is_a_warning_that_fails(app, db, clock, make_agency):
    start_timer_instance(db, clock, make_agency())
    written = checkpoint(app, db)
    clock.advance(timedelta(days=3))
    start_timer_instance(db, clock, make_agency("000.00.77.H99"))
    result = verify(app)
    assert result.exit_code == 1
    assert f"WARNING the newest checkpoint #{written.id} is older than 2 days and 1 events came after it" in (
        result.output
    )
    checkpoint(app, db)
    assert verify(app).exit_code == 0


def test_a_checkpoint_is_refused_while_the_history_does_not_verify(app, db, clock, make_agency, make_user, login_as):
    instance = directed_instance(db, make_agency, make_user, login_as)
    checkpoint(app, db)
    *kept, last = events_of(db, instance.id)
    db.execute(delete(HistoryEvent).where(HistoryEvent.id == last.id))
    db.execute(
        update(ProcessInstance)
        .where(ProcessInstance.id == instance.id)
        .values(event_count=len(kept), last_event_hash=kept[-1].hash)
    )
    db.commit()
    before = db.scalar(select(func.count()).select_from(Checkpoint))
    result = app.test_cli_runner().invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 1 and "ERROR: The history does not verify" in result.output
    assert db.scalar(select(func.count()).select_from(Checkpoint)) == before  # the truncation is not sealed


def test_rekey_upgrades_an_old_sha256_history_and_refuses_a_broken_one(
    app, db, clock, make_agency, make_user, login_as
):
    instance = directed_instance(db, make_agency, make_user, login_as)
    recompute_with_sha256(db, instance.id, relabel=True)  # a database written before keying
    assert "UNKEYED" in verify(app).output
    result = app.test_cli_runner().invoke(args=["audit", "rekey"])
    assert result.exit_code == 0, result.output
    assert "rekeyed 1 instances" in result.output
    assert {event.hash_scheme for event in events_of(db, instance.id)} == {HashScheme.HMAC1}
    result = verify(app)
    assert result.exit_code == 0, result.output

    recompute_with_sha256(db, instance.id, relabel=True)
    db.execute(
        update(HistoryEvent).where(HistoryEvent.instance_id == instance.id, HistoryEvent.seq == 1).values(actor="x")
    )
    db.commit()
    result = app.test_cli_runner().invoke(args=["audit", "rekey"])
    assert result.exit_code == 1 and "ERROR: The history does not verify" in result.output
    assert {event.hash_scheme for event in events_of(db, instance.id)} == {HashScheme.SHA256}  # nothing laundered


def test_the_timeline_says_whether_the_history_matches_the_last_checkpoint(
    app, db, clock, make_agency, make_user, login_as
):
    instance = directed_instance(db, make_agency, make_user, login_as)
    auditor = login_as(make_user(db.get(Agency, instance.agency_id), Role.AUDITOR))
    page = auditor.get(f"/audit/instances/{instance.id}").get_data(as_text=True)
    assert "Chưa có mốc kiểm tra có chữ ký nào" in page
    checkpoint(app, db)
    page = auditor.get(f"/audit/instances/{instance.id}").get_data(as_text=True)
    assert "khớp với mốc kiểm tra có chữ ký" in page and "không khớp" not in page
    *kept, last = events_of(db, instance.id)
    db.execute(delete(HistoryEvent).where(HistoryEvent.id == last.id))
    db.execute(
        update(ProcessInstance)
        .where(ProcessInstance.id == instance.id)
        .values(event_count=len(kept), last_event_hash=kept[-1].hash)
    )
    db.commit()
    page = auditor.get(f"/audit/instances/{instance.id}").get_data(as_text=True)
    assert "Nhật ký xử lý không khớp với mốc kiểm tra có chữ ký" in page
