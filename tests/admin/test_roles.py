"""Role administration: permissions grouped by area, delete refused while held, last administrator."""

import json

import pytest
from sqlalchemy import select

from app.auth.permissions import AREAS, CATALOGUE
from app.models import AuditEvent, Role
from app.services import accounts
from app.services import roles as role_service


@pytest.fixture
def admin(make_user, login_as):
    user = make_user("administrator", username="boss")
    login_as(user)
    return user


def test_role_editor_groups_every_permission_by_area_with_descriptions(client, admin):
    page = client.get("/admin/roles/new").get_data(as_text=True)
    for label in AREAS.values():
        assert f"<legend>{label}</legend>" in page
    for info in CATALOGUE:
        assert f'value="{info.code}"' in page
        assert str(info.description) in page


def test_roles_list_shows_holders_and_two_factor(client, db, admin):
    page = client.get("/admin/roles").get_data(as_text=True)
    for name in ("Administrator", "Manager", "Front desk", "Trainer", "Finance", "Privacy officer"):
        assert name in page


def test_create_and_edit_a_role(client, db, admin):
    data = {"name": "Kiosk", "description": "Check-in only", "permissions": ["members.checkin"]}
    assert client.post("/admin/roles/new", data=data).status_code == 302
    role = db.session.scalar(select(Role).where(Role.name == "Kiosk"))
    assert role.permission_codes == {"members.checkin"} and not role.requires_2fa
    page = client.get(f"/admin/roles/{role.id}").get_data(as_text=True)
    assert 'value="members.checkin" id="perm-members.checkin" checked' in page
    data = {"name": "Kiosk", "description": "Check-in only", "requires_2fa": "y",
            "permissions": ["members.checkin", "members.view"]}
    client.post(f"/admin/roles/{role.id}", data=data)
    db.session.expire_all()
    role = db.session.get(Role, role.id)
    assert role.permission_codes == {"members.checkin", "members.view"} and role.requires_2fa
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "role.updated"))
    assert json.loads(event.details) == {"fields": ["requires_2fa", "permissions"],
                                         "codes_added": ["members.view"], "codes_removed": []}


def test_unknown_permission_code_is_refused(client, db, admin):
    data = {"name": "Sneaky", "permissions": ["members.view", "root.everything"]}
    response = client.post("/admin/roles/new", data=data)
    assert response.status_code == 200
    assert db.session.scalar(select(Role).where(Role.name == "Sneaky")) is None


def test_duplicate_role_name_is_refused(client, admin):
    page = client.post("/admin/roles/new", data={"name": "trainer"}).get_data(as_text=True)
    assert "A role with this name already exists." in page


def test_delete_refused_while_users_hold_the_role(client, db, admin, make_user, make_role):
    role = make_role("members.view", name="Temp")
    holder = make_user(username="holder")
    holder.roles.append(role)
    db.session.commit()
    response = client.post(f"/admin/roles/{role.id}/delete", follow_redirects=True)
    assert "cannot be deleted while 1 user holds it" in response.get_data(as_text=True)
    assert db.session.get(Role, role.id) is not None
    holder.roles.remove(role)
    db.session.commit()
    response = client.post(f"/admin/roles/{role.id}/delete", follow_redirects=True)
    assert "Role Temp deleted." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Role, role.id) is None
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "role.deleted")) is not None


def test_removing_admin_permissions_from_the_last_admins_role_is_refused(client, db, admin):
    role = role_service.role_by_key("administrator")
    codes = sorted(role.permission_codes - {"admin.roles"})
    data = {"name": role.name, "description": role.description, "permissions": codes}
    page = client.post(f"/admin/roles/{role.id}", data=data).get_data(as_text=True)
    assert "no active administrator" in page
    db.session.expire_all()
    assert "admin.roles" in db.session.get(Role, role.id).permission_codes


def test_role_change_allowed_when_another_admin_remains(db, make_user, make_role):
    other_admin_role = make_role("admin.users", "admin.roles", name="Superuser")
    first = make_user("administrator")
    other = make_user(username="other")
    other.roles.append(other_admin_role)
    db.session.commit()
    role = role_service.role_by_key("administrator")
    role_service.update_role(first, role, name=role.name, description="", codes={"members.view"},
                             requires_2fa=False)
    assert role.permission_codes == {"members.view"}


def test_permissions_change_takes_effect_on_the_next_request(app, client, db, admin, make_user, make_role, login_as):
    role = make_role("members.view", name="Viewer")
    viewer = make_user(username="viewer")
    viewer.roles.append(role)
    db.session.commit()
    staff = app.test_client()
    staff.post("/login", data={"username": "viewer", "password": "Correct-horse-battery-9"})
    assert staff.get("/members").status_code == 200
    client.post(f"/admin/roles/{role.id}", data={"name": "Viewer", "permissions": ["members.checkin"]})
    # A role change ends its holders' sessions; at the next login the new permissions apply.
    assert staff.get("/members").headers["Location"].startswith("/login")
    staff.post("/login", data={"username": "viewer", "password": "Correct-horse-battery-9"})
    assert staff.get("/members").status_code == 403


def test_service_refuses_without_a_name(db, admin, in_request):
    with pytest.raises(accounts.AccountError, match="A role needs a name"):
        role_service.create_role(admin, name="  ", description="", codes=[], requires_2fa=False)


def test_the_documentation_lists_every_permission_code():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "users-and-roles.md").read_text()
    missing = [info.code for info in CATALOGUE if f"| `{info.code}` |" not in doc]
    assert missing == [], f"add these codes to the permissions table in docs/users-and-roles.md: {missing}"


def test_default_roles_cannot_be_deleted(client, db, admin):
    role = role_service.role_by_key("trainer")
    page = client.get(f"/admin/roles/{role.id}").get_data(as_text=True)
    assert "Delete role" not in page
    response = client.post(f"/admin/roles/{role.id}/delete", follow_redirects=True)
    assert "one of the default roles" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Role, role.id) is not None


def test_the_test_factory_gives_the_default_roles_the_service_makes(db, make_user, frozen_clock):
    """make_user replays ensure_default_roles() into emptied tables (tests/conftest.py): the same rows."""
    from datetime import datetime

    from sqlalchemy import delete

    from app.models import RolePermission, User
    from app.models.auth import user_roles

    frozen_clock(datetime(2026, 5, 4, 3, 2, 1))

    def emptied():
        for table in (user_roles, RolePermission.__table__, User.__table__, Role.__table__):
            db.session.execute(delete(table))
        db.session.commit()

    def snapshot():
        roles = db.session.execute(select(Role.name, Role.description, Role.system_key, Role.requires_2fa,
                                          Role.created_at).order_by(Role.system_key)).all()
        grants = db.session.execute(select(Role.system_key, RolePermission.code).join(
            RolePermission, RolePermission.role_id == Role.id).order_by(Role.system_key, RolePermission.code)).all()
        return roles, grants

    make_user()  # the first one in a process runs the service and records what it wrote
    emptied()
    make_user("trainer")  # into empty tables: the recorded rows come back
    replayed = snapshot()
    emptied()
    role_service.ensure_default_roles()
    db.session.commit()
    assert snapshot() == replayed
    assert len(replayed[0]) >= 5 and replayed[1]
