"""Writing to the hash-chained audit log.

Each row's hash covers the previous row's hash and the row's own content, so changing,
inserting or removing a row breaks the chain from there on. Details must hold ids and
member numbers only, never names, addresses or other personal data.
"""

import hashlib
import json
from datetime import datetime

from sqlalchemy import select, text

from app.extensions import db
from app.models import AuditEvent
from app.services import clock

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
    """Serialise writers so two transactions cannot both extend the same last row."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(7301)"))


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
