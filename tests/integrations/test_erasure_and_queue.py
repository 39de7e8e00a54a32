"""Erasure through the outbox (one deletion, no personal value left) and the huey queue's storage."""

import os
import shutil
import socket
import stat
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select

from app.models import ConnectorMember, OutboxEvent
from app.services import clock, erasure, jobqueue, members
from app.services.connectors import delivery, runner


def _erase(member, db):
    identifiers = erasure.identifiers_of(member)
    erasure.erase_member(member, "delete", None)
    db.session.commit()
    return identifiers


def test_an_erasure_is_delivered_once_and_leaves_no_personal_value(app, configure, egym, egym_member, db, clock_at):
    configure(fields=["dateOfBirth", "contact.phone", "contact.city"])
    member = egym_member(email="erase.me@example.nl", first_name="Wilhelmina", last_name="Quastenbroek")
    delivery.run_pending("egym")
    account_id = db.session.get(ConnectorMember, ("egym", member.id)).account_id
    # A change waits in the outbox when the erasure comes: it is dropped, never sent.
    members.update_member(member, {"city": "Zwolle"}, actor=None)
    db.session.commit()
    identifiers = _erase(member, db)
    [row] = db.session.scalars(select(OutboxEvent)).all()
    assert (row.kind, row.member_id, row.account_id) == ("erase", None, account_id)
    assert db.session.scalar(select(func.count()).select_from(ConnectorMember)) == 0
    # The worker dies after eGym deleted but before it recorded it: the resend is a 404, done.
    ids = delivery.claim("egym", "dying-worker")
    from app.services.connectors import settings

    settings.client(settings.connector("egym")).delete(account_id)
    clock.freeze(clock.utcnow() + timedelta(seconds=61))
    assert delivery.run_pending("egym").delivered == 1 and ids
    assert egym.deletions == [account_id] and egym.accounts == {}
    deletes = egym.calls("DELETE")
    assert all(call["query"] == {"eraseMemberData": ["true"]} for call in deletes)
    assert [c["status"] for c in deletes] == [204, 404]
    assert delivery.run_pending("egym").delivered == 0  # nothing more to send
    # Nothing of the member in any table (outbox and mapping included) nor in the queue's file.
    report = erasure.verify(identifiers)
    assert report["ok"], report["hits"]
    jobqueue.get(app)
    queue_file = Path(app.config["JOBS_URL"][len("sqlite:///"):])
    raw = b"".join(p.read_bytes() for p in queue_file.parent.glob(queue_file.name + "*"))
    for value in ("erase.me@example.nl", "Quastenbroek", "Wilhelmina"):
        assert value.encode() not in raw


def test_an_erasure_of_a_member_never_sent_calls_nobody(configure, egym, egym_member, db, clock_at):
    configure()
    member = egym_member()
    _erase(member, db)
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent)) == 0
    delivery.run_pending("egym")
    assert egym.requests == []


def test_the_queue_file_is_private_and_a_committed_change_asks_a_worker(app, configure, egym, egym_member, db, clock_at):
    configure()
    huey = jobqueue.get(app)
    huey.flush()
    egym_member()  # commits a member: the outbox row, then a job "drain egym"
    path = Path(app.config["JOBS_URL"][len("sqlite:///"):])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert huey.pending_count() == 1
    task = huey.dequeue()
    assert task.args == ("egym",)  # the connector's name, nothing of the member
    huey.execute(task)
    assert len(egym.accounts) == 1


def test_the_tick_says_the_worker_is_alive_and_reports_the_backlog(configure, egym, egym_member, db, clock_at):
    configure()
    egym.down = True
    egym_member()
    runner.tick()
    status = runner.worker_status()
    assert status["worker_alive"] and status["outbox_backlog"] == 1 and status["parked"] == 0
    clock.freeze(clock.utcnow() + timedelta(minutes=10))
    assert not runner.worker_status()["worker_alive"]


def test_postgresql_storage_for_the_queue_holds_only_the_connector_name(make_app, database_url, configure, egym,
                                                                        egym_member, db, clock_at):
    if not database_url.startswith("postgresql"):
        pytest.skip("the PostgreSQL queue storage needs the PostgreSQL run")
    other = make_app(JOBS_URL=database_url)
    huey = jobqueue.get(other)
    huey.flush()
    configure()
    with other.app_context():
        jobqueue.kick(other, "egym")
        assert huey.pending_count() == 1
        task = huey.dequeue()
        assert task.args == ("egym",)
        egym_member(email="queue.pg@example.nl")
        huey.execute(task)
    assert len(egym.accounts) == 1
    huey.flush()


def test_redis_storage_for_the_queue_holds_no_member_value(make_app, configure, egym, egym_member, db, clock_at,
                                                           tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        client = redis.Redis(host="127.0.0.1", port=port)
        for _ in range(200):  # until it accepts connections (no timed assertion: it either answers or the test fails)
            try:
                client.ping()
                break
            except redis.ConnectionError:
                process.poll()
                assert process.returncode is None, "redis-server did not start"
                time.sleep(0.05)
        other = make_app(JOBS_URL=f"redis://127.0.0.1:{port}/0")
        huey = jobqueue.get(other)
        configure()
        with other.app_context():
            member = egym_member(email="queue.redis@example.nl", last_name="Redisvoorbeeld")
            assert huey.pending_count() == 1
            huey.execute(huey.dequeue())
            assert len(egym.accounts) == 1
            erasure.erase_member(db.session.merge(member), "delete", None)
            db.session.commit()
            huey.execute(huey.dequeue())
        assert egym.accounts == {}
        stored = b"".join(client.dump(key) or b"" for key in client.keys("*"))
        assert b"queue.redis@example.nl" not in stored and b"Redisvoorbeeld" not in stored
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_daily_full_sync_runs_once_a_day_after_its_time(configure, egym, egym_member, db, frozen_clock):
    from datetime import datetime

    frozen_clock(datetime(2026, 3, 2, 4, 0))  # 05:00 in Amsterdam
    egym_member()
    configure(sync_time="05:30")
    runner.tick()
    assert egym.calls("POST") == []  # before the time: nothing (the member was made before enabling)
    frozen_clock(datetime(2026, 3, 2, 4, 31))  # 05:31 local
    runner.tick()
    assert len(egym.calls("POST")) == 1
    runner.tick()
    assert len(egym.calls("PATCH")) == 0  # not a second full sync the same day
    frozen_clock(datetime(2026, 3, 3, 4, 31))
    runner.tick()
    assert len(egym.calls("PATCH")) == 1  # the next day's full sync


def test_a_rate_limited_drain_schedules_its_own_resumption(app, configure, egym, egym_member, db, clock_at):
    configure()
    huey = jobqueue.get(app)
    egym_member()
    huey.flush()
    egym.tokens = 0
    result = runner.drain("egym")
    assert result.stopped == "tooManyRequests"
    [task] = huey.pending()  # huey moves a task with an eta to its schedule when a worker reads it
    assert (task.name, task.args) == ("connectors.drain", ("egym",))
    assert task.eta is not None  # a delayed "drain egym" (what eGym asked), not a busy loop
