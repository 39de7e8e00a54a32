"""Erased means closed: members.actions_for is the one place that says what may be done to a member."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.auth.permissions import CODES
from app.models import Consent, HealthNote, LegalHold, StaffNote, Subscription, Visit
from app.services import erasure, holds
from app.services import members as service
from app.services.members import ACTION_PERMISSIONS, MemberError


def _plan(db, name):
    """A catalogue plan (one per name)."""
    from app.models import Plan

    plan = db.session.scalar(db.select(Plan).where(Plan.name == name))
    if plan is None:
        plan = Plan(name=name, period="month", price=Decimal("39.50"), renews=True, active=True, plan_group="fitness")
        db.session.add(plan)
        db.session.flush()
    return plan


def _anonymised(db, make_member):
    member = make_member(first_name="Anna", last_name="Berg")
    db.session.add(Subscription(member_id=member.id, plan=_plan(db, "All-in"), starts_on=date(2020, 1, 1),
                                monthly_fee=Decimal("30"), status="active"))
    db.session.add(Consent(member_id=member.id, purpose="photos", given_via="desk"))
    db.session.commit()
    subscription_id = member.subscriptions[0].id
    erasure.erase_member(member, "anonymise", None)
    db.session.commit()
    db.session.expire_all()
    return service.find_by_number(member.member_number), subscription_id


ACTIONS = {
    "edit": lambda m, s, db: service.update_member(m, {"first_name": "Anna"}, actor=None),
    "end_membership": lambda m, s, db: service.end_membership(m, date.today(), actor=None),
    "add_note": lambda m, s, db: service.add_staff_note(m, "Anna Berg, knee surgery 2026", actor=None),
    "add_health_note": lambda m, s, db: service.add_health_note(m, "Anna Berg, knee surgery 2026", actor=None),
    "record_consent": lambda m, s, db: service.record_consent(m, "newsletter", actor=None),
    "withdraw_consent": lambda m, s, db: service.withdraw_consent(
        Consent(member=m, purpose="photos", given_via="desk"), actor=None),
    "add_subscription": lambda m, s, db: service.add_subscription(
        m, plan=_plan(db, "Basis"), starts_on=date(2026, 1, 1), monthly_fee=Decimal(20), actor=None),
    "end_subscription": lambda m, s, db: service.end_subscription(
        db.session.get(Subscription, s), date(2026, 1, 1), actor=None),
    "check_in": lambda m, s, db: service.check_in(m.member_number, actor=None),
}


def test_every_action_is_covered():
    # A hold, an export and a partner opt-out refuse an anonymised member in their own services and
    # views (holds.place_hold below, export/flow.py, integrations' opt_out); the rest are tested here.
    assert set(ACTIONS) | {"place_hold", "export", "opt_out"} == set(ACTION_PERMISSIONS)


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_a_service_refuses_each_action_on_an_anonymised_member(db, make_member, action):
    member, subscription_id = _anonymised(db, make_member)
    assert not service.actions_for(member).allows(action)
    before = {model: db.session.scalar(select(func.count()).select_from(model))
              for model in (StaffNote, HealthNote, Consent, Subscription, Visit)}
    with pytest.raises(MemberError) as refused:
        ACTIONS[action](member, subscription_id, db)
    assert refused.value.code == "anonymised"
    db.session.rollback()
    after = {model: db.session.scalar(select(func.count()).select_from(model))
             for model in (StaffNote, HealthNote, Consent, Subscription, Visit)}
    assert after == before


def test_no_legal_hold_on_an_anonymised_member(db, make_member):
    member, _subscription = _anonymised(db, make_member)
    assert not service.actions_for(member).place_hold
    with pytest.raises(holds.HoldError):
        holds.place_hold(member, "Dispute with Anna Berg", None)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(LegalHold)) == 0


def test_ended_and_active_members_allow_what_they_should(make_member, make_user):
    active = make_member()
    ended = make_member(status="ended", ended_on=date(2025, 1, 1))
    everything = service.actions_for(active)
    assert all(everything.allows(action) for action in ACTION_PERMISSIONS)
    closed = service.actions_for(ended)
    assert not closed.check_in and not closed.add_subscription and not closed.end_membership
    assert closed.add_note and closed.edit and closed.record_consent
    trainer = make_user("trainer")
    as_trainer = service.actions_for(active, trainer)
    assert as_trainer.add_health_note == trainer.has_permission("members.health")
    assert not as_trainer.place_hold


def test_the_member_page_shows_no_action_on_an_anonymised_member(client, db, login_as, make_user, make_member):
    member, _subscription = _anonymised(db, make_member)
    login_as(make_user(permissions=sorted(CODES)))
    number = member.member_number
    forms = ("/edit", "/end", "/subscriptions\"", "/consents\"", "/notes", "/health-notes", "/legal-hold", "members/checkin",
             "/withdraw")
    for tab in ("profile", "subscriptions", "consents", "notes", "health"):
        page = client.get(f"/members/{number}?tab={tab}").get_data(as_text=True)
        assert not [form for form in forms if f'{number}{form}' in page or (form == "members/checkin" and form in page)], tab
    # and posting anyway is refused with a message, nothing stored
    for path, data in ((f"/members/{number}/notes", {"body": "Anna Berg, knee surgery 2026"}),
                       (f"/members/{number}/health-notes", {"health-body": "Anna Berg, knee surgery 2026"})):
        response = client.post(path, data=data)
        assert response.status_code == 422
        assert "anonymised" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(StaffNote)) == 0
    assert db.session.scalar(select(func.count()).select_from(HealthNote)) == 0
