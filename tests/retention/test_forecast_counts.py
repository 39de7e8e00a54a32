"""The forecast's counts come from one statement and equal the per-policy conditions the sweep uses."""

from datetime import date, datetime, timedelta

from sqlalchemy import event, func, select

from app.extensions import db as _db
from app.models import Consent, LegalHold, Visit
from app.services import clock, retention
from app.services.retention import rules


def _slow_counts(today, later):
    """The definition: COUNT of due_condition (today, later) and of the held-back condition, per policy."""
    result = {}
    for policy in retention.policies():
        model = retention.RULES[policy.category].model

        def count(condition, model=model):
            return _db.session.scalar(select(func.count()).select_from(model).where(condition)) or 0

        due = count(retention.due_condition(policy, today))
        result[policy.category] = (due, count(rules._held_back_condition(policy, today)),
                                   count(retention.due_condition(policy, later)))
    return result


def test_one_statement_gives_the_same_counts_as_each_condition(db, policies, make_member):
    today = clock.today()
    old = datetime.combine(today - timedelta(days=3 * 365), datetime.min.time())
    soon = datetime.combine(clock.add_months(today, -24) + timedelta(days=10), datetime.min.time())
    free = make_member(status="ended", ended_on=date(today.year - 4, 1, 31))
    held = make_member(status="ended", ended_on=date(today.year - 4, 1, 31))
    active = make_member()
    for member in (free, held, active):
        db.session.add_all([Visit(member_id=member.id, checked_in_at=old + timedelta(hours=i)) for i in range(3)])
        db.session.add(Visit(member_id=member.id, checked_in_at=soon))
        db.session.add(Consent(member_id=member.id, purpose="photos", given_at=old, given_via="desk",
                               withdrawn_at=old + timedelta(days=1), withdrawn_via="email"))
    db.session.add(LegalHold(member_id=held.id, reason="dispute"))
    policies["staff_notes"].enabled = False
    db.session.commit()
    later = today + timedelta(days=retention.HORIZON_DAYS)

    known = retention.policies()
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        fast = retention.forecast_counts(known, today, later)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)

    assert len(statements) == 1
    assert fast == _slow_counts(today, later)
    # Not all zeros: the data exercises due, held back and due-soon rows.
    assert fast["visits"] == (6, 3, 8)
    assert fast["ended_memberships"][:2] == (1, 1)
    assert fast["withdrawn_consents"] == (2, 1, 2)
    assert fast["staff_notes"] == (0, 0, 0)
