"""Logging a member view holds the audit chain's lock for the insert and its commit only."""

import pytest
from sqlalchemy import event, select

from app.models import AuditEvent


@pytest.mark.parametrize("tab", ["profile", "visits", "subscriptions", "consents"])
def test_the_chain_lock_is_held_only_for_the_audit_insert(client, db, make_user, make_member, login_as, tab):
    member = make_member()
    login_as(make_user("administrator"))
    steps = []

    def statement(_conn, _cursor, sql, *_args):
        steps.append(sql.split()[0].upper() + " " + " ".join(sql.split()[1:4]))

    def commit(_conn):
        steps.append("COMMIT")

    event.listen(db.engine, "before_cursor_execute", statement)
    event.listen(db.engine, "commit", commit)
    try:
        response = client.get(f"/members/{member.member_number}?tab={tab}")
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
        event.remove(db.engine, "commit", commit)
    assert response.status_code == 200

    # SQLite takes its write lock with the chain counter's upsert (PostgreSQL an advisory lock);
    # from there to the commit: the chain head and the insert, no page work, no other query.
    lock = next(i for i, s in enumerate(steps) if s.startswith(("INSERT INTO counters", "SELECT pg_advisory_xact_lock")))
    held = steps[lock:steps.index("COMMIT", lock) + 1]
    assert len(held) == 4, held
    assert held[1].startswith("SELECT audit_events.hash") and held[2].startswith("INSERT INTO audit_events")
    assert steps[-1] == "COMMIT"  # and nothing after it: the page was rendered before
    viewed = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "member.view").order_by(AuditEvent.id.desc()))
    assert viewed.member_number == member.member_number and tab in viewed.details
