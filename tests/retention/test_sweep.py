"""The sweep as a whole: holds, dry run, idempotency, interruption, the job lock, the CLI."""

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db as _db
from app.models import (
    AuditEvent,
    Consent,
    DataRequest,
    HealthNote,
    Invoice,
    JobLock,
    StaffNote,
    Visit,
)
from app.services import clock, holds, jobs, retention
from tests.retention.conftest import at


def _snapshot(db):
    """Every row of every table, to prove that nothing changed."""
    return {
        table.name: sorted(tuple(str(v) for v in row) for row in db.session.execute(table.select()))
        for table in _db.metadata.sorted_tables
    }


def _old_records(db, member, *, health=True):
    """Records of every member-linked category that are long past every default period."""
    db.session.add_all([
        Visit(member_id=member.id, checked_in_at=at(2019, 1, 1)),
        StaffNote(member_id=member.id, body="note", created_at=at(2019, 1, 1)),
        Consent(member_id=member.id, purpose="photos", given_at=at(2015, 1, 1), withdrawn_at=at(2019, 1, 1)),
        Invoice(member_id=member.id, number=f"2015-{member.member_number}", issued_on=date(2015, 3, 1),
                due_on=date(2015, 3, 15), amount=10, status="paid", billing_name="x", billing_address=""),
        DataRequest(reference=f"AVG-2019-{member.member_number}", kind="access", due_on=date(2019, 2, 1),
                    received_at=at(2019, 1, 1), closed_at=at(2019, 1, 20), member_id=member.id,
                    member_number=member.member_number),
    ])
    if health:
        db.session.add(HealthNote(member_id=member.id, body="asthma", created_at=at(2019, 1, 1)))
    db.session.commit()


def _rows_of(db, member_id):
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model).where(model.member_id == member_id))
        for model in (Visit, StaffNote, Consent, Invoice, DataRequest, HealthNote)
    }


def test_legal_hold_keeps_every_record_of_the_member(db, make_member, make_user, policies, sweep, frozen_clock):
    # Ended recently, so the membership itself is not due; everything attached to it is.
    held = make_member(status="ended", ended_on=date(2025, 1, 1))
    free = make_member(status="ended", ended_on=date(2025, 1, 1))
    _old_records(db, held)
    _old_records(db, free)
    frozen_clock(at(2026, 6, 15))
    holds.place_hold(held, "claim about an injury in the gym", make_user("privacy_officer"))
    db.session.commit()

    forecast = {f.policy.category: f for f in retention.forecast()}
    assert forecast["visits"].due == 1 and forecast["visits"].held_back == 1
    assert forecast["visits"].sample == [free.member_number]
    sweep()

    assert _rows_of(db, held.id) == {name: 1 for name in _rows_of(db, held.id)}
    assert _rows_of(db, free.id) == {name: 0 for name in _rows_of(db, free.id)}


def test_lifting_the_hold_lets_the_sweep_in_again(db, make_member, make_user, policies, sweep, frozen_clock):
    officer = make_user("privacy_officer")
    member = make_member()
    _old_records(db, member)
    frozen_clock(at(2026, 6, 15))
    hold = holds.place_hold(member, "dispute", officer)
    db.session.commit()
    sweep()
    assert _rows_of(db, member.id)["Visit"] == 1
    holds.lift_hold(hold, officer)
    db.session.commit()
    sweep()
    assert _rows_of(db, member.id)["Visit"] == 0
    hold_events = select(AuditEvent.action).where(AuditEvent.action.like("legal_hold.%")).order_by(AuditEvent.id)
    actions = list(db.session.scalars(hold_events))
    assert actions == ["legal_hold.placed", "legal_hold.lifted"]


def test_dry_run_changes_nothing(db, runner, make_member, policies, frozen_clock):
    member = make_member()
    _old_records(db, member)
    frozen_clock(at(2026, 6, 15))
    before = _snapshot(db)
    result = runner.invoke(args=["retention", "sweep", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Dry run" in result.output
    assert "1 due" in result.output and str(member.member_number) in result.output
    db.session.expire_all()
    assert _snapshot(db) == before


def test_the_cli_sweep_reports_what_it_did_and_a_second_run_finds_nothing(db, runner, make_member, policies,
                                                                          frozen_clock):
    for _ in range(3):
        _old_records(db, make_member())
    frozen_clock(at(2026, 6, 15))
    first = runner.invoke(args=["retention", "sweep"])
    assert first.exit_code == 0, first.output
    assert "3  Visit history: deleted" in first.output
    second = runner.invoke(args=["retention", "sweep"])
    assert second.exit_code == 0, second.output
    assert "0 record(s) processed" in second.output
    assert all(f.due == 0 for f in retention.forecast())
    sweeps = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "retention.sweep")
                                     .order_by(AuditEvent.id)))
    assert len(sweeps) == 2
    counts = json.loads(sweeps[0].details)["counts"]
    assert counts["visits"] == 3 and counts["invoices"] == 3 and counts["closed_requests"] == 3
    assert json.loads(sweeps[0].details)["via"] == "cli"


def test_a_crash_between_chunks_leaves_whole_chunks(db, make_member, policies, frozen_clock):
    member = make_member()
    db.session.add_all(Visit(member_id=member.id, checked_in_at=at(2019, 1, day)) for day in range(1, 11))
    db.session.commit()
    frozen_clock(at(2026, 6, 15))
    calls = []

    def power_cut_on_second_commit():
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("power cut")
        db.session.commit()

    with pytest.raises(RuntimeError):
        retention.run_sweep(None, commit=power_cut_on_second_commit, delete_chunk=4)
    # The first chunk (4 oldest visits) is gone for good, the second was rolled back whole.
    remaining = sorted(v.checked_in_at.day for v in db.session.scalars(select(Visit)))
    assert remaining == [5, 6, 7, 8, 9, 10]
    applied = [json.loads(e.details) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "retention.applied"))]
    assert applied == [{"action": "delete", "category": "visits", "count": 4, "run": applied[0]["run"]}]
    # The crashed run gave its lock back; the next run finishes the job.
    assert db.session.scalar(select(func.count()).select_from(JobLock)) == 0
    result = retention.run_sweep(None, commit=db.session.commit, delete_chunk=4)
    assert result.counts["visits"] == 6
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 0


def test_a_second_concurrent_run_is_refused_with_a_clear_message(db, runner, make_member, policies, frozen_clock):
    _old_records(db, make_member())
    frozen_clock(at(2026, 6, 15))
    lock = jobs.acquire(retention.JOB_NAME, holder="host-a:4242:abcd")
    result = runner.invoke(args=["retention", "sweep"])
    assert result.exit_code != 0
    assert "another retention sweep is running" in result.output
    assert "host-a:4242:abcd" in result.output
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 1
    with pytest.raises(jobs.JobBusyError):
        retention.run_sweep(None, commit=db.session.commit)
    lock.release()
    assert runner.invoke(args=["retention", "sweep"]).exit_code == 0
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 0


def test_a_stale_lock_of_a_dead_host_expires(db, policies, frozen_clock):
    frozen_clock(at(2026, 6, 15, 3))
    jobs.acquire(retention.JOB_NAME, holder="crashed-host:1:dead", ttl=timedelta(minutes=30))
    clock.advance(timedelta(minutes=29))
    with pytest.raises(jobs.JobBusyError) as busy:
        jobs.acquire(retention.JOB_NAME)
    assert busy.value.holder == "crashed-host:1:dead"
    clock.advance(timedelta(minutes=2))
    lock = jobs.acquire(retention.JOB_NAME)
    assert jobs.current_lock(retention.JOB_NAME).holder == lock.holder
    lock.release()


def test_a_lock_taken_over_after_expiry_is_noticed(db, frozen_clock):
    frozen_clock(at(2026, 6, 15, 3))
    slow = jobs.acquire("some-job", ttl=timedelta(minutes=1))
    clock.advance(timedelta(minutes=5))
    other = jobs.acquire("some-job")
    with pytest.raises(jobs.JobLockLostError):
        slow.renew()
    slow.release()  # does not remove the other holder's lock
    assert jobs.current_lock("some-job").holder == other.holder
    other.release()
    assert jobs.current_lock("some-job") is None


def test_the_sweep_skips_nothing_it_should_not_when_nothing_is_due(db, make_member, policies, sweep):
    member = make_member()
    db.session.add(Visit(member_id=member.id, checked_in_at=clock.utcnow()))
    db.session.commit()
    result = sweep()
    assert result.total == 0
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 1
    assert retention.last_sweep() is not None


def test_two_hosts_racing_for_the_lock_one_wins(app, db):
    """Real concurrent attempts (threads, each with its own connection): exactly one gets the lock."""
    import threading

    barrier = threading.Barrier(4)
    outcomes = []

    def host(number):
        with app.app_context():
            barrier.wait()
            try:
                lock = jobs.acquire("race", holder=f"host-{number}")
            except jobs.JobBusyError as busy:
                outcomes.append(("busy", busy.holder))
            else:
                outcomes.append(("won", lock.holder))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=host, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [holder for outcome, holder in outcomes if outcome == "won"]
    assert len(winners) == 1
    assert all(holder == winners[0] for outcome, holder in outcomes if outcome == "busy")
    assert jobs.current_lock("race").holder == winners[0]
