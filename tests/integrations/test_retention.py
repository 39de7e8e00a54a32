"""The retention sweep removes old delivered outbox rows and old transfer-log entries, never waiting or parked rows."""

from datetime import datetime

from sqlalchemy import select

from app.models import DataTransfer, OutboxEvent
from app.services import clock, retention, transfers


def test_the_sweep_prunes_delivered_calls_and_old_transfers(db, make_member, frozen_clock):
    member = make_member()
    frozen_clock(datetime(2022, 1, 10, 12, 0))
    transfers.record("connector", "egym", "eGym", "MMS API v2", ["email"], [member.id])
    db.session.add_all([
        OutboxEvent(connector="egym", member_id=member.id, kind="changed", state="done", done_at=clock.utcnow()),
        OutboxEvent(connector="egym", member_id=member.id, kind="changed", state="parked", error_code="generalConflict"),
        OutboxEvent(connector="egym", member_id=None, account_id="abc", kind="erase", state="pending"),
    ])
    db.session.commit()
    frozen_clock(datetime(2026, 3, 2, 9, 0))
    recent_id = transfers.record("connector", "egym", "eGym", "MMS API v2", ["email"], [member.id]).id
    db.session.commit()
    result = retention.run_sweep(None, commit=db.session.commit, via="cli")
    db.session.commit()
    assert result.counts["connector_outbox"] == 1 and result.counts["data_transfers"] == 1
    assert sorted(db.session.scalars(select(OutboxEvent.state))) == ["parked", "pending"]
    assert list(db.session.scalars(select(DataTransfer.id))) == [recent_id]
