"""Roles: the default set and changes to roles."""

from sqlalchemy import select

from app.auth.permissions import DEFAULT_ROLES
from app.extensions import db
from app.models import Role


def ensure_default_roles() -> list[Role]:
    """Create the default roles that are missing (idempotent; edited roles are left alone)."""
    created = []
    for key, spec in DEFAULT_ROLES.items():
        role = db.session.scalar(select(Role).where(Role.system_key == key))
        if role is not None:
            continue
        role = db.session.scalar(select(Role).where(Role.name == spec["name"]))
        if role is not None:
            role.system_key = key
            continue
        role = Role(name=spec["name"], description=spec["description"], system_key=key)
        role.set_permissions(spec["codes"])
        db.session.add(role)
        created.append(role)
    db.session.flush()
    return created


def role_by_key(key: str) -> Role | None:
    return db.session.scalar(select(Role).where(Role.system_key == key))
