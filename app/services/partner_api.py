"""What the partner API serves, and the rules around it (no request objects here).

A member is served only while partner_processing_clause() allows it (no restriction, no
objection, not anonymised); any other member looks exactly like one that does not exist.
Every answer with member data is logged in the transfer log (fields and member ids, never
values) by the caller through `record`.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import ApiClient, ApiIdempotencyKey, Member, Subscription, Visit
from app.services import api_clients, clock, transfers
from app.services import members as member_service
from app.services.privacy_requests import partner_processing_clause

MAX_LIMIT = 100
IDEMPOTENCY_HOURS = 24
# A gate that was offline may send older check-ins; much older or future ones are typing errors.
CHECKIN_MAX_AGE = timedelta(days=30)
CHECKIN_MAX_AHEAD = timedelta(minutes=5)
SUBSCRIPTION_FIELDS = ("subscriptions.plan", "subscriptions.starts_on", "subscriptions.ends_on", "subscriptions.status")
VISIT_FIELDS = ("visits.at", "visits.location")


class ApiProblem(Exception):  # noqa: N818 - it is an answer, an RFC 9457 problem
    """A refusal the API answers as a problem document: status, a stable code, a sentence."""

    def __init__(self, status: int, code: str, title: str, detail: str):
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail


def _columns(fields):
    return [getattr(Member, f) for f in fields]


def _row_dict(row, fields) -> dict:
    return {f: row[i + 1] for i, f in enumerate(fields)}


def members_page(client: ApiClient, *, limit: int, after_id: int = 0,
                 updated_since: datetime | None = None) -> tuple[list[dict], list[int], int | None]:
    """(member dicts with the client's fields only, their ids, the id to continue after or None)."""
    fields = api_clients.granted_fields(client)
    stmt = select(Member.id, *_columns(fields)).where(partner_processing_clause(), Member.id > after_id)
    if updated_since is not None:
        stmt = stmt.where(Member.updated_at >= updated_since)
    rows = db.session.execute(stmt.order_by(Member.id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    ids = [row[0] for row in rows]
    return [_row_dict(row, fields) for row in rows], ids, (ids[-1] if more else None)


def served_member_id(member_number) -> int | None:
    """The id of the member with this number if the API may serve it, else None (as if unknown)."""
    try:
        number = int(member_number)
    except (TypeError, ValueError):
        return None
    if not 0 < number <= member_service.MAX_MEMBER_NUMBER:
        return None
    return db.session.scalar(select(Member.id).where(Member.member_number == number, partner_processing_clause()))


def member(client: ApiClient, member_number) -> tuple[dict, int] | None:
    member_id = served_member_id(member_number)
    if member_id is None:
        return None
    fields = api_clients.granted_fields(client)
    row = db.session.execute(select(Member.id, *_columns(fields)).where(Member.id == member_id)).one()
    return _row_dict(row, fields), member_id


def subscriptions(member_id: int) -> list[dict]:
    rows = db.session.scalars(
        select(Subscription).where(Subscription.member_id == member_id).order_by(Subscription.starts_on.desc(),
                                                                                 Subscription.id.desc())
    )
    return [{"plan": s.plan.name, "starts_on": s.starts_on, "ends_on": s.ends_on, "status": s.status} for s in rows]


def visits(member_id: int, *, since: datetime | None, limit: int, after_id: int = 0) -> tuple[list[dict], int | None]:
    stmt = select(Visit).where(Visit.member_id == member_id, Visit.id > after_id)
    if since is not None:
        stmt = stmt.where(Visit.checked_in_at >= since)
    rows = list(db.session.scalars(stmt.order_by(Visit.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return ([{"at": v.checked_in_at, "location": v.location} for v in rows],
            rows[-1].id if more and rows else None)


def record(client: ApiClient, channel: str, fields, member_ids) -> None:
    """Log one answer with member data in the transfer log (recipient: the client's user id)."""
    transfers.record("api_client", str(client.user_id), client.name, channel, list(fields), member_ids)


# --- check-ins ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckIn:
    visit: Visit
    member_number: int
    replayed: bool


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def check_in(client: ApiClient, *, member_number: int, at: datetime | None, location: str | None,
             idempotency_key: str | None, source_ip: str | None = None) -> CheckIn:
    """Register a visit from a gate; a repeated Idempotency-Key within 24 hours returns the first."""
    now = clock.utcnow()
    key_row = None
    if idempotency_key:
        request_hash = _hash(f"{member_number}|{at.isoformat() if at else ''}|{location or ''}")
        key_hash = _hash(idempotency_key)
        existing = db.session.scalar(select(ApiIdempotencyKey).where(
            ApiIdempotencyKey.client_id == client.id, ApiIdempotencyKey.key_hash == key_hash))
        if existing is not None and existing.created_at > now - timedelta(hours=IDEMPOTENCY_HOURS):
            return _replay(existing, request_hash)
        if existing is not None:  # older than 24 hours: the key may be used again
            db.session.delete(existing)
            db.session.flush()
        key_row = ApiIdempotencyKey(client_id=client.id, key_hash=key_hash, request_hash=request_hash, created_at=now)
        try:
            # A parallel retry with the same key waits here for the first one's commit, then
            # fails on the unique key and answers with what the first one recorded.
            with db.session.begin_nested():
                db.session.add(key_row)
        except IntegrityError:
            existing = db.session.scalar(select(ApiIdempotencyKey).where(
                ApiIdempotencyKey.client_id == client.id, ApiIdempotencyKey.key_hash == key_hash))
            if existing is None:
                raise ApiProblem(409, "idempotency-key-in-use", "Idempotency key in use",
                                 "A request with this Idempotency-Key is still being handled; retry in a moment.") from None
            return _replay(existing, request_hash)
    if at is not None:
        if at > now + CHECKIN_MAX_AHEAD:
            raise ApiProblem(422, "checkin-in-future", "Check-in time in the future",
                             "The check-in time lies in the future; send the time of the visit (with its UTC offset).")
        if at < now - CHECKIN_MAX_AGE:
            raise ApiProblem(422, "checkin-too-old", "Check-in too old",
                             "Check-ins older than 30 days are not accepted; register them at the desk.")
    member_id = served_member_id(member_number)
    if member_id is None:
        if member_service.find_by_number(member_number) is not None:
            raise ApiProblem(422, "member-not-available", "Member not available",
                             "This member's data may not be processed through the API (restricted processing, "
                             "an objection, or an anonymised member). Register the visit at the desk.")
        raise ApiProblem(404, "member-not-found", "Member not found", "No member has this member number.")
    try:
        # No control characters (a NUL byte cannot be stored in PostgreSQL, nor shown).
        location = "".join(ch for ch in (location or "") if ch.isprintable()).strip()
        visit = member_service.check_in(member_number, actor=client.user, location=location,
                                        source="gate", source_ip=source_ip, at=at)
    except member_service.MemberError as error:
        problems = {
            "ended": (409, "membership-ended", "Membership ended", "This membership has ended; the member cannot check in."),
            "duplicate": (409, "duplicate-checkin", "Duplicate check-in",
                          "This member was checked in less than 5 minutes before or after this time already."),
        }
        status, code, title, detail = problems.get(error.code, (422, "checkin-refused", "Check-in refused",
                                                                "The check-in was refused."))
        raise ApiProblem(status, code, title, detail) from None
    if key_row is not None:
        key_row.visit_id = visit.id
        db.session.flush()
    return CheckIn(visit, int(member_number), replayed=False)


def _replay(existing: ApiIdempotencyKey, request_hash: str) -> CheckIn:
    if existing.request_hash != request_hash:
        raise ApiProblem(422, "idempotency-key-reused", "Idempotency key reused",
                         "This Idempotency-Key was used for a different check-in in the last 24 hours; "
                         "use a new key for a new check-in.")
    visit = db.session.get(Visit, existing.visit_id) if existing.visit_id else None
    if visit is None:
        raise ApiProblem(409, "idempotency-key-unusable", "Idempotency key unusable",
                         "The check-in this key recorded no longer exists; use a new key.")
    number = db.session.scalar(select(Member.member_number).where(Member.id == visit.member_id))
    return CheckIn(visit, number, replayed=True)
