"""Findings 1, 2 and 10 of the outside probe: open redirects, sessions that outlive logout, spoofed addresses."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.blueprints.security import is_safe_target
from app.models import AuditEvent
from app.services import clock
from tests.conftest import TEST_PASSWORD

# What the probe sent, and the other ways browsers read a path as another host.
EVIL_TARGETS = [
    "/\t/evil.example", "//evil.example", "/\\evil.example", "\\\\evil.example", "https://evil.example/",
    "/\r\nSet-Cookie: x=1", "/\n/evil.example", "/ /evil.example", "/\u2028/evil.example", "javascript:alert(1)",
    "/" + "a" * 3000,
]


@pytest.mark.parametrize("target", EVIL_TARGETS)
def test_login_never_redirects_off_site_or_crashes(client, make_user, target):
    user = make_user("front_desk")
    response = client.post("/login", query_string={"next": target},
                           data={"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", EVIL_TARGETS)
def test_language_switch_and_check_in_never_redirect_off_site(client, make_user, login, target):
    login(make_user("front_desk"))
    response = client.post("/language", data={"lang": "en", "next": target})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    response = client.post("/members/checkin", data={"member_number": "x", "next": target})
    assert response.status_code == 302 and response.headers["Location"] == "/members"


def test_a_path_on_the_site_is_kept(client, make_user, make_member):
    member = make_member()
    user = make_user("front_desk")
    target = f"/members/{member.member_number}?tab=visits"
    response = client.post("/login", query_string={"next": target},
                           data={"username": user.username, "password": TEST_PASSWORD})
    assert response.headers["Location"] == target
    assert is_safe_target("/members?q=van%20der%20Berg") and not is_safe_target("/\t/x")


def _cookie(client) -> str:
    return client.get_cookie("session").value


def _with_cookie(app, value):
    other = app.test_client()
    other.set_cookie("session", value)
    return other


def test_a_saved_cookie_is_worthless_after_logout(app, client, make_user, make_member, login):
    member = make_member()
    login(make_user("front_desk"))
    assert client.get(f"/members/{member.member_number}").status_code == 200
    saved = _cookie(client)
    client.post("/logout")
    replay = _with_cookie(app, saved)
    response = replay.get(f"/members/{member.member_number}")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.slow
def test_a_password_change_logs_out_the_other_browsers_on_every_worker(make_app, app, client, make_user, login):
    user = make_user("front_desk")
    login(user)
    other_worker = make_app().test_client()  # a second gunicorn worker: another app on the same database
    other_worker.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    assert other_worker.get("/members").status_code == 200
    response = client.post("/account/password", data={
        "current_password": TEST_PASSWORD, "new_password": "Another-long-phrase-77", "confirm": "Another-long-phrase-77"})
    assert response.status_code == 302
    assert client.get("/members").status_code == 200  # the browser that changed it stays in
    assert other_worker.get("/members").headers["Location"].startswith("/login")


def test_a_password_reset_by_an_administrator_ends_the_users_sessions(app, client, make_user, login):
    user = make_user("front_desk")
    desk = app.test_client()
    desk.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    assert desk.get("/members").status_code == 200
    login(make_user(permissions=sorted(user.permission_codes() | {"admin.users"})))
    client.post(f"/admin/users/{user.id}/password", data={"temporary_password": "Temporary-phrase-2026"})
    assert desk.get("/members").headers["Location"].startswith("/login")


def test_a_session_ends_after_its_absolute_lifetime_however_busy(client, make_user, login, frozen_clock):
    frozen_clock(datetime(2026, 3, 2, 7, 0))
    login(make_user("front_desk"))
    for _ in range(36):  # a request every 20 minutes for 12 hours: never idle
        clock.advance(timedelta(minutes=20))
        assert client.get("/members").status_code == 200
    clock.advance(timedelta(minutes=20))  # 12 h 20 min after the login
    response = client.get("/members", follow_redirects=True)
    assert response.request.path == "/login"
    assert "Your session has ended after 12 hours" in response.get_data(as_text=True)


def test_session_lifetime_is_configurable(make_app, make_user, frozen_clock):
    frozen_clock(datetime(2026, 3, 2, 7, 0))
    client = make_app(SESSION_LIFETIME_HOURS=1).test_client()
    client.post("/login", data={"username": make_user("front_desk").username, "password": TEST_PASSWORD})
    clock.advance(timedelta(minutes=25))
    assert client.get("/members").status_code == 200
    clock.advance(timedelta(minutes=25))
    assert client.get("/members").status_code == 200
    clock.advance(timedelta(minutes=25))
    assert client.get("/members").status_code == 302


def test_a_stolen_cookie_with_a_spoofed_forwarded_for_is_refused(app, make_user):
    """Session protection hashes the real client address, not a header the client writes."""
    user = make_user("front_desk")
    victim = app.test_client()
    agent = {"User-Agent": "Victim browser 1.0"}
    victim.post("/login", data={"username": user.username, "password": TEST_PASSWORD}, headers=agent,
                environ_base={"REMOTE_ADDR": "10.0.0.5"})
    assert victim.get("/members", headers=agent, environ_base={"REMOTE_ADDR": "10.0.0.5"}).status_code == 200
    thief = _with_cookie(app, _cookie(victim))
    response = thief.get("/members", headers={**agent, "X-Forwarded-For": "10.0.0.5"},
                         environ_base={"REMOTE_ADDR": "10.0.0.66"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_forwarded_for_is_believed_only_from_trusted_proxies(make_app, make_user, db):
    user = make_user("front_desk")
    for trusted, expected in (((), "127.0.0.1"), (("127.0.0.1",), "203.0.113.9"), (("127.0.0.0/8",), "203.0.113.9")):
        db.session.execute(AuditEvent.__table__.delete())
        db.session.commit()
        client = make_app(TRUSTED_PROXIES=trusted).test_client()
        client.post("/login", data={"username": user.username, "password": TEST_PASSWORD},
                    headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9"})
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "login.succeeded"))
        assert event.source_ip == expected, trusted
