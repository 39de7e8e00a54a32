"""Kept closed: every GET route's headers per identity, CSRF on every state-changing route, no GET writes.

The routes come from app.url_map and their arguments from the bad-input walk's `world`, so a
route added later is covered without touching this file.
"""

import re

import pytest

from app.auth.permissions import CODES, DEFAULT_ROLES
from app.blueprints.security import CSP
from tests.conftest import TEST_PASSWORD
from tests.test_bad_input import _build, _fingerprint, watched_changes  # noqa: F401 - the watch _fingerprint reads, for this module too

IDENTITIES = ["anonymous", *DEFAULT_ROLES]
STAFF_CODES = sorted(code for code in CODES if not code.startswith("api."))


def _rules(app, methods):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint != "static" and not rule.rule.startswith("/api/") and rule.methods & methods:
            yield rule


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.usefixtures("html_instead_of_pdf")  # the headers of a download, not its pages
def test_every_get_route_carries_the_security_headers_and_changes_nothing(app, client, world, make_user, login,
                                                                         identity):
    if identity != "anonymous":
        login(make_user(identity))
    before = _fingerprint()
    problems, checked = [], 0
    for rule in _rules(app, {"GET"}):
        url = _build(rule, world)
        response = client.get(url)
        checked += 1
        headers = response.headers
        if response.status_code >= 500:
            problems.append(f"{url}: {response.status_code}")
        for name, value in (("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"),
                            ("X-Frame-Options", "DENY"), ("Referrer-Policy", "same-origin"),
                            ("Cache-Control", "no-store")):
            if headers.get(name) != value:
                problems.append(f"{url}: {name}={headers.get(name)!r}")
    assert problems == []
    assert checked >= 30
    assert _fingerprint() == before, "a GET request changed data"


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_every_state_changing_route_refuses_a_missing_or_foreign_csrf_token(make_app, world, make_user):
    app = make_app(WTF_CSRF_ENABLED=True)
    user = make_user(permissions=STAFF_CODES)
    client = app.test_client()
    token = _token(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"username": user.username, "password": TEST_PASSWORD,
                                       "csrf_token": token}).status_code == 302
    foreign = _token(app.test_client().get("/request").get_data(as_text=True))  # another visitor's token
    before = _fingerprint()
    problems, checked = [], 0
    for rule in _rules(app, {"POST", "PUT", "PATCH", "DELETE"}):
        url = _build(rule, world)
        for data in ({}, {"csrf_token": foreign}, {"csrf_token": "forged"}):
            response = client.post(url, data=data)
            checked += 1
            if response.status_code != 400:
                problems.append(f"{url} {sorted(data)}: {response.status_code}")
    assert problems == []
    assert checked >= 3 * 40
    assert _fingerprint() == before
    assert client.get("/members").status_code == 200  # still logged in: the refused logout did nothing

