"""Browser journeys: a real Chromium (Debian's, never `playwright install`) against a live server.

Reusable by every area: `live_server` serves the session `app` on 127.0.0.1 and a free port,
`base_url` points Playwright's `page` at it, and `logged_in_page(user)` logs a user in through
the real login form and returns the page on the dashboard.
"""

import socket
import threading
from datetime import UTC

import pyotp
import pytest
from werkzeug.serving import make_server

from app.services import clock
from tests.conftest import CHROMIUM, TEST_PASSWORD


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(app):
    """The app served by werkzeug in a background thread on loopback; yields its base URL."""
    server = make_server("127.0.0.1", _free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def base_url(live_server):
    return live_server


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic",
            # What a test browser never uses: the Debian wrapper's extensions, and the background work
            # of translation, hints and the back-forward cache (measured: within the noise of its CPU).
            "--disable-extensions", "--disable-renderer-backgrounding",
            "--disable-features=" + ",".join(DISABLED_FEATURES),
        ],
    }


# Chromium reads only the last --disable-features it is given, and Playwright passes its own list
# first: ours has to repeat Playwright's (tests/browser/test_browser_setup.py checks that it still
# does) or those features come back on.
PLAYWRIGHT_DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync", "DestroyProfileOnBrowserClose", "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable", "LensOverlay", "MediaRouter", "PaintHolding", "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect", "TcpPortRandomizationWin", "OptimizationHints", "NetworkTimeServiceQuerying",
    "AimEnabled", "PreconnectToSearch", "msForceBrowserSignIn", "msEdgeUpdateLaunchServicesPreferredVersion",
)
DISABLED_FEATURES = (
    *PLAYWRIGHT_DISABLED_FEATURES,
    "Translate", "AutofillServerCommunication", "BackForwardCache",
    # Each new browser context (one per test) built two hidden pages for the address bar's suggestion
    # popup, each in a renderer of its own: about 0.8 s of CPU per context, for a popup no test opens.
    "WebUIOmniboxPopup", "WebUIOmniboxFullPopup", "WebUIOmniboxAimPopup",
)


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "en-GB", "timezone_id": "Europe/Amsterdam"}


@pytest.fixture
def logged_in_page(page, base_url):
    """logged_in_page(user) -> the Playwright page, logged in through the login form, on the dashboard."""

    def login(user, password: str = TEST_PASSWORD):
        page.goto(f"{base_url}/login")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        if getattr(user, "totp_enabled", False):  # Administrator and Privacy officer: the code step
            page.wait_for_url(f"{base_url}/login/code")
            now = clock.utcnow().replace(tzinfo=UTC).timestamp()
            page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(user.totp_secret).at(now))
            page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{base_url}/")
        return page

    return login
