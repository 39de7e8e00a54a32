"""Two-factor login with TOTP: enrolment, the code step, mandatory per role."""

import re

import pyotp
from sqlalchemy import select

from app.models import AuditEvent, User
from tests.conftest import TEST_PASSWORD


def _enrol(client, db, user):
    client.post("/account/two-factor/start")
    db.session.expire_all()
    secret = db.session.get(User, user.id).totp_secret
    assert secret
    return secret


def _wrong_code(secret):
    right = pyotp.TOTP(secret).now()
    return f"{(int(right) + 500000) % 1000000:06d}"


def test_enrolment_shows_the_secret_and_needs_a_valid_code(client, db, make_user, login):
    user = make_user("front_desk")
    login(user)
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "Set up two-factor login" in page
    secret = _enrol(client, db, user)
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert secret in page
    assert re.search(r"otpauth://totp/[^<\"]*secret=" + secret, page.replace("&amp;", "&"))
    assert "<script" not in page
    response = client.post("/account/two-factor/confirm", data={"code": _wrong_code(secret)}, follow_redirects=True)
    assert "That code is not right" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_enabled is False
    response = client.post("/account/two-factor/confirm", data={"code": pyotp.TOTP(secret).now()}, follow_redirects=True)
    assert "Two-factor login is on" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_enabled is True


def test_login_with_two_factor_asks_a_code_and_refuses_a_wrong_one(client, db, make_user, login):
    user = make_user("front_desk")
    login(user)
    secret = _enrol(client, db, user)
    client.post("/account/two-factor/confirm", data={"code": pyotp.TOTP(secret).now()})
    client.post("/logout")

    response = client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    assert response.headers["Location"].endswith("/login/code")
    assert client.get("/").status_code == 302  # the password alone does not log in
    page = client.post("/login/code", data={"code": _wrong_code(secret)}).get_data(as_text=True)
    assert "That code is not right" in page
    assert client.get("/").status_code == 302
    response = client.post("/login/code", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    succeeded = select(AuditEvent).where(AuditEvent.action == "login.succeeded").order_by(AuditEvent.id)
    success = db.session.scalars(succeeded).all()[-1]
    assert '"two_factor": true' in success.details
    failed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "login.failed")).all()
    assert any('"wrong_code"' in e.details for e in failed)


def test_wrong_codes_count_towards_the_lockout(client, db, make_user, login):
    user = make_user("front_desk")
    login(user)
    secret = _enrol(client, db, user)
    client.post("/account/two-factor/confirm", data={"code": pyotp.TOTP(secret).now()})
    client.post("/logout")
    client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    for _ in range(4):
        client.post("/login/code", data={"code": _wrong_code(secret)})
    response = client.post("/login/code", data={"code": _wrong_code(secret)}, follow_redirects=True)
    assert "This account is locked" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).locked_until is not None


def test_the_login_fixture_handles_two_factor_users(client, db, make_user, login):
    user = make_user("front_desk", totp_secret=pyotp.random_base32(), totp_enabled=True)
    login(user)
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
    secret = _enrol(client, db, user)
    client.post("/account/two-factor/confirm", data={"code": pyotp.TOTP(secret).now()})
    assert client.get("/members").status_code == 200
    # It cannot be turned off while the role requires it.
    response = client.post("/account/two-factor/confirm", data={"code": pyotp.TOTP(secret).now()}, follow_redirects=True)
    assert "cannot be turned off" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_enabled is True


def test_a_user_can_turn_optional_two_factor_off(client, db, make_user, login):
    user = make_user("front_desk")
    login(user)
    secret = _enrol(client, db, user)
    client.post("/account/two-factor/confirm", data={"code": pyotp.TOTP(secret).now()})
    response = client.post("/account/two-factor/confirm", data={"code": pyotp.TOTP(secret).now()}, follow_redirects=True)
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


def test_second_step_expires(client, db, make_user, frozen_clock):
    from datetime import datetime, timedelta

    from app.services import clock

    frozen_clock(datetime(2026, 3, 2, 9, 0))
    user = make_user("front_desk", totp_secret=pyotp.random_base32(), totp_enabled=True)
    client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    clock.advance(timedelta(minutes=6))
    code = pyotp.TOTP(user.totp_secret).at(clock.utcnow().timestamp() + 0)
    response = client.post("/login/code", data={"code": code})
    assert response.headers["Location"].endswith("/login")
    assert client.get("/").status_code == 302
