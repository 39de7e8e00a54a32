"""The catalogue pages, the subscription form's choice of plans, the dashboard panel and the plan filter."""

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.models import Plan, Subscription


def _page(response) -> str:
    return response.get_data(as_text=True)


NEW = {"name": "Groepslessen", "name_en": "Group classes", "plan_group": "group_classes", "period": "month",
       "price": "29,95", "renews": "y", "egym_membership_type": ""}


@pytest.mark.parametrize(("role", "allowed"), [("manager", True), ("administrator", True), ("front_desk", False),
                                               ("trainer", False), ("finance", False), ("privacy_officer", False)])
def test_only_roles_with_plans_manage_reach_the_catalogue(client, make_user, login_as, role, allowed):
    login_as(make_user(role))
    assert client.get("/plans").status_code == (200 if allowed else 403)
    assert client.post("/plans/new", data=NEW).status_code in ((302,) if allowed else (403,))
    assert ("/plans\"" in _page(client.get("/"))) is allowed  # the menu link


def test_a_manager_adds_edits_retires_and_reactivates_a_plan(client, make_user, login_as, db):
    login_as(make_user("manager"))
    assert client.post("/plans/new", data={**NEW, "price": "29.95"}).status_code == 302
    plan = db.session.scalar(select(Plan))
    assert (plan.name, plan.name_en, plan.price, plan.renews) == ("Groepslessen", "Group classes", Decimal("29.95"), True)
    listing = _page(client.get("/plans"))
    assert "Groepslessen" in listing and "Group classes" in listing and "€ 29,95" in listing

    again = client.post("/plans/new", data={**NEW, "name": " groepslessen ", "price": "10"})
    assert again.status_code == 422
    assert "The catalogue already has a plan named groepslessen." in _page(again)
    assert 'value=" groepslessen "' in _page(again) or 'value="groepslessen"' in _page(again)  # nothing lost
    assert db.session.scalar(select(func.count()).select_from(Plan)) == 1

    form = _page(client.get(f"/plans/{plan.id}/edit"))
    assert 'value="Groepslessen"' in form
    edited = client.post(f"/plans/{plan.id}/edit", data={**NEW, "price": "31.50", "egym_membership_type": "BASIC"})
    assert edited.status_code == 302
    db.session.refresh(plan)
    assert (plan.price, plan.egym_membership_type) == (Decimal("31.50"), "BASIC")

    retired = client.post(f"/plans/{plan.id}/retire", follow_redirects=True)
    assert "has been retired" in _page(retired)
    db.session.refresh(plan)
    assert plan.active is False
    assert "has already been retired" in _page(client.post(f"/plans/{plan.id}/retire", follow_redirects=True))
    client.post(f"/plans/{plan.id}/reactivate")
    db.session.refresh(plan)
    assert plan.active is True


def test_bad_plan_input_is_shown_next_to_the_field(client, make_user, login_as, db):
    login_as(make_user("manager"))
    response = client.post("/plans/new", data={**NEW, "period": "lifetime", "renews": "y"})
    assert response.status_code == 422
    assert "A plan bought once for life cannot renew." in _page(response)
    response = client.post("/plans/new", data={**NEW, "price": "-5"})
    assert response.status_code == 422 and "Enter a price between 0 and 100,000 euros." in _page(response)
    assert db.session.scalar(select(Plan)) is None
    assert client.get("/plans/999999/edit").status_code == 404


def test_the_subscription_form_offers_active_plans_only_and_keeps_retired_ones_visible(
        client, make_user, login_as, make_member, make_plan, db, frozen_clock):
    frozen_clock(date(2026, 6, 1))
    offered = make_plan("Fitness Onbeperkt", price=Decimal("34.95"))
    old = make_plan("Oud tarief", price=Decimal("20.00"))
    member = make_member()
    db.session.add(Subscription(member_id=member.id, plan=old, starts_on=date(2025, 1, 1),
                                monthly_fee=Decimal("20.00"), status="active"))
    old.active = False
    db.session.commit()
    login_as(make_user("front_desk"))
    page = _page(client.get(f"/members/{member.member_number}?tab=subscriptions"))
    select_html = re.search(r'<select[^>]*name="plan_id".*?</select>', page, re.S).group(0)
    assert "Fitness Onbeperkt (€ 34,95 per month)" in select_html
    assert "Oud tarief" not in select_html
    assert re.search(r"Oud tarief\s*<span class=\"badge\">retired</span>", page)  # still on the subscription

    refused = client.post(f"/members/{member.member_number}/subscriptions",
                          data={"plan_id": str(old.id), "starts_on": "2026-06-01"})
    assert refused.status_code == 422 and "Choose a plan from the catalogue." in _page(refused)
    # No fee typed: the plan's price per month.
    ok = client.post(f"/members/{member.member_number}/subscriptions",
                     data={"plan_id": str(offered.id), "starts_on": "2026-06-01", "monthly_fee": ""})
    assert ok.status_code == 302
    subscription = db.session.scalar(select(Subscription).where(Subscription.plan_id == offered.id))
    assert subscription.monthly_fee == Decimal("34.95")


def test_a_plan_not_paid_per_month_needs_a_fee(client, make_user, login_as, make_member, make_plan, db):
    card = make_plan("Zwemmen 10-rittenkaart", period="ten_ride", renews=False, price=Decimal("45"))
    member = make_member()
    login_as(make_user("front_desk"))
    url = f"/members/{member.member_number}/subscriptions"
    refused = client.post(url, data={"plan_id": str(card.id), "starts_on": "2026-06-01"})
    assert refused.status_code == 422 and "This plan is not paid per month" in _page(refused)
    assert client.post(url, data={"plan_id": str(card.id), "starts_on": "2026-06-01", "monthly_fee": "0"}).status_code == 302


def test_without_plans_the_form_says_where_they_come_from(client, make_user, login_as, make_member):
    member = make_member()
    login_as(make_user("front_desk"))
    page = _page(client.get(f"/members/{member.member_number}?tab=subscriptions"))
    assert "The plan catalogue has no active plans yet." in page and "A manager adds them." in page
    login_as(make_user("manager"))
    assert 'href="/plans/new"' in _page(client.get(f"/members/{member.member_number}?tab=subscriptions"))


def test_dashboard_counts_per_plan_link_to_the_filtered_member_list(
        client, make_user, login_as, make_member, make_plan, db, frozen_clock):
    frozen_clock(date(2026, 6, 1))
    basis, swim = make_plan("Basis"), make_plan("Zwemmen", name_en="Swimming")
    anna = make_member(first_name="Anna", last_name="Jansen")
    bert = make_member(first_name="Bert", last_name="Visser")
    carla = make_member(first_name="Carla", last_name="Smit")
    db.session.add_all([
        Subscription(member_id=anna.id, plan=basis, starts_on=date(2025, 1, 1), monthly_fee=1, status="active"),
        Subscription(member_id=bert.id, plan=basis, starts_on=date(2025, 1, 1), monthly_fee=1, status="active"),
        Subscription(member_id=carla.id, plan=swim, starts_on=date(2025, 1, 1), monthly_fee=1, status="active"),
        Subscription(member_id=carla.id, plan=basis, starts_on=date(2024, 1, 1), ends_on=date(2024, 12, 31),
                     monthly_fee=1, status="ended"),
    ])
    db.session.commit()
    login_as(make_user("manager"))
    panel = re.search(r'<section class="card" id="panel-plans">.*?</section>', _page(client.get("/")), re.S).group(0)
    rows = re.findall(r'<a href="/members\?plan=(\d+)">([^<]+)</a>.*?<td class="num"><a href="/members\?plan=\1">(\d+)</a></td>',
                      panel, re.S)
    assert rows == [(str(basis.id), "Basis", "2"), (str(swim.id), "Swimming", "1")]

    listing = _page(client.get(f"/members?plan={basis.id}"))
    assert "Jansen, Anna" in listing and "Visser, Bert" in listing and "Smit, Carla" not in listing
    assert "Plan: Basis" in listing
    everyone = _page(client.get(f"/members?plan={basis.id}&status=all"))
    assert "Smit, Carla" in everyone  # had it once
    assert "Jansen, Anna" in _page(client.get("/members?plan=abc"))  # an unusable filter is no filter
    assert client.get(f"/members?plan={2**70}").status_code == 200

    login_as(make_user("front_desk"))
    assert 'id="panel-plans"' not in _page(client.get("/"))


def test_spelling_variants_are_merged_into_one_plan(client, make_user, login_as, make_member, make_plan, db):
    premium, variant = make_plan("Premium"), make_plan("Prem.")
    other = make_member()
    db.session.add_all([
        Subscription(member_id=other.id, plan=variant, starts_on=date(2025, 1, 1), monthly_fee=Decimal("39.95"),
                     status="active"),
        Subscription(member_id=other.id, plan=premium, starts_on=date(2024, 1, 1), monthly_fee=Decimal("35"),
                     status="ended", ends_on=date(2024, 12, 31)),
    ])
    db.session.commit()
    login_as(make_user("manager"))
    form = _page(client.get(f"/plans/{variant.id}/edit"))
    assert 'id="merge"' in form and f'<option value="{premium.id}">Premium</option>' in form
    assert client.post(f"/plans/{variant.id}/merge", data={"into": "abc"}).status_code == 422
    assert client.post(f"/plans/{variant.id}/merge", data={"into": str(variant.id)}).status_code == 422
    done = client.post(f"/plans/{variant.id}/merge", data={"into": str(premium.id)}, follow_redirects=True)
    assert "1 subscription moved from Prem. to Premium; Prem. has been retired." in _page(done)
    assert set(db.session.scalars(select(Subscription.plan_id))) == {premium.id}
    assert db.session.scalar(select(Subscription.monthly_fee).where(Subscription.status == "active")) == Decimal("39.95")
    db.session.refresh(variant)
    assert variant.active is False
