"""Fixtures for the admin tests."""

import pytest


@pytest.fixture
def in_request(app):
    """A request context, for service calls whose refusal messages are translated."""
    with app.test_request_context():
        yield


# The browser fixtures (Debian's Chromium against a live server) come from tests/browser.
from tests.browser.conftest import (  # noqa: E402,F401
    base_url,
    browser_context_args,
    browser_type_launch_args,
    live_server,
    logged_in_page,
)
