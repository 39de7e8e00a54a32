"""User administration: create with a temporary password, edit, deactivate, reset; item-level rules."""

import json

import pytest
from sqlalchemy import select

from app.models import AuditEvent, User
from app.services import accounts
from app.services import roles as role_service
from tests.conftest import TEST_PASSWORD


@pytest.fixture
def admin(make_user, login_as):
    user = make_user("administrator", username="boss")
    login_as(user)
    return user


def _role_id(key):
    return role_service.role_by_key(key).id


def test_users_list_shows_roles_and_last_login(client, admin, make_user):
    make_user("trainer", username="coach", full_name="Kees Coach")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "coach" in page and "Kees Coach" in page and "Trainer" in page
    assert "never" in page  # coach never logged in
    assert "boss" in page and "Administrator" in page


def test_create_user_with_temporary_password_who_must_change_it(app, client, db, admin):
    data = {"full_name": "Fleur Balie", "username": "fleur", "email": "fleur@club.example",
            "roles": [_role_id("front_desk")], "temporary_password": "short"}
    page = client.post("/admin/users/new", data=data).get_data(as_text=True)
    assert "at least 12 characters" in page
    assert 'value="Fleur Balie"' in page  # nothing typed is lost
    data["temporary_password"] = "Tulip-window-bicycle-7"
    response = client.post("/admin/users/new", data=data)
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "fleur"))
    assert user.must_change_password and [r.system_key for r in user.roles] == ["front_desk"]
    staff = app.test_client()
    response = staff.post("/login", data={"username": "fleur", "password": "Tulip-window-bicycle-7"})
    assert response.headers["Location"].endswith("/account/password")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.created"))
    assert json.loads(event.details) == {"role_ids": [_role_id("front_desk")]}
    assert "Fleur" not in event.details and "fleur@" not in event.details


def test_duplicate_username_is_refused_next_to_the_field(client, admin, make_user):
    make_user("trainer", username="coach")
    data = {"full_name": "X", "username": "Coach", "temporary_password": "Tulip-window-bicycle-7"}
    page = client.post("/admin/users/new", data=data).get_data(as_text=True)
    assert "This username is already taken." in page


def test_edit_user_audits_changed_fields_and_roles_without_values(client, db, admin, make_user):
    user = make_user("trainer", username="coach", full_name="Kees Coach")
    data = {"full_name": "Kees de Coach", "username": "coach", "email": "kees@club.example",
            "roles": [_role_id("trainer"), _role_id("finance")]}
    response = client.post(f"/admin/users/{user.id}", data=data, follow_redirects=True)
    assert "Changes saved." in response.get_data(as_text=True)
    db.session.expire_all()
    assert {r.system_key for r in db.session.get(User, user.id).roles} == {"trainer", "finance"}
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.updated"))
    details = json.loads(event.details)
    assert details == {"fields": ["full_name", "email", "roles"], "roles_added": [_role_id("finance")],
                       "roles_removed": []}
    assert "Kees" not in event.details and "kees@" not in event.details


def test_a_user_cannot_change_their_own_roles(db, admin, make_user, in_request):
    make_user("administrator", username="second")  # not the last admin: only the self rule applies
    with pytest.raises(accounts.AccountError, match="own roles"):
        accounts.update_user(admin, admin, username="boss", full_name="Boss", email=None,
                             roles=[role_service.role_by_key("trainer")])


def test_own_roles_are_not_editable_on_the_page(client, db, admin):
    data = {"full_name": "Boss", "username": "boss", "roles": [_role_id("trainer")]}
    page = client.post(f"/admin/users/{admin.id}", data=data, follow_redirects=True).get_data(as_text=True)
    assert "You cannot change your own roles" in page
    db.session.expire_all()
    assert [r.system_key for r in db.session.get(User, admin.id).roles] == ["administrator"]


def test_a_user_cannot_deactivate_themselves(client, db, admin):
    response = client.post(f"/admin/users/{admin.id}/deactivate", follow_redirects=True)
    assert "You cannot deactivate your own account." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, admin.id).active


def test_the_last_administrator_cannot_be_demoted_or_deactivated(db, make_user, in_request):
    last = make_user("administrator", username="last")
    manager = make_user("manager", permissions=["admin.users"], username="helper")
    with pytest.raises(accounts.AccountError, match="permissions you do not hold"):
        accounts.deactivate_user(manager, last)  # nobody manages an account holding more than they do
    # An actor holding everything the administrator holds, without counting as one (deactivated meanwhile).
    manager = make_user(permissions=sorted(last.permission_codes()), username="peer", active=False)
    with pytest.raises(accounts.AccountError, match="no active administrator"):
        accounts.update_user(manager, last, username="last", full_name="L", email=None,
                             roles=[role_service.role_by_key("manager")])
    with pytest.raises(accounts.AccountError, match="no active administrator"):
        accounts.deactivate_user(manager, last)
    # With a second administrator it is allowed.
    make_user("administrator", username="second")
    accounts.deactivate_user(manager, last)
    assert not last.active


def test_an_inactive_administrator_does_not_count(db, make_user, in_request):
    last = make_user("administrator", username="last")
    make_user("administrator", username="gone", active=False)
    # An actor holding all the administrator holds without counting as one (inactive), as above:
    # with only admin.users the refusal would be the grant rule, not the last-administrator check.
    helper = make_user(permissions=sorted(last.permission_codes()), username="helper", active=False)
    with pytest.raises(accounts.AccountError, match="no active administrator"):
        accounts.deactivate_user(helper, last)


def test_deactivated_user_cannot_log_in_and_is_logged_out(app, client, db, admin, make_user):
    user = make_user("front_desk", username="desk")
    staff = app.test_client()
    staff.post("/login", data={"username": "desk", "password": TEST_PASSWORD})
    assert staff.get("/").status_code == 200
    response = client.post(f"/admin/users/{user.id}/deactivate", follow_redirects=True)
    assert "can no longer log in" in response.get_data(as_text=True)
    assert staff.get("/").status_code == 302  # the open session stops working too
    page = staff.post("/login", data={"username": "desk", "password": TEST_PASSWORD}).get_data(as_text=True)
    assert "Unknown username or wrong password." in page
    client.post(f"/admin/users/{user.id}/reactivate")
    assert staff.post("/login", data={"username": "desk", "password": TEST_PASSWORD}).status_code == 302


def test_reset_password_sets_a_temporary_one_and_unlocks(app, client, db, admin, make_user, frozen_clock):
    user = make_user("front_desk", username="desk")
    other = app.test_client()
    for _ in range(5):
        other.post("/login", data={"username": "desk", "password": "wrong-password-1"})
    response = client.post(f"/admin/users/{user.id}/password", data={"temporary_password": "abc"},
                           follow_redirects=True)
    assert "Password not reset" in response.get_data(as_text=True)
    client.post(f"/admin/users/{user.id}/password", data={"temporary_password": "Quiet-harbour-lamp-31"})
    response = other.post("/login", data={"username": "desk", "password": "Quiet-harbour-lamp-31"})
    assert response.headers["Location"].endswith("/account/password")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.password_reset"))
    assert "Quiet" not in event.details and event.target_id == str(user.id)


def test_destructive_user_actions_are_post_only(client, admin, make_user):
    user = make_user("front_desk")
    for action in ("deactivate", "reactivate", "unlock", "password", "reset-two-factor"):
        assert client.get(f"/admin/users/{user.id}/{action}").status_code == 405


def test_unknown_user_is_a_404(client, admin):
    assert client.get("/admin/users/999999").status_code == 404


def test_two_admins_deactivating_each_other_at_once_leave_one(app, db, make_user):
    """The last-administrator check and the change are serialised across transactions."""
    import threading
    import time

    from app.extensions import db as _db

    first = make_user("administrator", username="first").id
    second = make_user("administrator", username="second").id
    first_flushed, second_started = threading.Event(), threading.Event()
    outcome = {}

    def first_deactivates_second():
        with app.app_context():
            try:
                accounts.deactivate_user(_db.session.get(User, first), _db.session.get(User, second))
                first_flushed.set()
                second_started.wait(5)
                time.sleep(0.3)  # the other transaction is now trying its own check
                _db.session.commit()
                outcome["first"] = "done"
            except accounts.AccountError:
                _db.session.rollback()
                first_flushed.set()
                outcome["first"] = "refused"

    def second_deactivates_first():
        with app.app_context():
            first_flushed.wait(5)
            second_started.set()
            try:
                accounts.deactivate_user(_db.session.get(User, second), _db.session.get(User, first))
                _db.session.commit()
                outcome["second"] = "done"
            except accounts.AccountError:
                _db.session.rollback()
                outcome["second"] = "refused"

    threads = [threading.Thread(target=first_deactivates_second), threading.Thread(target=second_deactivates_first)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert outcome == {"first": "done", "second": "refused"}
    db.session.expire_all()
    assert accounts.active_administrator_ids() == {first}


def test_dashboard_panel_lists_accounts_needing_attention(app, client, db, admin, make_user, make_role):
    page = client.get("/").get_data(as_text=True)
    assert 'id="panel-accounts"' not in page  # nothing to do
    make_user("front_desk", must_change_password=True)
    strict_role = make_role("members.view", requires_2fa=True)
    strict = make_user(username="strict")
    strict.roles.append(strict_role)
    db.session.commit()
    locked = make_user("trainer", username="locked")
    other = app.test_client()
    for _ in range(5):
        other.post("/login", data={"username": "locked", "password": "wrong-password-1"})
    page = client.get("/").get_data(as_text=True)
    assert 'id="panel-accounts"' in page
    assert ('Locked after failed logins</dt><dd><a id="figure-accounts-locked" '
            'href="/admin/users?filter=locked">1</a>') in page
    assert ('Still on a temporary password</dt><dd><a id="figure-accounts-temporary_password" '
            'href="/admin/users?filter=temporary_password">1</a>') in page
    assert ('Two-factor required but not set up</dt><dd><a id="figure-accounts-two_factor_missing" '
            'href="/admin/users?filter=two_factor_missing">1</a>') in page
    assert locked.id


def test_dashboard_panel_is_for_user_administrators_only(client, db, make_user, login_as):
    make_user("front_desk", must_change_password=True)
    login_as(make_user("manager"))
    assert 'id="panel-accounts"' not in client.get("/").get_data(as_text=True)


def test_admin_pages_speak_dutch(make_app, make_user, db):
    app = make_app(BABEL_DEFAULT_LOCALE="nl")
    admin = make_user("administrator", username="beheer", totp_enabled=False)
    admin.roles[0].requires_2fa = False  # this test is about the language, not the code step
    db.session.commit()
    client = app.test_client()
    client.post("/login", data={"username": "beheer", "password": TEST_PASSWORD})
    assert "Nieuwe gebruiker" in client.get("/admin/users").get_data(as_text=True)
    page = client.get("/admin/roles/new").get_data(as_text=True)
    assert "Vereist tweestapsverificatie" in page and "Rechten" in page
    assert "Alle acties" in client.get("/admin/audit").get_data(as_text=True)
    page = client.post(f"/admin/users/{admin.id}/deactivate", follow_redirects=True).get_data(as_text=True)
    assert "U kunt uw eigen account niet deactiveren." in page
