"""The shared rate limit (database, and Redis when REDIS_URL is set), PORTAL_MODE=api, partner accounts."""

import shutil
import socket
import subprocess
import time
from datetime import datetime

import pytest
from sqlalchemy import select

from app.models import RateLimitBucket
from app.services import accounts, api_limits
from tests.api.conftest import Server


def _limited_server(make_app, ssl_context, **config):
    return Server(make_app(API_RATE_LIMIT=3, **config), ssl_context=ssl_context)


def _hammer(server, token, ca_file, times):
    import requests

    return [requests.get(server.base + "/api/v1/members", headers={"Authorization": f"Bearer {token}"},
                         verify=ca_file, timeout=10) for _ in range(times)]


def test_the_limit_answers_429_with_retry_after_and_the_remaining_quota(make_app, ssl_context, ca_file, make_client,
                                                                        frozen_clock):
    frozen_clock(datetime(2026, 5, 1, 10, 0, 10))
    server = _limited_server(make_app, ssl_context)
    try:
        _client, token = make_client()
        responses = _hammer(server, token, ca_file, 4)
    finally:
        server.stop()
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in responses] == ["2", "1", "0", "0"]
    limited = responses[-1]
    assert limited.headers["Retry-After"] == "50" and limited.json()["code"] == "rate-limited"
    assert limited.headers["Content-Type"] == "application/problem+json"


def test_two_processes_share_the_database_counter(make_app, ssl_context, ca_file, make_client, db, frozen_clock):
    # Two apps (as two workers would be) on one database: the budget is spent once, not per app.
    # The clock stands still mid-window: four requests across a minute boundary would get a fresh budget.
    frozen_clock(datetime(2026, 5, 1, 10, 0, 10))
    first, second = _limited_server(make_app, ssl_context), _limited_server(make_app, ssl_context)
    try:
        client, token = make_client()
        statuses = [r.status_code for r in _hammer(first, token, ca_file, 2) + _hammer(second, token, ca_file, 2)]
    finally:
        first.stop()
        second.stop()
    assert statuses == [200, 200, 200, 429]
    keys = list(db.session.scalars(select(RateLimitBucket.key)))
    assert keys == [f"api-client:{client.id}"]  # the client's id: no address, no token


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        import redis

        connection = redis.Redis.from_url(url)
        for _ in range(100):
            try:
                connection.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_with_redis_the_counter_lives_in_redis(make_app, ssl_context, ca_file, make_client, db, redis_url,
                                               frozen_clock):
    import redis

    frozen_clock(datetime(2026, 5, 1, 10, 0, 10))  # mid-window, as above
    first = _limited_server(make_app, ssl_context, REDIS_URL=redis_url)
    second = _limited_server(make_app, ssl_context, REDIS_URL=redis_url)
    try:
        client, token = make_client()
        statuses = [r.status_code for r in _hammer(first, token, ca_file, 2) + _hammer(second, token, ca_file, 2)]
    finally:
        first.stop()
        second.stop()
    assert statuses == [200, 200, 200, 429]
    assert db.session.scalar(select(RateLimitBucket.key)) is None
    keys = [k.decode() for k in redis.Redis.from_url(redis_url).keys("clubhouse:rate:*")]
    assert len(keys) == 1 and keys[0].startswith(f"clubhouse:rate:api-client:{client.id}:")


def test_budget_arithmetic():
    assert api_limits.Budget(3, 3, 10).allowed and not api_limits.Budget(3, 4, 10).allowed
    assert api_limits.Budget(3, 5, 10).remaining == 0


def test_portal_mode_api_serves_only_the_api(make_app, ssl_context, ca_file, make_client, make_member):
    import requests

    app = make_app(PORTAL_MODE="api")
    rules = {r.rule for r in app.url_map.iter_rules()}
    assert "/login" not in rules and "/members" not in rules and "/integrations/api-clients" not in rules
    assert "/api/v1/members" in rules and "/healthz" in rules
    server = Server(app, ssl_context=ssl_context)
    try:
        member = make_member()
        _client, token = make_client()
        ok = requests.get(server.base + "/api/v1/members", headers={"Authorization": f"Bearer {token}"},
                          verify=ca_file, timeout=10)
        assert ok.json()["data"][0]["member_number"] == member.member_number
        assert requests.get(server.base + "/login", verify=ca_file, timeout=10).status_code == 404
    finally:
        server.stop()


def test_a_partner_can_never_log_in(client, make_client):
    partner, _token = make_client(name="clubplanner")
    response = client.post("/login", data={"username": "clubplanner", "password": ""})
    assert response.status_code != 302
    assert accounts.authenticate("clubplanner", "anything").status == "refused"


def test_partner_and_staff_roles_never_mix(db, make_client, make_user, make_role):
    from app.services import roles as role_service
    from app.services.accounts import AccountError

    admin = make_user("administrator")
    with pytest.raises(AccountError, match="never both"):
        role_service.create_role(admin, name="Mixed", description="", codes={"members.view", "api.members.read"},
                                 requires_2fa=False)
    partner_role = role_service.create_role(admin, name="Gate", description="", codes={"api.visits.write"},
                                            requires_2fa=False)
    staff = make_user("trainer")
    with pytest.raises(AccountError, match="only for API clients"):
        accounts.update_user(admin, staff, username=staff.username, full_name="", email=None,
                             roles=[*staff.roles, partner_role])
    client, _token = make_client(scopes=["api.members.read"])
    staff_role = role_service.role_by_key("trainer")
    with pytest.raises(AccountError, match="only hold roles with partner API scopes"):
        accounts.update_user(admin, client.user, username=client.user.username, full_name="", email=None,
                             roles=[staff_role])
    # A partner's role cannot gain staff codes, nor a staff role api.* codes.
    own = client.user.roles[0]
    with pytest.raises(AccountError, match="can only hold roles with partner API scopes"):
        role_service.update_role(admin, own, name=own.name, description="", codes={"members.view"}, requires_2fa=False)
    with pytest.raises(AccountError, match="or staff permissions, never both"):
        role_service.update_role(admin, staff_role, name=staff_role.name, description="",
                                 codes=staff_role.permission_codes | {"api.members.read"}, requires_2fa=False)


def test_an_integrations_manager_shares_only_the_member_data_they_may_see(db, make_user):
    """integrations.manage alone cannot hand a partner every member's contact details."""
    from app.services import api_clients

    manager_only = make_user(permissions=["integrations.manage"])
    with pytest.raises(api_clients.ApiClientError, match="members.contact, members.view"):
        api_clients.create_client(manager_only, name="gate-a", scopes=["api.members.read"], fields=["email", "phone"])
    names_only = make_user(permissions=["integrations.manage", "members.view"])
    with pytest.raises(api_clients.ApiClientError, match="members.contact"):
        api_clients.create_client(names_only, name="gate-b", scopes=["api.members.read"], fields=["email"])
    client, _token = api_clients.create_client(names_only, name="gate-c", scopes=["api.members.read"])
    with pytest.raises(api_clients.ApiClientError, match="members.contact"):
        api_clients.update_client(names_only, client, fields=["street"])
    assert api_clients.granted_fields(client) == api_clients.ALWAYS_FIELDS
