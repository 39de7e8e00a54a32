"""eGym in a real browser: the settings page with its connection test, a full sync, the overview and the member page."""

import pytest
from playwright.sync_api import expect

from app.services.connectors import delivery
from tests.integrations.conftest import KEY, egym, egym_member  # noqa: F401 - fixtures
from tests.integrations.conftest import short_retries as _short_retries  # noqa: F401 - fixture
from tests.queue_helpers import work_the_queue

pytestmark = pytest.mark.browser


# The connector fixtures come from tests/integrations/conftest.py (imported above), hence F811.
def test_manager_sets_up_egym_syncs_and_sees_what_was_sent(app, logged_in_page, base_url, db, make_user,
                                                             egym, egym_member):  # noqa: F811
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
    expect(page.locator("body")).to_contain_text("The connection test failed: eGym refused the API key.")

    page.get_by_label("Enabled").check()
    page.get_by_label("Base URL (without /api/v2)").fill(egym.url)
    page.get_by_label("API key (leave empty to keep the stored key)").fill(KEY)
    page.get_by_label("Optional fields to send").select_option(["contact.city"])
    page.get_by_role("button", name="Save").click()
    expect(page.locator("body")).to_contain_text("The settings of eGym were saved.")
    expect(page.get_by_label("API key (leave empty to keep the stored key)")).to_have_value("")

    page.goto(f"{base_url}/integrations")
    page.locator("#connector-egym").get_by_role("button", name="Full synchronisation").click()
    # The sync runs on the job queue; its page shows it waiting, then (the worker ran) its outcome.
    expect(page.locator("p.flash")).to_contain_text("The full synchronisation with eGym has started")
    expect(page.locator(".job-state")).to_contain_text("Waiting for a job worker")
    delivery.run_pending("egym")  # the member's own outbox row, sent at once by the worker
    work_the_queue(app)  # what the worker does with the full sync
    page.reload()
    expect(page.locator(".job-state")).to_have_text("Finished.")
    page.goto(f"{base_url}/integrations")
    section = page.locator("#connector-egym")
    expect(section.locator(".connector-counts tbody td").nth(1)).to_have_text("1")  # synced
    expect(section.locator(".transfer-log")).to_contain_text("contact.city")

    page.goto(f"{base_url}/members/{member.member_number}?tab=privacy")
    expect(page.locator(".member-connectors")).to_contain_text("Sent to eGym on")
    expect(page.locator(".member-connectors")).to_contain_text("City")
    assert egym.accounts and next(iter(egym.accounts.values()))["contact"] == {"city": "Zwolle"}
