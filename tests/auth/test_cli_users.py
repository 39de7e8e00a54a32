"""`flask users ...`: rescuing accounts from the command line."""

import pyotp
from sqlalchemy import select

from app.models import AuditEvent, User
from tests.conftest import TEST_PASSWORD


def test_unlock_from_the_command_line(app, runner, db, make_user, client):
    user = make_user("administrator", username="onlyadmin")
    for _ in range(5):
        client.post("/login", data={"username": "onlyadmin", "password": "wrong-password-1"})
    refused = client.post("/login", data={"username": "onlyadmin", "password": TEST_PASSWORD})
    assert refused.status_code == 200 and "Unknown username or wrong password." in refused.get_data(as_text=True)
    result = runner.invoke(args=["users", "unlock", "onlyadmin"])
    assert result.exit_code == 0, result.output
    assert client.post("/login", data={"username": "onlyadmin", "password": TEST_PASSWORD}).status_code == 302
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.unlocked"))
    assert event.actor_id is None and event.target_id == str(user.id)


def test_reset_password_checks_the_policy(runner, db, make_user, client):
    make_user("front_desk", username="desk")
    result = runner.invoke(args=["users", "reset-password", "desk", "--password", "password1234"])
    assert result.exit_code != 0
    assert "too common" in result.output
    result = runner.invoke(args=["users", "reset-password", "desk", "--password", "Lantern-orchard-915"])
    assert result.exit_code == 0, result.output
    response = client.post("/login", data={"username": "desk", "password": "Lantern-orchard-915"})
    assert response.headers["Location"].endswith("/account/password")


def test_reset_two_factor_and_unknown_user(runner, db, make_user):
    user = make_user("front_desk", username="desk", totp_secret=pyotp.random_base32(), totp_enabled=True)
    assert runner.invoke(args=["users", "reset-two-factor", "desk"]).exit_code == 0
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_enabled is False
    result = runner.invoke(args=["users", "unlock", "nobody"])
    assert result.exit_code != 0 and "No staff account named 'nobody'" in result.output
