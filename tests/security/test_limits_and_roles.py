"""Findings 4, 5, 7, 8 and 12: request sizes, granting roles, who sees requests, number bounds, the honeypot."""

import io
from datetime import datetime

import pytest
from sqlalchemy import func, select

from app.auth.permissions import DEFAULT_ROLES
from app.blueprints.admin import forms as _admin_forms  # noqa: F401 - every form module, for the walk
from app.blueprints.form_helpers import INT_COLUMN_MAX, BaseForm
from app.blueprints.members import forms as _member_forms  # noqa: F401
from app.blueprints.privacy import export_forms as _export_forms  # noqa: F401
from app.blueprints.privacy import forms as _privacy_forms  # noqa: F401
from app.models import AuditEvent, DataRequest, Role, User
from app.services import accounts
from app.services import privacy_requests as requests_service
from app.services import roles as role_service
from tests.conftest import TEST_PASSWORD


class Unreadable(io.RawIOBase):
    """A request body that fails the test if anybody reads it."""

    def readable(self):
        return True

    def readinto(self, _buffer):
        raise AssertionError("the body was read")


def _unreadable_body(length: int) -> dict:
    return {"wsgi.input": Unreadable(), "CONTENT_LENGTH": str(length),
            "CONTENT_TYPE": "application/x-www-form-urlencoded"}


def _intake(**fields):
    return {"name": "Ria Rood", "email": "ria@example.nl", "date_of_birth": "1980-02-03", "kind": "access", **fields}


def test_a_huge_body_is_refused_with_413_before_it_is_read(client):
    response = client.post("/request", environ_overrides=_unreadable_body(50 * 1024 * 1024))
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_every_text_field_has_a_length_limit(client, db):
    response = client.post("/request", data=_intake(name="R" * 100_000))
    assert response.status_code == 200
    assert "Field cannot be longer than 250 characters." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(DataRequest)) == 0


def test_the_public_form_is_throttled_per_address_before_it_is_parsed(make_app, db):
    client = make_app(INTAKE_POST_LIMIT=3).test_client()
    for _ in range(3):
        assert client.post("/request", data=_intake(email="bad")).status_code == 200
    response = client.post("/request", environ_overrides=_unreadable_body(100))
    assert response.status_code == 429
    other = client.post("/request", data=_intake(email="bad"), environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200


@pytest.fixture
def helper(make_user, in_request):
    """A user whose only role is a custom one with admin.users and admin.roles (plus reading members)."""
    return make_user(permissions=["admin.users", "admin.roles", "members.view"], username="helper")


@pytest.fixture
def in_request(app):
    with app.test_request_context():
        yield


def test_nobody_creates_a_user_with_permissions_they_do_not_hold(client, helper, login, db):
    administrator = role_service.role_by_key("administrator")
    with pytest.raises(accounts.AccountError, match="permissions you do not hold"):
        accounts.create_staff_user(helper, username="x", full_name="X", email=None, roles=[administrator],
                                   temporary_password="Temporary-phrase-2026")
    db.session.rollback()
    login(helper)
    page = client.post("/admin/users/new", data={"username": "sneaky", "full_name": "S", "roles": [administrator.id],
                                                  "temporary_password": "Temporary-phrase-2026"})
    assert page.status_code == 200 and "permissions you do not hold" in page.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.username == "sneaky")) is None


def test_nobody_adds_a_role_they_could_not_give_to_an_existing_user(helper, make_user, db):
    clerk = make_user(permissions=["members.view"], username="clerk")
    with pytest.raises(accounts.AccountError, match="permissions you do not hold"):
        accounts.update_user(helper, clerk, username="clerk", full_name="C", email=None,
                             roles=[*clerk.roles, role_service.role_by_key("privacy_officer")])


def test_nobody_manages_an_account_holding_more_than_they_do(helper, make_user):
    boss = make_user("administrator", username="boss")
    for action in (lambda: accounts.reset_password(helper, boss, "Temporary-phrase-2026"),
                   lambda: accounts.reset_totp(helper, boss), lambda: accounts.deactivate_user(helper, boss)):
        with pytest.raises(accounts.AccountError, match="permissions you do not hold"):
            action()


def test_nobody_edits_a_role_to_hold_permissions_they_do_not_hold(client, helper, make_role, login, db):
    own_role = helper.roles[0]
    with pytest.raises(accounts.AccountError, match="permissions you do not hold"):
        role_service.update_role(helper, own_role, name=own_role.name, description="",
                                 codes=own_role.permission_codes | {"privacy.erase"}, requires_2fa=False)
    db.session.rollback()
    with pytest.raises(accounts.AccountError, match="permissions you do not hold"):
        role_service.create_role(helper, name="Wide", description="", codes=["members.health"], requires_2fa=False)
    db.session.rollback()
    login(helper)
    page = client.post(f"/admin/roles/{own_role.id}", data={"name": own_role.name,
                                                            "permissions": [*own_role.permission_codes, "audit.view"]})
    assert "permissions you do not hold" in page.get_data(as_text=True)
    db.session.expire_all()
    assert "audit.view" not in db.session.get(Role, own_role.id).permission_codes


def test_api_scopes_go_only_to_partner_clients_from_integrations_managers(make_user):
    integrator = make_user(permissions=["integrations.manage", "admin.users", "admin.roles"])
    accounts.assert_may_grant(integrator, ["api.members.read"], to_partner=True)  # the API-client path
    with pytest.raises(accounts.AccountError, match="partner systems only"):
        accounts.assert_may_grant(integrator, ["api.members.read"])
    everyone = make_user("administrator")
    with pytest.raises(accounts.AccountError, match="partner systems only"):
        accounts.assert_may_grant(everyone, ["api.members.read"])
    plain = make_user(permissions=["admin.users"])
    with pytest.raises(accounts.AccountError, match="manage integrations"):
        role_service.assert_may_grant(plain, ["api.visits.read"], to_partner=True)


@pytest.mark.parametrize(("role", "sees"), [("trainer", False), ("front_desk", False), ("privacy_officer", True)])
def test_who_filed_a_request_is_shown_only_with_privacy_view(client, make_user, make_member, login, db, role, sees):
    member = make_member()
    data_request = requests_service.register("erasure", channel="desk", requester_name="Anna")
    data_request.member_id = member.id
    db.session.commit()
    login(make_user(role))
    # The member's requests are on the Privacy and membership tab (a Trainer has no such tab: 403).
    assert data_request.reference not in client.get(f"/members/{member.member_number}").get_data(as_text=True)
    page = client.get(f"/members/{member.member_number}?tab=privacy").get_data(as_text=True)
    assert (data_request.reference in page) is sees
    assert ("Data requests" in page) is sees


def test_a_number_beyond_the_column_is_a_message_not_a_500(client, make_user, login):
    login(make_user(permissions=["audit.view"]))
    for value in ("2147483648", str(10**12), "-2147483649"):
        response = client.get(f"/admin/audit?member_number={value}")
        assert response.status_code == 200, value


def _all_forms(cls=BaseForm):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_forms(sub)


def test_every_number_field_of_every_form_is_bounded_by_its_column(app):
    from wtforms import DecimalField, IntegerField, StringField
    from wtforms.validators import Length, NumberRange

    checked = 0
    with app.test_request_context():
        for form_class in _all_forms():
            form = form_class(meta={"csrf": False})
            for field in form:
                if isinstance(field, IntegerField | DecimalField):
                    ranges = [v for v in field.validators if isinstance(v, NumberRange) and v.max is not None]
                    assert ranges and all(v.max <= INT_COLUMN_MAX for v in ranges), (form_class, field.name)
                    checked += 1
                elif isinstance(field, StringField) and field.name != "csrf_token":
                    assert any(isinstance(v, Length) and v.max > 0 for v in field.validators), (form_class, field.name)
    assert checked >= 2


def test_the_honeypot_reference_is_the_next_real_one(client, db, frozen_clock):
    frozen_clock(datetime(2026, 6, 15, 10, 0))
    client.post("/request", data=_intake(website="http://spam.example"))
    decoy = client.get("/request/sent").get_data(as_text=True)
    client.post("/request", data=_intake())
    real = client.get("/request/sent").get_data(as_text=True)
    assert "AVG-2026-0001" in decoy and "AVG-2026-0002" in real
    assert db.session.scalar(select(func.count()).select_from(DataRequest)) == 1


def test_a_password_change_is_audited_with_the_source_address(client, make_user, login, db):
    user = make_user("front_desk")
    client.environ_base["REMOTE_ADDR"] = "192.0.2.44"
    login(user)
    client.post("/account/password", data={"current_password": TEST_PASSWORD, "new_password": "Another-long-phrase-77",
                                           "confirm": "Another-long-phrase-77"})
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.password_changed"))
    assert event.source_ip == "192.0.2.44"


def test_default_roles_that_reach_everything_require_two_factor():
    assert DEFAULT_ROLES["administrator"]["requires_2fa"] and DEFAULT_ROLES["privacy_officer"]["requires_2fa"]
