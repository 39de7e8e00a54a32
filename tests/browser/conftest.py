"""Browser journeys: a real Chromium (Debian's, never `playwright install`) against a live server.

Reusable by every area: `live_server` serves the session `app` on 127.0.0.1 and a free port,
`base_url` points Playwright's `page` at it, and `logged_in_page(user)` logs a user in (a session
made as the login form makes it) and returns the page on the dashboard.
"""

import socket
import threading

import pytest
from flask import session as flask_session
from playwright.sync_api import expect
from werkzeug.serving import make_server

from app.blueprints.auth.routes import start_session
from tests.conftest import CHROMIUM


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


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "en-GB", "timezone_id": "Europe/Amsterdam"}


@pytest.fixture
def logged_in_page(page, base_url, app):
    """logged_in_page(user) -> the Playwright page, logged in, on the dashboard.

    As `login_as` does for the test client, the session is made by `start_session`, the code the
    login form runs once the password (and the second factor, where the user has one) is checked,
    for this browser's address and User-Agent (the session protection compares them); the cookie
    Flask would send is put into the browser. The form itself is walked in Chromium by
    tests/admin/test_browser_admin.py (a new employee's first login) and in full by tests/auth.
    """

    def login(user):
        agent = page.evaluate("navigator.userAgent")
        with app.test_request_context(base_url=base_url, environ_base={"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": agent}):
            start_session(user, second_factor=bool(user.totp_enabled))
            cookie = app.session_interface.get_signing_serializer(app).dumps(dict(flask_session))
        page.context.add_cookies([{"name": app.config["SESSION_COOKIE_NAME"], "value": cookie, "url": base_url,
                                   "httpOnly": True, "sameSite": "Lax"}])
        page.goto(f"{base_url}/")
        expect(page).to_have_url(f"{base_url}/")  # not sent to the login page
        expect(page.locator("nav.mainnav")).to_be_visible()
        return page

    return login
