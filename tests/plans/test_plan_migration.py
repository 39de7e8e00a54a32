"""The migration turns free-text plans into catalogue entries, on a database that holds data (SQLite and PostgreSQL).

The test database is taken back to the revision before 0063_plans (whatever precedes it once
the migrations are re-chained), filled the way the old code filled it, and upgraded again.
"""

from datetime import date, datetime
from decimal import Decimal

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import MetaData, select, text

from app.extensions import db as _db

BEFORE = "0063_plans-1"

# (free text as typed, monthly fee): "Premium", "premium " and " PREMIUM" are one plan; "Prem." is another.
TYPED = [
    ("Premium", "39.95"), ("premium ", "39.95"), (" PREMIUM", "35.00"), ("Premium", "39.95"), ("Prem.", "39.95"),
    ("Fitness  Onbeperkt", "34.95"), ("fitness onbeperkt", "34.95"), ("Zwemmen", "19.50"),
    ("Sportpakket " + "x" * 80, "10.00"), ("Sportpakket " + "x" * 85, "12.00"),
]


@pytest.fixture
def old_schema(app, db):
    """The schema as it was before plans, with the old code's rows; the schema at head again afterwards."""
    db.session.commit()
    db.session.remove()
    downgrade(revision=BEFORE)
    try:
        yield
    finally:
        db.session.remove()
        upgrade()


def test_free_text_plans_become_one_entry_per_folded_text(app, db, old_schema):
    engine = _db.engine
    old = MetaData()
    old.reflect(bind=engine, only=["members", "subscriptions", "roles", "role_permissions"])
    members, subscriptions = old.tables["members"], old.tables["subscriptions"]
    roles, grants = old.tables["roles"], old.tables["role_permissions"]
    now = datetime(2026, 1, 1, 12, 0)
    with engine.begin() as conn:
        for n, (typed, fee) in enumerate(TYPED):
            member_id = conn.execute(members.insert().values(
                member_number=5000 + n, first_name="Anna", last_name=f"Lid{n}", country="NL",
                joined_on=date(2025, 1, 1), status="active", processing_restricted=False, search_text="",
                created_at=now, updated_at=now)).inserted_primary_key[0]
            conn.execute(subscriptions.insert().values(
                member_id=member_id, plan=typed, starts_on=date(2025, 1, 1), monthly_fee=Decimal(fee),
                status="active", created_at=now))
        for key, name in (("manager", "Manager"), ("front_desk", "Front desk"), ("administrator", "Administrator")):
            role_id = conn.execute(roles.insert().values(name=name, description="", system_key=key,
                                                         requires_2fa=False, created_at=now)).inserted_primary_key[0]
            conn.execute(grants.insert().values(role_id=role_id, code="members.view"))

    upgrade()

    with engine.connect() as conn:
        plans = {row.id: row for row in conn.execute(text("SELECT * FROM plans"))}
        by_name = {row.name: row for row in plans.values()}
        # Two texts equal in their first 80 characters stay two entries.
        assert set(by_name) == {"Fitness Onbeperkt", "Prem.", "Premium", "Sportpakket " + "x" * 68,
                                "Sportpakket " + "x" * 64 + " (2)", "Zwemmen"}
        premium = by_name["Premium"]
        assert Decimal(str(premium.price)) == Decimal("39.95")  # the most frequent fee
        assert (premium.period, premium.plan_group, bool(premium.renews), bool(premium.active)) == (
            "month", "other", True, True)
        pointed = conn.execute(text(
            "SELECT m.last_name, s.plan_id FROM subscriptions s JOIN members m ON m.id = s.member_id")).all()
        plan_of = {last: plans[plan_id].name for last, plan_id in pointed}
        assert [plan_of[f"Lid{n}"] for n in range(5)] == ["Premium"] * 4 + ["Prem."]
        assert plan_of["Lid5"] == plan_of["Lid6"] == "Fitness Onbeperkt"
        assert all(len(row.name) <= 80 for row in plans.values())
        granted = set(conn.execute(text(
            "SELECT r.system_key FROM role_permissions g JOIN roles r ON r.id = g.role_id "
            "WHERE g.code = 'plans.manage'")).scalars())
        assert granted == {"manager", "administrator"}
        columns = set(conn.execute(text("SELECT * FROM subscriptions")).keys())
        assert "plan" not in columns and "plan_id" in columns


def test_downgrade_puts_the_names_back(app, db, make_member, make_plan):
    from app.models import Subscription

    member = make_member()
    db.session.add(Subscription(member_id=member.id, plan=make_plan("Groepslessen"), starts_on=date(2025, 1, 1),
                                monthly_fee=Decimal("29.95"), status="active"))
    db.session.commit()
    db.session.remove()
    downgrade(revision=BEFORE)
    try:
        with _db.engine.connect() as conn:
            assert conn.execute(select(text("plan")).select_from(text("subscriptions"))).scalars().all() == [
                "Groepslessen"]
    finally:
        upgrade()
