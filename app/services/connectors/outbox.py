"""The transactional outbox: a change a partner must hear about writes a row in the same transaction.

A session listener (after_flush) sees every flushed change to a member, a subscription, a
consent, an objection or a connector opt-out and writes one row per enabled connector: the
member id and the kind of event, never a copy of the data. The payload is built from the
current data when the row is delivered, so a value corrected or erased meanwhile is never sent.
At most one row per member and connector waits at a time (later changes are covered by it).

An erasure (the engine's `signals.erasing`, inside its transaction) drops the member's
waiting rows and mapping and leaves, per partner that knows the member, one row holding
only the partner's account id, for the deletion call.

After the commit, the job queue is asked to drain (only the connector's name travels).
"""

import logging

from flask import current_app, has_app_context
from sqlalchemy import delete, event, insert, select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Connector, ConnectorMember, Consent, DataRequest, Member, OutboxEvent, Subscription
from app.services import clock, erasure, signals

log = logging.getLogger(__name__)

MEMBER_FIELDS = {
    "first_name", "infix", "last_name", "date_of_birth", "gender", "email", "phone", "street",
    "house_number", "postcode", "city", "country", "joined_on", "ended_on", "status", "processing_restricted",
}
KINDS = ("created", "changed", "ended", "restricted", "consent", "plan", "objection", "opt_out", "full_sync", "erase")
WAITING = ("pending",)


def _changed(obj, names) -> set[str]:
    from sqlalchemy import inspect

    state = inspect(obj)
    return {name for name in names if name in state.attrs and state.attrs[name].history.has_changes()}


def _events_of(session: Session) -> dict[int, str]:
    """member id -> the kind of change, for the objects this flush wrote."""
    found: dict[int, str] = {}

    def note(member_id, kind):
        if member_id is not None and member_id not in found:
            found[member_id] = kind

    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Member):
            if obj in session.new:
                note(obj.id, "created")
                continue
            changed = _changed(obj, MEMBER_FIELDS)
            if not changed:
                continue
            if "processing_restricted" in changed:
                note(obj.id, "restricted")
            elif "status" in changed or "ended_on" in changed:
                note(obj.id, "ended")
            else:
                note(obj.id, "changed")
        elif isinstance(obj, Subscription):
            if obj in session.new or _changed(obj, {"plan_id", "status", "ends_on", "starts_on"}):
                note(obj.member_id or (obj.member.id if obj.member else None), "plan")
        elif isinstance(obj, Consent):
            if obj in session.new or _changed(obj, {"withdrawn_at"}):
                note(obj.member_id or (obj.member.id if obj.member else None), "consent")
        elif isinstance(obj, DataRequest):
            # An objection stops partner processing (privacy_requests.partner_processing_clause).
            if obj.kind == "objection" and obj.member_id and (obj in session.new or _changed(obj, {"status", "member_id"})):
                note(obj.member_id, "objection")
        elif isinstance(obj, ConnectorMember):
            if (obj.opted_out if obj in session.new else _changed(obj, {"opted_out"})):
                note(obj.member_id, "opt_out")
    return found


def write(connection, connector_names, member_kinds: dict[int, str]) -> int:
    """Insert one waiting row per connector and member unless one is already waiting. Returns rows written."""
    if not connector_names or not member_kinds:
        return 0
    table = OutboxEvent.__table__
    now = clock.utcnow()
    rows = []
    ids = list(member_kinds)
    for name in connector_names:
        waiting = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            waiting.update(connection.execute(
                select(table.c.member_id).where(table.c.connector == name, table.c.member_id.in_(chunk),
                                                table.c.state.in_(WAITING))
            ).scalars())
        rows.extend({"connector": name, "member_id": member_id, "kind": kind, "state": "pending", "attempts": 0,
                     "created_at": now, "next_attempt_at": now}
                    for member_id, kind in member_kinds.items() if member_id not in waiting)
    if rows:
        connection.execute(insert(table), rows)
    return len(rows)


def _enabled(connection) -> list[str]:
    table = Connector.__table__
    return list(connection.execute(select(table.c.name).where(table.c.enabled.is_(True))).scalars())


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    kinds = _events_of(session)
    if not kinds:
        return
    connection = session.connection()
    names = _enabled(connection)
    if names and write(connection, names, kinds):
        session.info.setdefault("outbox_kick", set()).update(names)


@signals.members_changed.connect
def _members_changed(_sender, member_ids=(), kind: str = "changed", **_kw) -> None:
    """Members changed outside the ORM's flush (a plan's merge or mapping, an import's bulk insert): the
    partners are told, one row per member and connector, written in bulk in the same transaction."""
    if not member_ids:
        return
    session = db.session
    connection = session.connection()
    names = _enabled(connection)
    if names and write(connection, names, dict.fromkeys(member_ids, kind if kind in KINDS else "changed")):
        session.info.setdefault("outbox_kick", set()).update(names)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    names = session.info.pop("outbox_kick", None)
    if names and has_app_context():
        from app.services import jobqueue

        for name in sorted(names):
            jobqueue.kick(current_app._get_current_object(), name)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("outbox_kick", None)


@signals.erasing.connect
def _erasure_hook(_sender, **_kw) -> None:
    """Inside the erasure's transaction: waiting rows and the mapping go; a deletion row per known account stays."""
    from app.extensions import db

    batch = erasure._batch_ids()
    links = db.session.execute(
        select(ConnectorMember.connector, ConnectorMember.account_id)
        .where(ConnectorMember.member_id.in_(batch), ConnectorMember.account_id.is_not(None))
    ).all()
    db.session.execute(delete(OutboxEvent).where(OutboxEvent.member_id.in_(batch)),
                       execution_options={"synchronize_session": False})
    db.session.execute(delete(ConnectorMember).where(ConnectorMember.member_id.in_(batch)),
                       execution_options={"synchronize_session": False})
    now = clock.utcnow()
    if links:
        db.session.execute(insert(OutboxEvent), [
            {"connector": name, "member_id": None, "account_id": account_id, "kind": "erase", "state": "pending",
             "attempts": 0, "created_at": now, "next_attempt_at": now}
            for name, account_id in links
        ])
        db.session.info.setdefault("outbox_kick", set()).update(name for name, _ in links)


def enqueue_full_sync(row: Connector) -> int:
    """Queue every eligible member and every member the partner knows (set-based). Flushes; returns rows written."""
    from app.extensions import db
    from app.services.connectors.settings import eligible_clause

    eligible = select(Member.id).where(eligible_clause(row))
    known = select(ConnectorMember.member_id).where(ConnectorMember.connector == row.name,
                                                    ConnectorMember.account_id.is_not(None))
    ids = set(db.session.scalars(eligible)) | set(db.session.scalars(known))
    count = write(db.session.connection(), [row.name], dict.fromkeys(sorted(ids), "full_sync"))
    if count:
        db.session.info.setdefault("outbox_kick", set()).add(row.name)
    return count
