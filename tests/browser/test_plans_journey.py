"""A manager adds a plan in a real browser; the front desk chooses it from the select; the dashboard counts it."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.models import Plan, Subscription

pytestmark = pytest.mark.browser


def test_a_plan_added_by_a_manager_is_chosen_at_the_desk(logged_in_page, base_url, make_user, make_member, db):
    member = make_member(first_name="Jörg", infix=None, last_name="Müller")
    manager = logged_in_page(make_user("manager"))
    manager.get_by_role("link", name="Plans").first.click()
    manager.get_by_role("link", name="New plan").click()
    manager.get_by_label("Name (Dutch)").fill("Groepslessen")
    manager.get_by_label("Name in English (where it differs)").fill("Group classes")
    manager.get_by_label("Group").fill("group_classes")
    manager.get_by_label("Price (EUR, per period)").fill("29,95")
    manager.get_by_role("button", name="Add plan").click()
    expect(manager.get_by_role("status")).to_contain_text("Plan Groepslessen has been added to the catalogue.")
    expect(manager.locator("table.plans")).to_contain_text("€ 29,95")
    plan = db.session.scalar(select(Plan))

    manager.get_by_role("button", name="Log out").click()
    desk = logged_in_page(make_user("front_desk"))
    desk.goto(f"{base_url}/members/{member.member_number}?tab=subscriptions")
    desk.get_by_label("Plan").select_option(label="Group classes (€ 29,95 per month)")
    desk.get_by_role("button", name="Add subscription").click()
    expect(desk.get_by_role("status")).to_contain_text("The subscription has been added.")
    expect(desk.locator("main table")).to_contain_text("Group classes")
    assert db.session.scalar(select(Subscription.plan_id)) == plan.id

    desk.get_by_role("button", name="Log out").click()
    manager = logged_in_page(make_user("manager"))
    panel = manager.locator("#panel-plans")
    expect(panel).to_contain_text("Group classes")
    panel.get_by_role("link", name="Group classes").click()
    expect(manager).to_have_url(re.compile(rf"/members\?plan={plan.id}$"))
    expect(manager.locator("table.members")).to_contain_text("Müller, Jörg")
