"""Legal holds: a dispute or claim that keeps a member's data out of the sweep and erasure.

The one home of "who is on hold": a hold is active until it is lifted (``ACTIVE``). The
erasure engine, the retention sweep and the pages ask through the functions below.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.extensions import db
from app.models import LegalHold, Member
from app.services import audit, clock
from app.services.errors import DomainError

REASON_MAX_LENGTH = 2000
CHUNK = 500

# An active hold: placed and not lifted.
ACTIVE = LegalHold.lifted_at.is_(None)


class HoldError(DomainError, ValueError):
    """A hold cannot be placed or lifted; str(error) is the translated message for the user."""


def active_holds(member: Member) -> list[LegalHold]:
    """The member's holds that have not been lifted, newest first."""
    return list(
        db.session.scalars(
            select(LegalHold)
            .where(LegalHold.member_id == member.id, ACTIVE)
            .order_by(LegalHold.placed_at.desc(), LegalHold.id.desc())
        )
    )


def count_active(member: Member) -> int:
    """How many active holds the member has (the erasure wizard's exceptions)."""
    return db.session.scalar(select(func.count()).select_from(LegalHold).where(LegalHold.member_id == member.id, ACTIVE)) or 0


def held_member_ids():
    """A subquery of the ids of members under an active hold, for set-based exemptions."""
    return select(LegalHold.member_id).where(ACTIVE)


def held_among(member_ids) -> set[int]:
    """The ids among member_ids that have an active legal hold (for callers that filter first)."""
    ids = list(member_ids)
    held: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        held.update(db.session.scalars(select(LegalHold.member_id).where(LegalHold.member_id.in_(chunk), ACTIVE)))
    return held


def held_member_numbers(member_ids) -> list[int]:
    """The member numbers of the members selected by member_ids (a select of ids) under an active hold."""
    return list(db.session.scalars(
        select(Member.member_number).join(LegalHold, LegalHold.member_id == Member.id)
        .where(Member.id.in_(member_ids), ACTIVE)
    ))


def all_active_holds() -> list[LegalHold]:
    """Every active hold with its member, oldest first (for the retention page)."""
    return list(
        db.session.scalars(
            select(LegalHold).where(ACTIVE).order_by(LegalHold.placed_at, LegalHold.id)
        )
    )


def place_hold(member: Member, reason: str, actor) -> LegalHold:
    """Put the member under a legal hold (flushed, audited; the caller commits)."""
    reason = (reason or "").strip()
    if not reason:
        raise HoldError(_l("Give the reason for the hold, e.g. the dispute or claim."))
    if len(reason) > REASON_MAX_LENGTH:
        raise HoldError(_l("The reason is too long."))
    from app.services.members import actions_for

    if actions_for(member, actor).refusals.get("place_hold"):
        raise HoldError(_l("This member has already been anonymised; there is nothing left to hold."))
    hold = LegalHold(member_id=member.id, reason=reason, placed_at=clock.utcnow(), placed_by_id=getattr(actor, "id", None))
    db.session.add(hold)
    db.session.flush()
    # The reason may name people or a case: it stays on the hold, not in the audit log.
    audit.record(
        "legal_hold.placed", actor, target_type="legal_hold", target_id=hold.id, member_number=member.member_number
    )
    return hold


def lift_hold(hold: LegalHold, actor) -> LegalHold:
    """Lift a hold (flushed, audited); the member is subject to the sweep again."""
    if hold.lifted_at is not None:
        raise HoldError(_l("This hold has already been lifted."))
    hold.lifted_at = clock.utcnow()
    hold.lifted_by_id = getattr(actor, "id", None)
    db.session.flush()
    member_number = db.session.scalar(select(Member.member_number).where(Member.id == hold.member_id))
    audit.record("legal_hold.lifted", actor, target_type="legal_hold", target_id=hold.id, member_number=member_number)
    return hold
