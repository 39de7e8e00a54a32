"""The catalogue rules: names unique as staff read them, sensible fields, retire/reactivate, labels, figures."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import AuditEvent, Plan, Subscription
from app.services import plans
from app.services.plans import PlanError

BASE = {"name": "Fitness Onbeperkt", "name_en": "Fitness Unlimited", "period": "month", "price": "34.95",
        "renews": True, "plan_group": "fitness", "egym_membership_type": "PREMIUM"}


@pytest.fixture
def manager(make_user):
    return make_user("manager")


def test_create_tidies_the_fields_and_audits_without_names(db, manager):
    plan = plans.create_plan({**BASE, "name": "  Fitness   Onbeperkt ", "plan_group": "Group classes"}, actor=manager)
    db.session.commit()
    assert (plan.name, plan.name_en, plan.price, plan.active) == ("Fitness Onbeperkt", "Fitness Unlimited",
                                                                 Decimal("34.95"), True)
    assert plan.plan_group == "group_classes"  # the known group, typed as its label
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "plan.create"))
    assert event.target_id == str(plan.id)
    assert "Onbeperkt" not in (event.details or "")


@pytest.mark.parametrize("typed", ["fitness onbeperkt", "FITNESS  ONBEPERKT ", "Fitness Unlimited"])
def test_a_name_is_unique_after_trimming_and_case_folding(db, manager, typed):
    plans.create_plan(BASE, actor=manager)
    with pytest.raises(PlanError) as refused:
        plans.create_plan({**BASE, "name": typed, "name_en": None}, actor=manager)
    assert "already has a plan named" in str(refused.value)
    assert refused.value.field == "name"


def test_a_retired_namesake_is_named_in_the_refusal(db, manager):
    plan = plans.create_plan(BASE, actor=manager)
    plans.retire_plan(plan, actor=manager)
    with pytest.raises(PlanError, match="reactivate it instead"):
        plans.create_plan({**BASE, "name_en": None}, actor=manager)


def test_the_english_name_is_kept_only_where_it_differs(db, manager):
    plan = plans.create_plan({**BASE, "name": "Student", "name_en": " student "}, actor=manager)
    assert plan.name_en is None
    assert plans.plan_label(plan, "en") == plans.plan_label(plan, "nl") == "Student"
    other = plans.create_plan(BASE, actor=manager)
    assert plans.plan_label(other, "en") == "Fitness Unlimited"
    assert plans.plan_label(other, "nl") == "Fitness Onbeperkt"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("name", "  ", "A plan needs a name."),
    ("name", "x" * 81, "at most 80 characters"),
    ("period", "fortnight", "Choose a period from the list."),
    ("price", "-1", "between 0 and 100,000"),
    ("price", "NaN", "between 0 and 100,000"),
    ("price", "abc", "for example 34.95"),
    ("plan_group", "", "Choose or type a group"),
    ("egym_membership_type", "GOLD", "eGym membership type"),
])
def test_bad_fields_are_refused_with_a_message_naming_the_field(db, manager, field, value, message):
    with pytest.raises(PlanError, match=message) as refused:
        plans.create_plan({**BASE, field: value}, actor=manager)
    assert refused.value.field == field
    assert db.session.scalar(select(Plan)) is None


def test_a_lifetime_plan_cannot_renew(db, manager):
    with pytest.raises(PlanError, match="cannot renew"):
        plans.create_plan({**BASE, "period": "lifetime", "renews": True}, actor=manager)
    assert plans.create_plan({**BASE, "period": "lifetime", "renews": False}, actor=manager).renews is False


def test_update_reports_changed_fields_and_keeps_the_fees_of_existing_subscriptions(db, manager, make_member):
    plan = plans.create_plan(BASE, actor=manager)
    member = make_member()
    db.session.add(Subscription(member_id=member.id, plan=plan, starts_on=date(2026, 1, 1),
                                monthly_fee=Decimal("34.95"), status="active"))
    db.session.commit()
    assert plans.update_plan(plan, {**BASE, "price": "39.95", "egym_membership_type": ""}, actor=manager) == [
        "price", "egym_membership_type"]
    assert plans.update_plan(plan, {**BASE, "price": "39.95", "egym_membership_type": ""}, actor=manager) == []
    assert db.session.scalar(select(Subscription.monthly_fee)) == Decimal("34.95")
    # Renaming to its own name in other capitals is not a clash with itself.
    assert plans.update_plan(plan, {**BASE, "name": "FITNESS ONBEPERKT", "price": "39.95",
                                    "egym_membership_type": ""}, actor=manager) == ["name"]


def test_retire_and_reactivate(db, manager, make_member):
    plan = plans.create_plan(BASE, actor=manager)
    member = make_member()
    db.session.add(Subscription(member_id=member.id, plan=plan, starts_on=date(2026, 1, 1),
                                monthly_fee=Decimal("34.95"), status="active"))
    db.session.flush()
    assert plans.retire_plan(plan, actor=manager) == 1  # one active subscription keeps it
    assert plans.active_plans() == []
    with pytest.raises(PlanError, match="already been retired"):
        plans.retire_plan(plan, actor=manager)
    plans.reactivate_plan(plan, actor=manager)
    assert plans.active_plans() == [plan]
    with pytest.raises(PlanError, match="already offered"):
        plans.reactivate_plan(plan, actor=manager)
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "plan")
                                 .order_by(AuditEvent.id)).all()
    assert actions == ["plan.create", "plan.retire", "plan.reactivate"]


def test_counts_per_plan_active_and_ended(db, manager, make_member, frozen_clock):
    frozen_clock(date(2026, 6, 1))
    basis = plans.create_plan({**BASE, "name": "Basis", "name_en": None}, actor=manager)
    swim = plans.create_plan({**BASE, "name": "Zwemmen", "name_en": "Swimming", "plan_group": "swimming"},
                             actor=manager)
    unused = plans.create_plan({**BASE, "name": "Daluren", "name_en": None}, actor=manager)
    anna, bert = make_member(), make_member()
    db.session.add_all([
        Subscription(member_id=anna.id, plan=basis, starts_on=date(2025, 1, 1), monthly_fee=1, status="active"),
        Subscription(member_id=bert.id, plan=basis, starts_on=date(2025, 1, 1), monthly_fee=1, status="active"),
        # Still marked active, but its end date has passed: not counted as active.
        Subscription(member_id=bert.id, plan=swim, starts_on=date(2025, 1, 1), ends_on=date(2026, 5, 1),
                     monthly_fee=1, status="active"),
        Subscription(member_id=anna.id, plan=swim, starts_on=date(2024, 1, 1), ends_on=date(2024, 12, 31),
                     monthly_fee=1, status="ended"),
    ])
    db.session.commit()
    counts = {c.plan.name: (c.active, c.ended) for c in plans.subscription_counts()}
    assert counts == {"Basis": (2, 0), "Zwemmen": (0, 2), "Daluren": (0, 0)}
    assert [(c.plan.name, c.active) for c in plans.active_counts()] == [("Basis", 2)]
    assert unused in plans.active_plans()


def test_labels_and_monthly_prices(app, db, manager):
    plan = plans.create_plan({**BASE, "period": "quarter", "price": "90.00", "plan_group": "padel"}, actor=manager)
    assert plans.monthly_price(plan) == Decimal("30.00")
    assert plans.group_label("padel") == "padel"  # a club's own group, as written
    with app.test_request_context():
        assert plans.group_label("swimming") == "Swimming"
        assert plans.period_label("ten_ride") == "ten-ride card"
    card = plans.create_plan({**BASE, "name": "Tienrittenkaart", "name_en": None, "period": "ten_ride"},
                             actor=manager)
    assert plans.monthly_price(card) is None


def test_ensure_plans_finds_by_folded_name(db):
    first = plans.ensure_plans([{"name": "Basis", "period": "month", "price": Decimal(20), "plan_group": "fitness"}])
    again = plans.ensure_plans([{"name": "BASIS ", "period": "month", "price": Decimal(20), "plan_group": "fitness"}])
    assert first["Basis"] is again["BASIS "]
    assert db.session.scalar(select(Plan).where(Plan.name == "Basis")) is not None


def test_merge_refuses_itself_and_a_retired_target(db, manager):
    premium = plans.create_plan({**BASE, "name": "Premium", "name_en": None}, actor=manager)
    variant = plans.create_plan({**BASE, "name": "Prem.", "name_en": None}, actor=manager)
    with pytest.raises(PlanError, match="another plan"):
        plans.merge_plan(variant, variant, actor=manager)
    plans.retire_plan(premium, actor=manager)
    with pytest.raises(PlanError, match="Reactivate Premium first"):
        plans.merge_plan(variant, premium, actor=manager)
    plans.reactivate_plan(premium, actor=manager)
    assert plans.merge_plan(variant, premium, actor=manager) == 0
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "plan.merge"))
    assert event.target_id == str(premium.id) and str(variant.id) in event.details
