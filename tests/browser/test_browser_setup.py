"""The test browser itself: it runs with the switches the suite means it to have."""

import pytest

from tests.browser.conftest import DISABLED_FEATURES

pytestmark = pytest.mark.browser


def _disabled_feature_lists(page) -> list[set[str]]:
    """Every --disable-features on the browser's command line, in order, as chrome://version shows it."""
    page.goto("chrome://version")
    command_line = next(line for line in page.inner_text("body").splitlines() if line.startswith("Command Line"))
    return [set(arg.split("=", 1)[1].split(",")) for arg in command_line.split() if arg.startswith("--disable-features=")]


def test_our_feature_list_keeps_the_ones_playwright_switches_off(page):
    """Chromium obeys only the last --disable-features: ours must still hold all of Playwright's."""
    lists = _disabled_feature_lists(page)
    assert len(lists) >= 2, "Playwright's list and ours"
    playwright_list, effective = lists[0], lists[-1]
    assert effective == set(DISABLED_FEATURES)
    assert playwright_list <= effective, f"Playwright now also disables {sorted(playwright_list - effective)}"


def test_a_new_context_builds_no_hidden_address_bar_pages(browser, page, base_url):
    page.goto(f"{base_url}/login")
    session = browser.new_browser_cdp_session()
    targets = session.send("Target.getTargets", {"filter": [{}]})["targetInfos"]
    session.detach()
    assert [t["url"] for t in targets if t["type"] == "page"] == [f"{base_url}/login"]
    assert not [t["url"] for t in targets if "omnibox" in t["url"]]
