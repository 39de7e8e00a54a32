"""Writing, reading and verifying the hash-chained audit log.

Each row's hash covers the previous row's hash and the row's own content, so changing,
inserting or removing a row breaks the chain from there on. Details must hold ids and
member numbers only, never names, addresses or other personal data. Rows are never
rewritten: erasing a member leaves its audit rows (which hold only the member number)
untouched, so the chain stays intact.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent
from app.services import clock, locks

GENESIS = "0" * 64


def _canonical(event: AuditEvent) -> bytes:
    payload = {
        "occurred_at": event.occurred_at.isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_username": event.actor_username,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "member_number": event.member_number,
        "source_ip": event.source_ip,
        "details": event.details,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


def _lock_chain() -> None:
    """Serialise writers so two transactions cannot both extend the same last row.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: the Python driver starts a
    transaction only at the first write, so reading the last hash and then inserting
    would let two connections read the same head and fork the chain. Writing a counter
    row first takes SQLite's single write lock (waiting up to busy_timeout) before the
    head is read, so the read inside the transaction is the true head.
    """
    locks.hold("audit_chain")


def record(
    action: str,
    actor=None,
    *,
    target_type: str | None = None,
    target_id=None,
    member_number: int | None = None,
    details: dict | None = None,
    source_ip: str | None = None,
    occurred_at: datetime | None = None,
) -> AuditEvent:
    """Append one event to the audit log (flushed, not committed: the caller commits)."""
    _lock_chain()
    previous = db.session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    event = AuditEvent(
        occurred_at=occurred_at or clock.utcnow(),
        actor_id=getattr(actor, "id", None),
        actor_username=getattr(actor, "username", None),
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        member_number=member_number,
        source_ip=source_ip,
        details=json.dumps(details or {}, sort_keys=True, default=str),
        prev_hash=previous or GENESIS,
    )
    event.hash = compute_hash(event)
    db.session.add(event)
    db.session.flush()
    return event


@dataclass
class VerifyResult:
    """The outcome of recomputing the chain."""

    checked: int
    head_hash: str | None
    broken_id: int | None = None
    reason: str | None = None  # "content" (row changed) or "link" (row missing or inserted)

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def _pruning_anchors() -> set[str]:
    """Hashes at which pruning legitimately cut the chain.

    Whoever removes the oldest rows (the retention sweep, its audit_events policy) records an event whose
    details hold "anchor_hash": the prev_hash of the first row it kept. Those events are part
    of the chain themselves, so an anchor cannot be added or changed unnoticed.
    """
    anchors = set()
    for details in db.session.scalars(select(AuditEvent.details).where(AuditEvent.details.like('%"anchor_hash"%'))):
        anchor = json.loads(details).get("anchor_hash")
        if anchor:
            anchors.add(anchor)
    return anchors


def verify(batch_size: int = 2000) -> VerifyResult:
    """Recompute every row's hash in order; report the first row whose content or link is wrong."""
    expected_prev: str | None = None
    checked = 0
    last_id = 0
    anchors: set[str] | None = None
    while True:
        # Plain rows, not ORM objects: nothing accumulates in the session on a long log.
        rows = db.session.execute(
            select(*AuditEvent.__table__.c).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch_size)
        ).all()
        if not rows:
            break
        for event in rows:
            if expected_prev is None:
                if event.prev_hash != GENESIS:
                    anchors = _pruning_anchors() if anchors is None else anchors
                    if event.prev_hash not in anchors:
                        return VerifyResult(checked, None, event.id, "link")
            elif event.prev_hash != expected_prev:
                return VerifyResult(checked, expected_prev, event.id, "link")
            if compute_hash(event) != event.hash:
                return VerifyResult(checked, expected_prev, event.id, "content")
            expected_prev = event.hash
            checked += 1
            last_id = event.id
    return VerifyResult(checked, expected_prev)


@dataclass
class AuditFilters:
    actor: str | None = None
    action: str | None = None
    member_number: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    actions: tuple[str, ...] | None = None  # a filter by words: the codes whose labels matched


def search(filters: AuditFilters):
    """A select() of events matching the filters, newest first (the caller paginates)."""
    query = select(AuditEvent)
    if filters.actor:
        query = query.where(func.lower(AuditEvent.actor_username) == filters.actor.strip().lower())
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.actions is not None:
        query = query.where(AuditEvent.action.in_(filters.actions))
    if filters.member_number is not None:
        query = query.where(AuditEvent.member_number == filters.member_number)
    if filters.date_from:
        query = query.where(AuditEvent.occurred_at >= clock.local_day_bounds(filters.date_from)[0])
    if filters.date_to:
        query = query.where(AuditEvent.occurred_at < clock.local_day_bounds(filters.date_to)[1])
    return query.order_by(AuditEvent.id.desc())


def known_actions() -> list[str]:
    """Every action that occurs in the log, for the viewer's filter."""
    return list(db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))
