"""Every route against every default role: allowed or forbidden exactly as its declared codes say.

The expectation is derived from each view's declared access (access_of) and the role's codes in
DEFAULT_ROLES, so a route added later is covered without touching this file. URL arguments are
filled with real objects (a member, a data request, a user, a role) so that allowed requests
reach the view; a 404 is accepted only where no such object could be made.
"""

from datetime import date

import pytest
from sqlalchemy import select
from werkzeug.routing.converters import AnyConverter, IntegerConverter

from app.auth.decorators import access_of
from app.auth.permissions import DEFAULT_ROLES
from app.extensions import db as _db
from app.models import DataRequest, Role, User

SKIP_ENDPOINTS = {"static", "auth.logout"}  # logout would end the walk; tested on its own
ROLE_KEYS = [*DEFAULT_ROLES, None]  # None: a logged-in user without any role


@pytest.fixture
def objects(db, make_member, make_user, make_role, make_plan):
    """Real objects for URL arguments."""
    member = make_member()
    make_plan()  # found by _guess_id for plan_id
    request_row = DataRequest(reference="AVG-2026-0001", kind="access", channel="desk", due_on=date(2026, 12, 25),
                              member_id=member.id, member_number=member.member_number)
    db.session.add(request_row)
    target_user = make_user("trainer", username="target")
    target_role = make_role("members.view", name="Spare role")
    db.session.commit()
    return {
        "member_number": member.member_number,
        "reference": request_row.reference,
        "user_id": target_user.id,
        "role_id": target_role.id,
    }


def _guess_id(name: str) -> int:
    """For an argument like hold_id: the id of an existing row of a matching model, else 1."""
    stem = name.removesuffix("_id")
    for mapper in _db.Model.registry.mappers:
        cls = mapper.class_
        table = getattr(cls, "__tablename__", "")
        if cls.__name__.lower() == stem.replace("_", "") or table.rstrip("s") == stem or table == stem:
            found = _db.session.scalar(select(mapper.primary_key[0]).limit(1))
            if found is not None:
                return found
    return 1


def _url_for_rule(rule, objects) -> str:
    values = {}
    for name in rule.arguments:
        converter = rule._converters.get(name)
        if name in objects:
            values[name] = objects[name]
        elif isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)[0]
        elif isinstance(converter, IntegerConverter) or name.endswith("_id"):
            values[name] = _guess_id(name)
        else:
            values[name] = "x"
    return rule.build(values, append_unknown=False)[1]


def _expected_allowed(view, codes: frozenset) -> bool:
    kind, needed = access_of(view)
    if kind in ("public", "login"):
        return True
    return bool(set(needed) & codes)


def _request(client, rule, url):
    # The partner API answers only over TLS (plain HTTP is a 403 for everyone, tested in tests/api).
    https = {"base_url": "https://localhost"} if url.startswith("/api/") else {}
    if "GET" in rule.methods:
        return client.get(url, **https)
    return client.post(url, data={}, **https)


@pytest.mark.parametrize("role_key", ROLE_KEYS, ids=[k or "no_role" for k in ROLE_KEYS])
@pytest.mark.slow
@pytest.mark.usefixtures("html_instead_of_pdf")  # who may download, not what the pages hold
def test_every_route_for_every_default_role(app, client, db, objects, make_user, login_as, role_key):
    user = make_user(role_key) if role_key else make_user()
    codes = frozenset(DEFAULT_ROLES[role_key]["codes"]) if role_key else frozenset()
    login_as(user)
    checked, wrong = 0, []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint in SKIP_ENDPOINTS:
            continue
        view = app.view_functions[rule.endpoint]
        allowed = _expected_allowed(view, codes)
        url = _url_for_rule(rule, objects)
        response = _request(client, rule, url)
        status = response.status_code
        location = response.headers.get("Location", "")
        if allowed:
            ok = status < 500 and status not in (401, 403) and "/login" not in location
        else:
            ok = status == 403 or (url.startswith("/api/") and status == 401)
        if not ok:
            wrong.append(f"{rule.methods - {'HEAD', 'OPTIONS'}} {url}: {status} {location} (expected "
                         f"{'allowed' if allowed else 'forbidden'})")
        checked += 1
        # Still logged in as the same user after every request (no route may end the session).
        assert client.get("/account").status_code == 200, url
    assert wrong == []
    assert checked >= 20


@pytest.mark.parametrize(
    ("role_key", "path", "status"),
    [
        ("trainer", "/admin/users", 403),
        ("trainer", "/admin/roles", 403),
        ("trainer", "/members", 200),
        ("front_desk", "/admin/audit", 403),
        ("front_desk", "/privacy/requests", 403),
        ("privacy_officer", "/privacy/requests", 200),
        ("privacy_officer", "/admin/audit", 200),
        ("privacy_officer", "/admin/users", 403),
        ("manager", "/admin/audit", 200),
        ("finance", "/admin/roles", 403),
        ("administrator", "/admin/users", 200),
        ("administrator", "/admin/roles", 200),
        ("administrator", "/admin/audit", 200),
    ],
)
def test_concrete_expectations(client, make_user, login_as, role_key, path, status):
    login_as(make_user(role_key))
    assert client.get(path).status_code == status


def test_guests_are_sent_to_the_login_page(app, client, objects):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        kind, _codes = access_of(app.view_functions[rule.endpoint])
        if kind == "public" or "GET" not in rule.methods:
            continue
        response = _request(client, rule, _url_for_rule(rule, objects))
        assert response.status_code in (302, 401), rule.rule
        if response.status_code == 302:
            assert "/login" in response.headers["Location"], rule.rule


def test_a_role_without_codes_is_denied_all_admin_pages(db, client, make_user, login_as):
    login_as(make_user())
    for path in ("/admin/users", "/admin/roles", "/admin/audit", "/admin/users/new", "/admin/roles/new"):
        assert client.get(path).status_code == 403
    assert db.session.scalar(select(Role).limit(1)) is not None  # default roles exist, none held
    assert db.session.scalar(select(User).limit(1)) is not None
