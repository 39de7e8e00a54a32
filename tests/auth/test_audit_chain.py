"""The hash-chained audit log: verification finds tampering; concurrent writers never fork it."""

import threading
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text

from app.extensions import db as _db
from app.models import AuditEvent
from app.services import audit, retention


def _write(n, **fields):
    events = [audit.record("member.viewed", None, member_number=1000 + i, details={"i": i}, **fields) for i in range(n)]
    _db.session.commit()
    return [e.id for e in events]


def test_an_intact_chain_verifies(db):
    _write(5)
    result = audit.verify()
    assert result.ok and result.checked == 5


def test_an_empty_log_verifies(db):
    assert audit.verify().ok


def test_a_row_changed_with_raw_sql_is_named(db):
    ids = _write(5)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET member_number = 4242 WHERE id = :id"), {"id": ids[2]})
    result = audit.verify()
    assert not result.ok
    assert result.broken_id == ids[2] and result.reason == "content"
    assert result.checked == 2


def test_a_row_whose_hash_was_also_recomputed_breaks_the_next_link(db):
    ids = _write(4)
    event = db.session.get(AuditEvent, ids[1])
    event.details = '{"i": 99}'
    event.hash = audit.compute_hash(event)
    db.session.commit()
    result = audit.verify()
    assert result.broken_id == ids[2] and result.reason == "link"


def test_a_deleted_row_is_detected_at_the_row_after_it(db):
    ids = _write(5)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": ids[3]})
    result = audit.verify()
    assert result.broken_id == ids[4] and result.reason == "link"


def test_deleting_the_first_row_is_detected(db):
    ids = _write(3)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": ids[0]})
    assert audit.verify().broken_id == ids[1]


def test_cli_verify_exit_codes(db, runner):
    ids = _write(3)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0
    assert "intact: 3 event(s)" in result.output
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET action = 'nothing' WHERE id = :id"), {"id": ids[1]})
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at event #{ids[1]}" in result.output


def test_erasing_a_member_does_not_break_the_chain(db, make_member):
    member = make_member()
    audit.record("member.viewed", None, member_number=member.member_number)
    audit.record("member.erased", None, member_number=member.member_number)
    db.session.commit()
    db.session.delete(member)
    db.session.commit()
    assert audit.verify().ok
    assert db.session.scalar(select(AuditEvent.member_number).limit(1)) == member.member_number


def test_pruning_old_rows_keeps_the_rest_verifiable(db, frozen_clock):
    frozen_clock(datetime(2020, 1, 1, 12, 0))
    _write(3)
    frozen_clock(datetime(2026, 1, 1, 12, 0))
    newer = _write(2)
    # The one pruning mechanism: the retention sweep's audit_events policy (60 months by default).
    removed = retention.run_sweep(None, commit=db.session.commit).counts["audit_events"]
    db.session.commit()
    assert removed == 3
    assert audit.verify().ok
    # Deleting a row after the cut is still detected.
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": newer[0]})
    assert audit.verify().broken_id == newer[1]


def test_two_concurrent_writers_do_not_fork_the_chain(app, db):
    """Writer A holds its transaction open after writing; B must wait and link to A's row."""
    a_wrote, b_started = threading.Event(), threading.Event()
    errors = []

    def writer_a():
        try:
            with app.app_context():
                audit.record("test.a", None)
                a_wrote.set()
                b_started.wait(5)
                time.sleep(0.3)  # B is now trying to append
                _db.session.commit()
        except Exception as error:  # noqa: BLE001 - reported to the test below
            errors.append(error)

    def writer_b():
        try:
            with app.app_context():
                a_wrote.wait(5)
                b_started.set()
                audit.record("test.b", None)
                _db.session.commit()
        except Exception as error:  # noqa: BLE001 - reported to the test below
            errors.append(error)

    threads = [threading.Thread(target=writer_a), threading.Thread(target=writer_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert errors == []
    rows = db.session.execute(select(AuditEvent.action, AuditEvent.prev_hash, AuditEvent.hash).order_by(AuditEvent.id)).all()
    assert [r.action for r in rows] == ["test.a", "test.b"]
    assert rows[1].prev_hash == rows[0].hash
    assert audit.verify().ok


def test_many_threads_appending_keep_one_chain(app, db):
    def work():
        with app.app_context():
            for _ in range(10):
                audit.record("test.many", None)
                _db.session.commit()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    result = audit.verify()
    assert result.ok and result.checked == 40
    prev = db.session.scalars(select(AuditEvent.prev_hash)).all()
    assert len(set(prev)) == 40  # nobody extended the same row twice


def test_record_keeps_personal_data_out_by_contract(db):
    event = audit.record("user.updated", None, target_type="user", target_id=3, details={"fields": ["email"]})
    assert event.details == '{"fields": ["email"]}'
    assert event.occurred_at <= datetime.utcnow() + timedelta(seconds=5)  # noqa: DTZ003 - naive UTC by design


def test_a_cut_recorded_by_another_pruner_is_accepted(db):
    """The retention sweep deletes a prefix itself and records the anchor in its own event."""
    ids = _write(4)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE id <= :id"), {"id": ids[1]})
    assert audit.verify().broken_id == ids[2]
    first_kept = db.session.get(AuditEvent, ids[2])
    audit.record("retention.applied", None, details={"category": "audit_events", "anchor_hash": first_kept.prev_hash})
    db.session.commit()
    assert audit.verify().ok


def _append_from_another_process(database_url: str, ledger_path: str, count: int, start) -> None:
    """Runs in a child process: its own app, engine and connections, like a gunicorn worker."""
    from app import create_app
    from app.config import TestConfig

    config = type("WorkerConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": database_url,
                                                   "ERASURE_LEDGER_PATH": ledger_path})
    app = create_app(config)
    with app.app_context():
        start.wait(60)  # both workers begin together, so their writes interleave
        for _ in range(count):
            audit.record("test.process", None)
            _db.session.commit()
        _db.engine.dispose()


@pytest.mark.slow
def test_two_worker_processes_appending_keep_one_chain(db, database_url, instance_dir):
    import multiprocessing

    # A fork server that has imported the app's code once (a clean process, not a fork of this
    # one): each worker forked from it still builds its own app, engine and connections below,
    # as a gunicorn worker forked from its master does, without importing everything again.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__, "app.blueprints", "app.api", "app.cli"])
    start = context.Barrier(2)
    args = (database_url, str(instance_dir / "ledger.jsonl"), 40, start)
    workers = [context.Process(target=_append_from_another_process, args=args) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    result = audit.verify()
    assert result.ok and result.checked == 80
    assert len(set(db.session.scalars(select(AuditEvent.prev_hash)))) == 80
