"""The declarative due-rules: per category, which rows a policy makes due (SQL) and what keeps them."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, exists, false, func, not_, or_, select

from app.models import (
    ApiIdempotencyKey,
    AuditEvent,
    Consent,
    DataRequest,
    DataTransfer,
    DataTransferMember,
    HealthNote,
    Invoice,
    LegalHold,
    Member,
    MemberChange,
    OutboxEvent,
    RateLimitBucket,
    RetentionPolicy,
    StaffNote,
    Visit,
)
from app.models.member import ACTIVE, ENDED
from app.services import clock, fiscal, holds

_NO_ID = 2**62  # "no boundary" for the id-prefix comparisons of the audit log


# ---------------------------------------------------------------- what is due, set-based


def _months_back(today: date, months: int) -> date:
    """The last start date whose period has ended by `today`.

    add_months clamps to the month's end, so this may keep a row a day or two longer at
    month ends; it never lets a row go early.
    """
    return clock.add_months(today, -months)


def _end_of_day_utc(day: date) -> datetime:
    """The first moment after the club's local day `day`, as the naive UTC stored times use."""
    return clock.local_day_bounds(day)[1]


def _held():
    return holds.held_member_ids()


@dataclass(frozen=True)
class Rule:
    """How one category's due rows are found."""

    model: type
    due: Callable[[RetentionPolicy, date], object]  # SQL condition: the period has passed
    exempt: Callable[[], object] | None  # SQL condition: kept anyway (legal hold, open claim)
    member_numbers: Callable[[object], object] | None  # select of member numbers for a condition


def _member_numbers_via_member_id(model):
    def build(condition):
        return select(Member.member_number).where(Member.id.in_(select(model.member_id).where(condition)))

    return build


def _due_ended_memberships(policy, today):
    cutoff = _months_back(today, policy.period_months)
    return and_(Member.status == ENDED, Member.ended_on.is_not(None), Member.ended_on <= cutoff)


def _exempt_members():
    return or_(
        Member.id.in_(_held()),
        fiscal.has_open_invoice(Member.id),
        exists().where(DataRequest.member_id == Member.id, DataRequest.closed_at.is_(None)),
    )


def _due_visits(policy, today):
    return Visit.checked_in_at < _end_of_day_utc(_months_back(today, policy.period_months))


def _due_invoices(policy, today):
    return fiscal.expired_clause(today, policy.period_months)


def _due_by_membership_end(model):
    def due(policy, today):
        cutoff = _months_back(today, policy.period_months)
        # Correlated EXISTS: driven by the (usually small) child table, one primary-key probe per row.
        return exists().where(
            Member.id == model.member_id,
            Member.status != ACTIVE,
            Member.ended_on.is_not(None),
            Member.ended_on <= cutoff,
        )

    return due


def _due_staff_notes(policy, today):
    if policy.counted_from == "created":
        return StaffNote.created_at < _end_of_day_utc(_months_back(today, policy.period_months))
    return _due_by_membership_end(StaffNote)(policy, today)


def _due_closed_requests(policy, today):
    boundary = _end_of_day_utc(_months_back(today, policy.period_months))
    return and_(DataRequest.closed_at.is_not(None), DataRequest.closed_at < boundary)


def _due_withdrawn_consents(policy, today):
    boundary = _end_of_day_utc(_months_back(today, policy.period_months))
    return and_(Consent.withdrawn_at.is_not(None), Consent.withdrawn_at < boundary)


def _due_lifted_holds(policy, today):
    boundary = _end_of_day_utc(_months_back(today, policy.period_months))
    return and_(LegalHold.lifted_at.is_not(None), LegalHold.lifted_at < boundary)


def _due_audit_events(policy, today):
    """Old entries, but only as an unbroken prefix of the log (ids below the first newer entry).

    Deleting only the oldest entries keeps the hash chain of the rest intact: the first
    remaining entry's prev_hash is the anchor a verifier starts from.
    """
    boundary = _end_of_day_utc(_months_back(today, policy.period_months))
    newer = AuditEvent.__table__.alias("newer")
    first_newer = select(func.min(newer.c.id)).where(newer.c.occurred_at >= boundary).scalar_subquery()
    return and_(AuditEvent.occurred_at < boundary, AuditEvent.id < func.coalesce(first_newer, _NO_ID))


def _exempt_audit_events():
    """From the first entry about a member under a hold on, the log stays (a prefix again)."""
    held = AuditEvent.__table__.alias("held")
    held_numbers = select(Member.member_number).where(Member.id.in_(_held()))
    first_held = select(func.min(held.c.id)).where(held.c.member_number.in_(held_numbers)).scalar_subquery()
    return AuditEvent.id >= func.coalesce(first_held, _NO_ID)


def _due_rate_limits(policy, today):
    return RateLimitBucket.window_start < _end_of_day_utc(_months_back(today, policy.period_months))


def _due_by_time(column):
    def due(policy, today):
        return column < _end_of_day_utc(_months_back(today, policy.period_months))

    return due


def _transfer_member_numbers(condition):
    return select(Member.member_number).where(Member.id.in_(
        select(DataTransferMember.member_id).join(DataTransfer, DataTransfer.id == DataTransferMember.transfer_id)
        .where(condition)))


def _due_outbox(policy, today):
    boundary = _end_of_day_utc(_months_back(today, policy.period_months))
    return and_(OutboxEvent.state == "done", OutboxEvent.done_at.is_not(None), OutboxEvent.done_at < boundary)


def _exempt_by_member(model):
    return lambda: model.member_id.in_(_held())


RULES: dict[str, Rule] = {
    "ended_memberships": Rule(
        Member,
        _due_ended_memberships,
        _exempt_members,
        lambda condition: select(Member.member_number).where(condition),
    ),
    "visits": Rule(Visit, _due_visits, _exempt_by_member(Visit), _member_numbers_via_member_id(Visit)),
    "invoices": Rule(
        Invoice,
        _due_invoices,
        lambda: and_(Invoice.member_id.is_not(None), Invoice.member_id.in_(_held())),
        _member_numbers_via_member_id(Invoice),
    ),
    "health_notes": Rule(
        HealthNote,
        _due_by_membership_end(HealthNote),
        _exempt_by_member(HealthNote),
        _member_numbers_via_member_id(HealthNote),
    ),
    "staff_notes": Rule(StaffNote, _due_staff_notes, _exempt_by_member(StaffNote), _member_numbers_via_member_id(StaffNote)),
    "closed_requests": Rule(
        DataRequest,
        _due_closed_requests,
        lambda: and_(DataRequest.member_id.is_not(None), DataRequest.member_id.in_(_held())),
        lambda condition: select(DataRequest.member_number).where(condition, DataRequest.member_number.is_not(None)),
    ),
    "withdrawn_consents": Rule(
        Consent, _due_withdrawn_consents, _exempt_by_member(Consent), _member_numbers_via_member_id(Consent)
    ),
    # A lifted hold keeps nothing, but while the member has another active hold its history stays.
    "lifted_holds": Rule(
        LegalHold, _due_lifted_holds, _exempt_by_member(LegalHold), _member_numbers_via_member_id(LegalHold)
    ),
    "audit_events": Rule(
        AuditEvent,
        _due_audit_events,
        _exempt_audit_events,
        lambda condition: select(AuditEvent.member_number).where(condition, AuditEvent.member_number.is_not(None)),
    ),
    "rate_limits": Rule(RateLimitBucket, _due_rate_limits, None, None),
    "data_transfers": Rule(DataTransfer, _due_by_time(DataTransfer.at), None, _transfer_member_numbers),
    "api_changes": Rule(MemberChange, _due_by_time(MemberChange.at), None,
                        lambda condition: select(MemberChange.member_number).where(condition)),
    "api_idempotency_keys": Rule(ApiIdempotencyKey, _due_by_time(ApiIdempotencyKey.created_at), None, None),
    "connector_outbox": Rule(OutboxEvent, _due_outbox, None, None),
}


def due_condition(policy: RetentionPolicy, today: date):
    """SQL condition for the rows of the policy's category the sweep would process today."""
    rule = RULES[policy.category]
    if not policy.enabled:
        return false()
    condition = rule.due(policy, today)
    if rule.exempt is not None:
        condition = and_(condition, not_(rule.exempt()))
    return condition


def _held_back_condition(policy: RetentionPolicy, today: date):
    rule = RULES[policy.category]
    if not policy.enabled or rule.exempt is None:
        return false()
    return and_(rule.due(policy, today), rule.exempt())

