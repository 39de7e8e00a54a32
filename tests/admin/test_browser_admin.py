"""Browser journey: an administrator creates an employee, who logs in and must pick a password."""

import os

import pytest
from playwright.sync_api import expect

SHOTS = os.environ.get("CLUBHOUSE_SCREENSHOTS")  # set to a folder to keep screenshots for review


def _shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


@pytest.mark.browser
def test_new_employee_journey(page, base_url, logged_in_page, make_user):
    admin = make_user("administrator", username="boss")
    logged_in_page(admin)
    page.goto(f"{base_url}/admin/roles")
    page.get_by_role("link", name="Privacy officer").click()
    expect(page.get_by_text("Carry out erasures (delete or anonymise)")).to_be_visible()
    _shot(page, "role-edit")

    page.goto(f"{base_url}/admin/audit")
    page.get_by_label("Action").select_option("login.succeeded")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("1 event found.")).to_be_visible()
    expect(page.locator("td[title='login.succeeded']", has_text="Logged in")).to_have_count(1)
    _shot(page, "audit")

    page.goto(f"{base_url}/admin/users/new")
    page.get_by_label("Name", exact=True).fill("Fleur Balie")
    page.get_by_label("Username", exact=True).fill("fleur")
    page.get_by_label("Front desk").check()
    page.get_by_label("Temporary password").fill("short")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_text("at least 12 characters")).to_be_visible()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Fleur Balie")
    _shot(page, "user-new-error")
    page.get_by_label("Temporary password").fill("Tulip-window-bicycle-7")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_text("User fleur created.")).to_be_visible()
    _shot(page, "user-edit")
    page.get_by_role("button", name="Log out").click()

    page.get_by_label("Username", exact=True).fill("fleur")
    page.get_by_label("Password").fill("Tulip-window-bicycle-7")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base_url}/account/password")
    _shot(page, "forced-change")
    page.get_by_label("Current password").fill("Tulip-window-bicycle-7")
    page.get_by_label("New password", exact=True).fill("Fresh-river-stone-42")
    page.get_by_label("New password again").fill("Fresh-river-stone-42")
    page.get_by_role("button", name="Change password").click()
    expect(page).to_have_url(f"{base_url}/")
    expect(page.get_by_text("Your password has been changed.")).to_be_visible()

    page.goto(f"{base_url}/account/two-factor")
    page.get_by_role("button", name="Set up two-factor login").click()
    expect(page.locator("code.secret")).to_be_visible()
    _shot(page, "two-factor")

    # A front-desk employee has no way into user administration.
    expect(page.get_by_role("link", name="Users")).to_have_count(0)
    assert page.request.get(f"{base_url}/admin/users").status == 403
