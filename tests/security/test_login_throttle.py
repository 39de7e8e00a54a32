"""Finding 3: one answer for unknown, locked and wrong; the address throttle; no lock-out by an attacker; atomic."""

import http.client
import threading
import urllib.parse

import pytest
from sqlalchemy import func, select

from app.models import AuditEvent, RateLimitBucket, User
from app.services import accounts
from tests.conftest import TEST_PASSWORD

ATTACKER = {"REMOTE_ADDR": "10.0.0.66"}
VICTIM = {"REMOTE_ADDR": "10.0.0.5"}


def _login(client, username, password, env=ATTACKER):
    return client.post("/login", data={"username": username, "password": password}, environ_base=env)


def _message(response) -> str:
    page = response.get_data(as_text=True)
    start = page.index('role="status"')
    return page[start:page.index("</p>", start)]


@pytest.fixture
def hash_checks(monkeypatch):
    """Counts the password hashes computed (the real function still runs)."""
    calls = []
    real = accounts.passwords.verify_password

    def counting(password_hash, password):
        calls.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(accounts.passwords, "verify_password", counting)
    return calls


def test_unknown_locked_and_wrong_get_the_same_answer_after_one_hash(app, client, make_user, hash_checks):
    user = make_user("front_desk")
    wrong = _login(client, user.username, "wrong-password-1")
    unknown = _login(client, "nobody-here", "wrong-password-1")
    for _ in range(4):
        _login(client, user.username, "wrong-password-1")
    hash_checks.clear()
    locked = _login(client, user.username, "wrong-password-1")
    locked_right = _login(client, user.username, TEST_PASSWORD)
    assert len(hash_checks) == 2  # a locked account costs a hash like any other attempt
    assert wrong.status_code == unknown.status_code == locked.status_code == locked_right.status_code == 200
    assert _message(wrong) == _message(unknown) == _message(locked) == _message(locked_right)
    assert "locked" not in locked.get_data(as_text=True)


def test_an_address_is_throttled_before_any_account_and_keys_are_hashed(client, make_user, db):
    user = make_user("front_desk")
    for number in range(20):  # spraying usernames: no account reaches its own limit
        _login(client, f"guess{number}", "wrong-password-1")
    response = _login(client, user.username, TEST_PASSWORD)
    assert response.status_code == 429
    assert "Too many failed logins from this address" in response.get_data(as_text=True)
    assert _login(client, user.username, TEST_PASSWORD, env=VICTIM).status_code == 302  # others are not affected
    keys = db.session.scalars(select(RateLimitBucket.key)).all()
    assert keys and not any("10.0.0" in key for key in keys)


def test_an_attacker_alone_cannot_keep_a_known_user_out(app, client, make_user, db):
    user = make_user("administrator")  # administrators too
    for _ in range(5):
        _login(client, user.username, "wrong-password-1")
    db.session.expire_all()
    assert accounts.is_locked(db.session.get(User, user.id))
    assert _login(client, user.username, TEST_PASSWORD).status_code == 200  # the attacker's address stays locked
    victim = app.test_client()
    response = _login(victim, user.username, TEST_PASSWORD, env=VICTIM)
    assert response.status_code == 302 and response.headers["Location"] == "/login/code"
    events = db.session.scalars(select(AuditEvent.details).where(AuditEvent.action == "login.failed")).all()
    assert sum('"locked"' in details for details in events) == 1


def test_the_address_throttle_honours_trusted_proxies(make_app, make_user):
    user = make_user("front_desk")
    client = make_app(TRUSTED_PROXIES=("127.0.0.1",)).test_client()
    for number in range(20):
        client.post("/login", data={"username": f"guess{number}", "password": "x" * 12},
                    headers={"X-Forwarded-For": "198.51.100.7"})
    behind_proxy = client.post("/login", data={"username": user.username, "password": TEST_PASSWORD},
                               headers={"X-Forwarded-For": "198.51.100.7"})
    assert behind_proxy.status_code == 429
    other = client.post("/login", data={"username": user.username, "password": TEST_PASSWORD},
                        headers={"X-Forwarded-For": "198.51.100.8"})
    assert other.status_code == 302


def test_parallel_wrong_passwords_check_no_more_than_the_limit(live_server, make_user, db):
    """20 wrong passwords at once against a real threaded server: at most 5 are ever checked."""
    user = make_user("front_desk")
    url = urllib.parse.urlsplit(live_server)
    body = urllib.parse.urlencode({"username": user.username, "password": "wrong-password-1"})
    statuses, start = [], threading.Barrier(20)

    def attempt():
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        start.wait()
        connection.request("POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded"})
        statuses.append(connection.getresponse().status)
        connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 20
    db.session.expire_all()
    checked = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "login.failed", AuditEvent.details.contains('"wrong_password"')))
    assert checked == 5
    assert accounts.is_locked(db.session.get(User, user.id))
