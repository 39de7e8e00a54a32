"""The vocabulary columns are guarded by the database itself (CHECK constraints, migration 0100_h12_a).

On SQLite the migration rebuilds the tables; these tests show that the rebuild keeps every row and
its children and that the member search (an FTS5 index kept by triggers on `members`) still
finds members afterwards, old and new.
"""

from datetime import date, datetime
from decimal import Decimal

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db as _db
from app.models import Consent, Member, Subscription, User, Visit
from app.services import members as member_service

BEFORE = "0100_h12_a-1"


def _declared_checks():
    return {table.name: {c.name for c in table.constraints if c.__class__.__name__ == "CheckConstraint"}
            for table in _db.metadata.sorted_tables}


def _database_checks():
    inspector = inspect(_db.engine)
    return {name: {c["name"] for c in inspector.get_check_constraints(name)} for name in _db.metadata.tables}


def test_the_database_holds_exactly_the_vocabulary_checks_the_models_declare(app):
    declared = _declared_checks()
    assert declared["members"] == {"ck_members_status"}
    assert _database_checks() == declared


def test_a_value_outside_the_vocabulary_is_refused_by_the_database(db, make_member):
    member = make_member()
    db.session.execute(_db.update(Member).where(Member.id == member.id).values(status="ended"))
    with pytest.raises(IntegrityError):
        db.session.execute(_db.update(Member).where(Member.id == member.id).values(status="gone"))
    db.session.rollback()
    assert db.session.get(Member, member.id).status == "active"


def _search(term):
    params = member_service.SearchParams(query=term, status="all")
    return [m.member_number for m in _db.session.scalars(member_service.search_statement(params, actor=None))]


@pytest.mark.slow
def test_the_rebuild_keeps_every_row_and_the_search(app, db, make_member, make_plan, make_user):
    plan = make_plan()
    staff_id = make_user("front_desk").id
    member = make_member(first_name="Wilhelmina", last_name="Zwanenburg")
    db.session.add_all([
        Subscription(member_id=member.id, plan_id=plan.id, starts_on=date(2026, 1, 1), monthly_fee=Decimal("30")),
        Visit(member_id=member.id, checked_in_at=datetime(2026, 11, 30, 9, 0)),
        Consent(member_id=member.id, purpose="photos"),
    ])
    db.session.commit()
    number = member.member_number
    db.session.remove()
    downgrade(revision=BEFORE)
    try:
        db.session.remove()
        upgrade()
        db.session.remove()
        kept = db.session.scalar(select(Member).where(Member.member_number == number))
        # Dropping the old table did not cascade to the member's children.
        assert (len(kept.subscriptions), len(kept.consents)) == (1, 1)
        assert db.session.scalar(select(_db.func.count()).select_from(Visit)) == 1
        assert [role.system_key for role in db.session.get(User, staff_id).roles] == ["front_desk"]
        assert _search("zwanenburg") == [number]
        # The triggers are back: a change and a new member reach the index.
        kept.last_name = "Kraanvogel"
        member_service.refresh_search_text(kept)
        newcomer = make_member(first_name="Gerrit", last_name="Zwanenburg")
        assert _search("kraanvogel") == [number]
        assert _search("zwanenburg") == [newcomer.member_number]
    finally:
        db.session.remove()
        upgrade()


def test_the_export_has_words_for_every_value_of_each_vocabulary():
    from app.models.member import CONSENT_PURPOSES, INVOICE_STATUSES, MEMBER_STATUSES, SUBSCRIPTION_STATUSES, VISIT_SOURCES
    from app.services.export.document import LABELS

    for key, vocabulary in (("member_status", MEMBER_STATUSES), ("subscription_status", SUBSCRIPTION_STATUSES),
                            ("invoice_status", INVOICE_STATUSES), ("visit_source", VISIT_SOURCES),
                            ("consent_purpose", CONSENT_PURPOSES)):
        assert set(LABELS[key]) == set(vocabulary), key
