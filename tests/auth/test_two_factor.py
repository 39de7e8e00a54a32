"""Two-factor login with TOTP: enrolment, the code step, replay refused, mandatory per role."""

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from app.models import AuditEvent, User
from app.services import clock
from tests.conftest import TEST_PASSWORD


@pytest.fixture(autouse=True)
def _clock(frozen_clock):
    """A stopped clock, so each test decides when the next 30-second code appears."""
    frozen_clock(datetime.now(UTC).replace(tzinfo=None, microsecond=0))


def code(secret: str) -> str:
    """The code a real authenticator app shows at the application's current time."""
    return pyotp.TOTP(secret).at(clock.utcnow().replace(tzinfo=UTC).timestamp())


def wrong(secret: str) -> str:
    return f"{(int(code(secret)) + 500000) % 1000000:06d}"


def next_code_window():
    clock.advance(timedelta(seconds=30))


def _enrol(client, db, user):
    client.post("/account/two-factor/start")
    db.session.expire_all()
    secret = db.session.get(User, user.id).totp_secret
    assert secret
    return secret


def _enrolled(client, db, user):
    secret = _enrol(client, db, user)
    client.post("/account/two-factor/confirm", data={"code": code(secret)})
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_enabled
    next_code_window()
    return secret


def test_enrolment_shows_the_secret_and_needs_a_valid_code(client, db, make_user, login):
    user = make_user("front_desk")
    login(user)
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "Set up two-factor login" in page
    secret = _enrol(client, db, user)
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)) in page  # readable groups
    assert re.search(r"otpauth://totp/[^<\"]*secret=" + secret, page.replace("&amp;", "&"))
    assert "<script" not in page
    response = client.post("/account/two-factor/confirm", data={"code": wrong(secret)}, follow_redirects=True)
    assert "That code is not right" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_enabled is False
    response = client.post("/account/two-factor/confirm", data={"code": code(secret)}, follow_redirects=True)
    assert "Two-factor login is on" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_enabled is True


def test_login_with_two_factor_asks_a_code_and_refuses_a_wrong_one(client, db, make_user, login):
    user = make_user("front_desk")
    login(user)
    secret = _enrolled(client, db, user)
    client.post("/logout")

    response = client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    assert response.headers["Location"].endswith("/login/code")
    assert client.get("/").status_code == 302  # the password alone does not log in
    page = client.post("/login/code", data={"code": wrong(secret)}).get_data(as_text=True)
    assert "That code is not right" in page
    assert client.get("/").status_code == 302
    response = client.post("/login/code", data={"code": code(secret)})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    succeeded = select(AuditEvent).where(AuditEvent.action == "login.succeeded").order_by(AuditEvent.id)
    assert '"two_factor": true' in db.session.scalars(succeeded).all()[-1].details
    failed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "login.failed")).all()
    assert any('"wrong_code"' in e.details for e in failed)


def test_a_code_from_the_app_is_accepted_with_a_little_clock_drift(client, db, make_user, login):
    user = make_user("front_desk")
    login(user)
    secret = _enrolled(client, db, user)
    client.post("/logout")
    next_code_window()
    client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    phone_behind = pyotp.TOTP(secret).at(clock.utcnow().replace(tzinfo=UTC).timestamp() - 30)
    assert client.post("/login/code", data={"code": phone_behind}).status_code == 302
    assert client.get("/").status_code == 200


def test_a_code_is_accepted_only_once(app, client, db, make_user, login):
    user = make_user("front_desk")
    login(user)
    secret = _enrolled(client, db, user)
    client.post("/logout")
    seen = code(secret)
    client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    assert client.post("/login/code", data={"code": seen}).status_code == 302
    # Someone who saw the code tries it at once from another browser.
    other = app.test_client()
    other.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    page = other.post("/login/code", data={"code": seen}).get_data(as_text=True)
    assert "That code is not right" in page
    assert other.get("/").status_code == 302
    next_code_window()
    assert other.post("/login/code", data={"code": code(secret)}).status_code == 302


def test_wrong_codes_count_towards_the_lockout(client, db, make_user, login):
    user = make_user("front_desk")
    login(user)
    secret = _enrolled(client, db, user)
    client.post("/logout")
    client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    for _ in range(4):
        client.post("/login/code", data={"code": wrong(secret)})
    response = client.post("/login/code", data={"code": wrong(secret)}, follow_redirects=True)
    assert "This account is locked" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).locked_until is not None
    response = client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    assert "Unknown username or wrong password." in response.get_data(as_text=True)  # the one answer


def test_the_login_fixture_handles_two_factor_users(client, db, make_user, login):
    user = make_user("front_desk", totp_secret=pyotp.random_base32(), totp_enabled=True)
    login(user)
    assert client.get("/").status_code == 200
    login(user)  # twice within one 30-second window
    assert client.get("/").status_code == 200


def test_a_role_can_make_two_factor_mandatory(client, db, make_user, make_role, login):
    role = make_role("members.view", requires_2fa=True)
    user = make_user(username="strict")
    user.roles.append(role)
    db.session.commit()
    response = login(user)
    assert response.headers["Location"].endswith("/account/two-factor")
    response = client.get("/members")
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/two-factor")
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "Your role requires two-factor login" in page
    secret = _enrolled(client, db, user)
    assert client.get("/members").status_code == 200
    # It cannot be turned off while the role requires it.
    response = client.post("/account/two-factor/confirm", data={"code": code(secret)}, follow_redirects=True)
    assert "cannot be turned off" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_enabled is True


def test_a_user_can_turn_optional_two_factor_off(client, db, make_user, login):
    user = make_user("front_desk")
    login(user)
    secret = _enrolled(client, db, user)
    response = client.post("/account/two-factor/confirm", data={"code": code(secret)}, follow_redirects=True)
    assert "Two-factor login is turned off." in response.get_data(as_text=True)
    client.post("/logout")
    response = client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    assert not response.headers["Location"].endswith("/login/code")


def test_admin_resets_a_lost_second_factor(app, client, db, make_user, login):
    user = make_user("front_desk", totp_secret=pyotp.random_base32(), totp_enabled=True)
    admin = make_user("administrator")
    login(admin)
    client.post(f"/admin/users/{user.id}/reset-two-factor")
    db.session.expire_all()
    fresh = db.session.get(User, user.id)
    assert fresh.totp_enabled is False and fresh.totp_secret is None
    other = app.test_client()
    response = other.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302 and not response.headers["Location"].endswith("/login/code")


def test_second_step_expires(client, db, make_user):
    user = make_user("front_desk", totp_secret=pyotp.random_base32(), totp_enabled=True)
    client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    clock.advance(timedelta(minutes=6))
    response = client.post("/login/code", data={"code": code(user.totp_secret)})
    assert response.headers["Location"].endswith("/login")
    assert client.get("/").status_code == 302
