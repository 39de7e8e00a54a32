"""Accessibility basics in a real browser: the current page in the menu, a skip link, the cursor on the
first field in error, check boxes large enough to hit, no favicon 404, and pages that print cleanly."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_menu_marks_the_current_page_and_a_skip_link_leads_to_the_content(logged_in_page, base_url, make_user):
    page = logged_in_page(make_user("front_desk"))
    page.goto(f"{base_url}/members")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Members")).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("link", name="Dashboard")).not_to_have_attribute("aria-current", "page")
    page.goto(f"{base_url}/members/new")  # a page under Members still marks Members
    expect(nav.get_by_role("link", name="Members")).to_have_attribute("aria-current", "page")

    page.keyboard.press("Tab")  # the first stop on every page is the skip link
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    skip.press("Enter")
    expect(page.locator("main#content")).to_be_focused()


def test_the_cursor_lands_in_the_first_field_in_error(logged_in_page, base_url, make_user):
    page = logged_in_page(make_user("front_desk"))
    page.goto(f"{base_url}/members/new")
    page.get_by_label("First name").fill("Zoë")
    page.get_by_label("Last name").fill("Vries")
    page.get_by_label("Postcode").fill("123 AB")
    page.get_by_role("button", name="Register member").click()
    expect(page.get_by_text("A Dutch postcode has four digits and two letters, like 1234 AB.")).to_be_visible()
    expect(page.get_by_label("Postcode")).to_be_focused()


def test_check_boxes_are_large_and_no_request_ends_in_404(logged_in_page, base_url, make_user, page):
    missing = []
    page.on("response", lambda response: missing.append(response.url) if response.status == 404 else None)
    logged_in_page(make_user("front_desk"))
    page.goto(f"{base_url}/request")
    box = page.get_by_label("Erasure", exact=True).bounding_box()
    assert box["width"] >= 20 and box["height"] >= 20, box
    page.goto(f"{base_url}/members")
    assert missing == []


def test_a_member_page_prints_without_menu_or_forms(logged_in_page, base_url, make_user, make_member):
    member = make_member(first_name="Jörg", infix=None, last_name="Müller")
    page = logged_in_page(make_user("front_desk"))
    page.goto(f"{base_url}/members/{member.member_number}")
    page.emulate_media(media="print")
    expect(page.locator("header.topbar")).to_be_hidden()
    expect(page.locator("#member-actions")).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Jörg Müller")
    visible_forms = page.evaluate(
        "[...document.querySelectorAll('main form')].filter(f => getComputedStyle(f).display !== 'none').length")
    assert visible_forms == 0
