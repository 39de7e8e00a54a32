"""Shared with other areas: the live server (tests/browser) and the bad-input walk's seeded `world`."""

from tests.browser.conftest import live_server  # noqa: F401
from tests.test_bad_input import world  # noqa: F401
