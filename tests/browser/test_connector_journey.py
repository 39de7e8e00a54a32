"""eGym in a real browser: the settings page with its connection test, a full sync, the overview and the member page."""

import pytest
from playwright.sync_api import expect

from app.services.connectors import delivery
from tests.integrations.conftest import KEY, egym, egym_member  # noqa: F401 - fixtures
from tests.integrations.conftest import short_retries as _short_retries  # noqa: F401 - fixture

pytestmark = pytest.mark.browser


# The connector fixtures come from tests/integrations/conftest.py (imported above), hence F811.
def test_manager_sets_up_egym_syncs_and_sees_what_was_sent(logged_in_page, base_url, db, make_user, egym,  # noqa: F811
                                                             egym_member):  # noqa: F811
    member = egym_member(city="Zwolle")
    page = logged_in_page(make_user("administrator"))
    page.get_by_role("link", name="Integrations").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Data sent to partners")
    page.locator("#connector-egym").get_by_role("link", name="Settings").click()

    # A wrong key first: the connection test fails and nothing is saved.
    page.get_by_label("Enabled").check()
    page.get_by_label("Base URL (without /api/v2)").fill(egym.url)
    page.get_by_label("API key (leave empty to keep the stored key)").fill("wrong-key")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("body")).to_contain_text("The connection test failed (unauthorized)")

    page.get_by_label("Enabled").check()
    page.get_by_label("Base URL (without /api/v2)").fill(egym.url)
    page.get_by_label("API key (leave empty to keep the stored key)").fill(KEY)
    page.get_by_label("Optional fields to send").select_option(["contact.city"])
    page.get_by_role("button", name="Save").click()
    expect(page.locator("body")).to_contain_text("The settings of eGym were saved.")
    expect(page.get_by_label("API key (leave empty to keep the stored key)")).to_have_value("")

    page.goto(f"{base_url}/integrations")
    page.get_by_role("button", name="Full synchronisation").click()
    expect(page.locator("body")).to_contain_text("1 member(s) queued for eGym")
    delivery.run_pending("egym")  # what the worker does
    page.reload()
    section = page.locator("#connector-egym")
    expect(section.locator(".connector-counts tbody td").nth(1)).to_have_text("1")  # synced
    expect(section.locator(".transfer-log")).to_contain_text("contact.city")

    page.goto(f"{base_url}/members/{member.member_number}")
    expect(page.locator(".member-connectors")).to_contain_text("Sent to eGym on")
    expect(page.locator(".member-connectors")).to_contain_text("City")
    assert egym.accounts and next(iter(egym.accounts.values()))["contact"] == {"city": "Zwolle"}
