"""Roles: the default set and changes to roles."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import func, or_, select

from app.auth.permissions import CODES, DEFAULT_ROLES
from app.extensions import db
from app.models import Role, User, user_roles
from app.services import audit
from app.services.accounts import (
    _LAST_ADMIN,
    API_PREFIX,
    AccountError,
    active_administrator_ids,
    assert_may_grant,
    check_role_codes,
    end_sessions,
    serialise_admin_changes,
)

__all__ = ["assert_may_grant"]  # API clients' roles are checked with the same rule

# The default roles in the reader's language, by system key. The stored name stays English (the CLI
# and `--role` options accept it); a default role an administrator renamed shows its own name.
DEFAULT_ROLE_WORDS = {
    "administrator": (_l("Administrator"), _l("Manages users, roles and the whole installation.")),
    "manager": (_l("Manager"), _l("Runs the club: members, subscriptions, finance and reports.")),
    "front_desk": (_l("Front desk"), _l("Checks members in, registers new members and requests at the desk.")),
    "trainer": (_l("Trainer"), _l("Coaches members: sees the member and health notes, no contact or finance data.")),
    "finance": (_l("Finance"), _l("Invoices and direct debits.")),
    "privacy_officer": (_l("Privacy officer"), _l("Handles data requests, erasures, exports and retention.")),
}


def _default_words(role: Role) -> tuple | None:
    spec = DEFAULT_ROLES.get(role.system_key or "")
    words = DEFAULT_ROLE_WORDS.get(role.system_key or "")
    return words if spec and words else None


def role_name(role: Role) -> str:
    """The role's name as the reader should see it: a default role in their language."""
    words = _default_words(role)
    if words and role.name == DEFAULT_ROLES[role.system_key]["name"]:
        return str(words[0])
    return role.name


def role_description(role: Role) -> str:
    """The role's description, a default role's own one in the reader's language."""
    words = _default_words(role)
    if words and (role.description or "") == DEFAULT_ROLES[role.system_key]["description"]:
        return str(words[1])
    return role.description or ""


def ensure_default_roles() -> list[Role]:
    """Create the default roles that are missing (idempotent; edited roles are left alone)."""
    created = []
    names = [spec["name"] for spec in DEFAULT_ROLES.values()]
    # One read for all of them (a query per role would flush the roles added so far each time).
    present = db.session.scalars(
        select(Role).where(or_(Role.system_key.in_(list(DEFAULT_ROLES)), Role.name.in_(names)))
    ).all()
    by_key = {role.system_key: role for role in present if role.system_key}
    by_name = {role.name: role for role in present}
    for key, spec in DEFAULT_ROLES.items():
        if key in by_key:
            continue
        role = by_name.get(spec["name"])
        if role is not None:  # a role of that name from before system keys: it becomes the default
            role.system_key = key
            by_key[key] = role
            continue
        role = Role(name=spec["name"], description=spec["description"], system_key=key,
                    requires_2fa=spec.get("requires_2fa", False))
        role.set_permissions(spec["codes"])
        db.session.add(role)
        created.append(role)
    db.session.flush()
    return created


def role_by_key(key: str) -> Role | None:
    return db.session.scalar(select(Role).where(Role.system_key == key))


def holder_count(role: Role) -> int:
    """How many users (active or not) hold the role."""
    return db.session.scalar(select(func.count()).select_from(user_roles).where(user_roles.c.role_id == role.id))


def _check_name(name: str, role: Role | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise AccountError(_l("A role needs a name."), field="name")
    other = db.session.scalar(select(Role).where(func.lower(Role.name) == name.lower()))
    if other is not None and other is not role:
        raise AccountError(_l("A role with this name already exists."), field="name")
    return name


def _check_codes(codes) -> set[str]:
    codes = set(codes)
    unknown = codes - CODES
    if unknown:
        raise AccountError(_l("Unknown permission."), field="permissions")
    check_role_codes(codes)
    return codes


def _assert_may_set_codes(actor, role: Role | None, codes: set[str]) -> None:
    """Only codes the actor holds may be added or removed; api.* codes only on roles no staff user holds."""
    old = role.permission_codes if role is not None else set()
    changed = (codes - old) | (old - codes)
    api_added = {c for c in codes - old if c.startswith(API_PREFIX)}
    staff_holders = role is not None and any(u.kind == "staff" for u in role.users)
    if api_added and staff_holders:
        raise AccountError(_l("Partner API scopes (api.*) are for partner systems only, and staff users hold "
                              "this role."), field="permissions")
    assert_may_grant(actor, changed, to_partner=not staff_holders, field="permissions")


def create_role(actor, *, name: str, description: str, codes, requires_2fa: bool) -> Role:
    """Create a role granting exactly the given permission codes."""
    codes = _check_codes(codes)
    _assert_may_set_codes(actor, None, codes)
    role = Role(name=_check_name(name), description=(description or "").strip(), requires_2fa=requires_2fa)
    role.set_permissions(codes)
    db.session.add(role)
    db.session.flush()
    audit.record("role.created", actor, target_type="role", target_id=role.id,
                 details={"codes": sorted(role.permission_codes), "requires_2fa": requires_2fa})
    return role


def update_role(actor, role: Role, *, name: str, description: str, codes, requires_2fa: bool) -> list[str]:
    """Change a role; refused when it would leave no active administrator. Returns changed fields."""
    name = _check_name(name, role)
    codes = _check_codes(codes)
    check_role_codes(codes, role.users)
    old_codes = role.permission_codes
    if old_codes != codes:
        _assert_may_set_codes(actor, role, codes)
        serialise_admin_changes()
        before = active_administrator_ids()
        after = active_administrator_ids(role_codes_override={role.id: codes})
        if before and not after:
            raise AccountError(_LAST_ADMIN, field="permissions")
    changed = []
    for field, value in (("name", name), ("description", (description or "").strip()),
                         ("requires_2fa", bool(requires_2fa))):
        if getattr(role, field) != value:
            setattr(role, field, value)
            changed.append(field)
    details: dict = {}
    if old_codes != codes:
        role.set_permissions(codes)
        changed.append("permissions")
        details = {"codes_added": sorted(codes - old_codes), "codes_removed": sorted(old_codes - codes)}
    if changed:
        audit.record("role.updated", actor, target_type="role", target_id=role.id,
                     details={"fields": changed, **details})
    db.session.flush()
    for user in role.users:
        user.forget_permissions()
    if "permissions" in changed or "requires_2fa" in changed:
        end_sessions(list(role.users))  # holders log in again under the new permissions
    return changed


def delete_role(actor, role: Role) -> None:
    """Delete a role nobody holds; refused (with the number of holders) otherwise."""
    if role.system_key:
        raise AccountError(_l(
            "This is one of the default roles: it would be created again at the next start. "
            "Leave it unused, or change its name and permissions instead."
        ))
    holders = holder_count(role)
    if holders:
        raise AccountError(
            lazy_ngettext("This role cannot be deleted while %(num)s user holds it. Give them another role first.",
                          "This role cannot be deleted while %(num)s users hold it. Give them another role first.",
                          holders)
        )
    role_id, codes = role.id, sorted(role.permission_codes)
    db.session.delete(role)
    db.session.flush()
    audit.record("role.deleted", actor, target_type="role", target_id=role_id, details={"codes": codes})


def all_roles() -> list[Role]:
    return list(db.session.scalars(select(Role).order_by(Role.name)))


def roles_by_ids(ids) -> list[Role]:
    """The roles with these ids (unknown ids are ignored)."""
    ids = set(ids or [])
    return list(db.session.scalars(select(Role).where(Role.id.in_(ids)))) if ids else []


def holder_counts() -> dict[int, int]:
    """Number of users per role id, in one query."""
    return dict(db.session.execute(
        select(user_roles.c.role_id, func.count()).group_by(user_roles.c.role_id)
    ).all())


def holders(role: Role) -> list[User]:
    """The users holding a role, by username."""
    return list(db.session.scalars(
        select(User).join(user_roles).where(user_roles.c.role_id == role.id).order_by(User.username)
    ))
