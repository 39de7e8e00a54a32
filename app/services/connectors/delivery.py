"""Delivering outbox rows: claim, call the partner, record the transfer, retry or park.

Failure modes, in the order they can happen:
- two workers: a row is claimed by a conditional UPDATE (exactly one wins); on PostgreSQL
  the candidates are read with FOR UPDATE SKIP LOCKED so workers do not queue on each other;
- a crash after the claim's commit, before or during the call: the claim is a lease
  (claimed_until); once it runs out the row is claimed again and sent again. A create is
  safe to repeat because the account is looked up by membership id first; a deletion is
  safe because eGym answers 404 for an account already gone, which counts as delivered;
- the partner down (5xx, no answer) or out of tokens (429): the row waits with exponential
  backoff, and the run stops for that partner; after CONNECTOR_MAX_ATTEMPTS it is parked;
- a refusal (409 conflict, 400, 401/403): parked at once, shown to staff as an error to
  resolve; a later change of the member (or "retry") sends again.
Rows for one member and partner go in order: a row waits while an older one is in flight.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import Connector, Member, OutboxEvent
from app.services import clock, installation, recipients, transfers
from app.services.connectors import egym, settings
from app.services.connectors.declaration import MissingValueError
from app.services.jobs import default_holder

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    delivered: int = 0
    retrying: int = 0
    parked: int = 0
    stopped: str | None = None  # why the run stopped early (the partner's error code)
    resume_after: float | None = None  # seconds until the row that stopped it is due again
    codes: dict = field(default_factory=dict)


def backoff(attempts: int) -> timedelta:
    retry = installation.delivery()
    return timedelta(seconds=min(retry.retry_max_seconds, retry.retry_base_seconds * 2 ** max(0, attempts - 1)))


def _claimable(name: str, now):
    older = aliased(OutboxEvent)
    in_flight_before = exists().where(
        older.connector == OutboxEvent.connector, older.member_id == OutboxEvent.member_id,
        older.id < OutboxEvent.id, older.state == "claimed", older.claimed_until > now,
    )
    due = ((OutboxEvent.state == "pending") & (OutboxEvent.next_attempt_at <= now)) | (
        (OutboxEvent.state == "claimed") & (OutboxEvent.claimed_until <= now))
    return (OutboxEvent.connector == name) & due & ~in_flight_before


def claim(name: str, worker: str, limit: int = 20) -> list[int]:
    """Claim up to `limit` due rows for this worker and commit the claim; returns their ids, oldest first."""
    now = clock.utcnow()
    lease = timedelta(seconds=installation.delivery().lease_seconds)
    query = select(OutboxEvent.id).where(_claimable(name, now)).order_by(OutboxEvent.id).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=OutboxEvent)
    candidates = list(db.session.scalars(query))
    won = []
    for event_id in candidates:
        result = db.session.execute(
            update(OutboxEvent).where(OutboxEvent.id == event_id, _claimable(name, now))
            .values(state="claimed", claimed_by=worker[:100], claimed_until=now + lease),
            execution_options={"synchronize_session": False},
        )
        if result.rowcount == 1:
            won.append(event_id)
    db.session.commit()
    return won


def _finish(event: OutboxEvent, worker: str, **values) -> bool:
    """Update our claimed row; False when it is no longer ours (erased meanwhile, or the lease ran out)."""
    result = db.session.execute(
        update(OutboxEvent).where(OutboxEvent.id == event.id, OutboxEvent.state == "claimed",
                                  OutboxEvent.claimed_by == worker[:100])
        .values(claimed_until=None, **values),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount == 1


def deliver(event_id: int, worker: str) -> str:
    """Deliver one claimed row; commits its outcome. Returns 'done', 'retry', 'parked' or 'lost'."""
    event = db.session.get(OutboxEvent, event_id)
    if event is None or event.state != "claimed":
        return "lost"
    row = db.session.get(Connector, event.connector)
    now = clock.utcnow()
    try:
        if row is None or not row.enabled:
            raise egym.PartnerError(0, "disabled", True)
        client = settings.client(row)
        if event.kind == "erase":
            client.delete(event.account_id)
            outcome = {}
        else:
            outcome = _sync_member(row, client, event)
    except egym.PartnerError as error:
        db.session.rollback()
        event = db.session.get(OutboxEvent, event_id)
        if event is None:
            return "lost"
        if error.status == 429:
            # The partner asks us to slow down: not a failure of this row, so no attempt is
            # counted (a big sync must never park rows for it); it waits what eGym asks.
            wait = timedelta(seconds=min(error.retry_after or 1, 3600))
            _finish(event, worker, state="pending", next_attempt_at=now + wait, error_code=error.code, http_status=429)
            db.session.commit()
            raise _PartnerDownError(error.code, wait.total_seconds()) from None
        attempts = event.attempts + 1
        if error.retryable and attempts < installation.delivery().max_attempts:
            wait = backoff(attempts)
            if error.retry_after:
                wait = max(wait, timedelta(seconds=min(error.retry_after, 3600)))
            _finish(event, worker, state="pending", attempts=attempts, next_attempt_at=now + wait,
                    error_code=error.code, http_status=error.status or None)
            state = "retry"
        else:
            _finish(event, worker, state="parked", attempts=attempts, error_code=error.code,
                    http_status=error.status or None)
            if event.member_id is not None:
                link = settings.member_link(event.connector, event.member_id, create=True)
                link.state, link.error_code = "failed", error.code
                # TechnoGym's "match found": the candidates' user ids (no personal data) for staff to choose from.
                link.candidates = ",".join(getattr(error, "candidates", None) or ()) or None
            state = "parked"
        db.session.commit()
        if error.retryable and state == "retry":
            raise _PartnerDownError(error.code, wait.total_seconds()) from None
        return state
    except MissingValueError as missing:
        db.session.rollback()
        event = db.session.get(OutboxEvent, event_id)
        _finish(event, worker, state="parked", attempts=event.attempts + 1, error_code=f"missing:{missing.field_name}"[:60])
        link = settings.member_link(event.connector, event.member_id, create=True)
        link.state, link.error_code = "failed", f"missing:{missing.field_name}"[:60]
        db.session.commit()
        return "parked"
    if not _finish(event, worker, state="done", done_at=now, error_code=None, http_status=None):
        # Erased (or taken over) meanwhile: nothing of this delivery may stay here. An account
        # this call created for a member erased during the call gets its deletion row.
        db.session.rollback()
        account_id = outcome.get("account_id")
        if account_id and db.session.scalar(
                select(Member.id).where(Member.id == outcome.get("member_id"), ~Member.is_anonymised)) is None:
            db.session.add(OutboxEvent(connector=row.name, member_id=None, account_id=account_id, kind="erase",
                                       state="pending", created_at=now, next_attempt_at=now))
            db.session.commit()
        return "lost"
    if outcome.get("fields"):
        spec = settings.declaration(row.name)
        transfers.record("connector", row.name, spec.display_name, spec.channel, outcome["fields"], [event.member_id])
    # Art. 19: the notices waiting for this row (and the parked rows it covers) are notified.
    covered = [event.id]
    if event.member_id is not None:
        covered += list(db.session.scalars(select(OutboxEvent.id).where(
            OutboxEvent.connector == row.name, OutboxEvent.member_id == event.member_id, OutboxEvent.id < event.id,
            OutboxEvent.state == "parked")))
    recipients.delivered(covered, "deleted" if event.kind == "erase" else
                         "sync_stopped" if outcome.get("stopped") else "sent_again")
    # Older parked rows of this member are covered by this delivery (it carried the current data).
    if event.member_id is not None:
        db.session.execute(
            update(OutboxEvent).where(OutboxEvent.connector == row.name, OutboxEvent.member_id == event.member_id,
                                      OutboxEvent.id < event.id, OutboxEvent.state == "parked")
            .values(state="done", done_at=now),
            execution_options={"synchronize_session": False},
        )
    row.last_sync_at = now
    db.session.commit()
    return "done"


class _PartnerDownError(Exception):
    """The partner is down or out of tokens: stop this run, the rest waits (at least `wait` seconds)."""

    def __init__(self, code: str, wait: float):
        super().__init__(code)
        self.code = code
        self.wait = wait


def _sync_member(row: Connector, client, event: OutboxEvent) -> dict:
    member = db.session.get(Member, event.member_id)
    if member is None or member.is_anonymised:
        return {}
    link = settings.member_link(row.name, member.id, create=True)
    now = clock.utcnow()
    if member.processing_restricted:
        link.state, link.error_code = "excluded", "restricted"  # Art. 18: nothing is sent, nothing removed
        return {"stopped": True}
    if not settings.is_eligible(row, member.id):
        if link.account_id:
            client.delete(link.account_id)
            link.account_id, link.partner_state = None, None
            link.state, link.error_code, link.synced_at = "removed", None, now
        else:
            link.state, link.error_code = "excluded", None
        return {"stopped": True}
    payload, names = settings.declaration(row.name).build(member, row.optional_field_list)
    account_id = client.upsert(link, payload, member)
    link.account_id = account_id
    link.state, link.error_code, link.synced_at, link.fields = "synced", None, now, ",".join(names)
    link.candidates = None
    return {"fields": names, "account_id": account_id, "member_id": member.id}


def run_pending(name: str, *, worker: str | None = None, max_rows: int | None = None, batch: int = 20) -> RunResult:
    """Deliver every due row of one connector (commits per row); stops early when the partner is down."""
    worker = worker or default_holder()
    result = RunResult()
    handled = 0
    while max_rows is None or handled < max_rows:
        ids = claim(name, worker, limit=batch)
        if not ids:
            break
        for position, event_id in enumerate(ids):
            try:
                state = deliver(event_id, worker)
            except _PartnerDownError as stop:
                result.retrying += 1
                result.stopped, result.resume_after = stop.code, stop.wait
                _release(ids[position + 1:], worker)
                return result
            handled += 1
            if state == "done":
                result.delivered += 1
            elif state == "parked":
                result.parked += 1
            elif state == "retry":
                result.retrying += 1
    return result


def _release(ids, worker: str) -> None:
    """Give back claimed rows not attempted (the partner is down): they stay due, attempts unchanged."""
    if ids:
        db.session.execute(
            update(OutboxEvent).where(OutboxEvent.id.in_(ids), OutboxEvent.state == "claimed",
                                      OutboxEvent.claimed_by == worker[:100])
            .values(state="pending", claimed_until=None, claimed_by=None),
            execution_options={"synchronize_session": False},
        )
        db.session.commit()


def retry_parked(name: str) -> int:
    """Staff resolved the errors: parked rows become due again. Flushes; returns how many."""
    result = db.session.execute(
        update(OutboxEvent).where(OutboxEvent.connector == name, OutboxEvent.state == "parked")
        .values(state="pending", attempts=0, next_attempt_at=clock.utcnow()),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount
