"""The front desk's daily journey in a real browser: log in, find a member, open the page, check in."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from app.models import Visit

pytestmark = pytest.mark.browser


def test_front_desk_finds_a_member_and_checks_them_in(logged_in_page, base_url, make_user, make_member, db):
    jorg = make_member(first_name="Jörg", infix=None, last_name="Müller", email="jorg@example.de", city="Utrecht")
    make_member(first_name="Anna", infix="van der", last_name="Berg")
    page = logged_in_page(make_user("front_desk"))
    expect(page.locator("#panel-members")).to_contain_text("Active members")

    page.get_by_role("link", name="Members").first.click()
    page.get_by_role("searchbox").fill("jorg muller")  # no accents typed
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_text("1 member found")).to_be_visible()
    expect(page.locator("table.members")).not_to_contain_text("Berg")

    page.get_by_role("link", name="Müller, Jörg").click()
    expect(page).to_have_url(re.compile(rf"/members/{jorg.member_number}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Jörg Müller")
    expect(page.locator("#contact-details")).to_contain_text("jorg@example.de")
    expect(page.locator("#finance-details")).to_have_count(0)  # front desk sees no IBAN

    page.locator("#member-actions").get_by_role("button", name="Check in").click()
    expect(page.get_by_role("status")).to_contain_text(f"Checked in: Jörg Müller ({jorg.member_number})")
    assert db.session.scalar(select(func.count()).select_from(Visit).where(Visit.member_id == jorg.id)) == 1

    page.get_by_role("link", name="Visits").click()
    expect(page.get_by_text("1 visit", exact=True)).to_be_visible()


def test_front_desk_registers_a_member_after_fixing_a_mistake(logged_in_page, base_url, make_user):
    page = logged_in_page(make_user("front_desk"))
    page.goto(f"{base_url}/members/new")
    page.get_by_label("First name").fill("Zoë")
    page.get_by_label("Infix (e.g. van der)").fill("de")
    page.get_by_label("Last name").fill("Vries")
    page.get_by_label("Email").fill("zoe@example.nl")
    page.get_by_label("Postcode").fill("123 AB")
    page.get_by_role("button", name="Register member").click()
    expect(page.get_by_text("A Dutch postcode has four digits and two letters, like 1234 AB.")).to_be_visible()
    expect(page.get_by_label("First name")).to_have_value("Zoë")  # nothing lost
    expect(page.get_by_label("Email")).to_have_value("zoe@example.nl")
    page.get_by_label("Postcode").fill("1234ab")
    page.get_by_role("button", name="Register member").click()
    expect(page.get_by_role("status")).to_contain_text("has been registered")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Zoë de Vries")
    expect(page.locator("#contact-details")).to_contain_text("1234 AB")
