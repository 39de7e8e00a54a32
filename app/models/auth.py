"""Staff and partner accounts, roles and the permission codes a role grants."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import one_of, utcnow

USER_KINDS = ("staff", "partner")  # a staff account or a partner system's API account; never both

user_roles = Table(
    "user_roles",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
)


class RolePermission(db.Model):
    """One permission code granted by a role (codes come from app/auth/permissions.py)."""

    __tablename__ = "role_permissions"

    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(60), primary_key=True)


class Role(db.Model):
    """A named set of permission codes, editable by administrators."""

    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # Set for the default roles, so an upgrade can find them whatever they were renamed to.
    system_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    requires_2fa: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    grants: Mapped[list[RolePermission]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )
    users: Mapped[list["User"]] = relationship(secondary=user_roles, back_populates="roles")

    @property
    def permission_codes(self) -> set[str]:
        return {grant.code for grant in self.grants}

    def set_permissions(self, codes) -> None:
        wanted = set(codes)
        self.grants = [g for g in self.grants if g.code in wanted]
        present = {g.code for g in self.grants}
        for code in sorted(wanted - present):
            self.grants.append(RolePermission(code=code))


class User(UserMixin, db.Model):
    """An employee's own account, or a partner system's account (kind='partner')."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(20), default="staff")
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(5))
    must_change_password: Mapped[bool] = mapped_column(default=False)
    last_login_at: Mapped[datetime | None]
    failed_login_count: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled: Mapped[bool] = mapped_column(default=False)
    # The time step of the last accepted code, so one code cannot be used twice.
    totp_last_step: Mapped[int | None]
    # Raised to end every open session of the user at once (logout, password, roles, deactivation):
    # a session cookie carries the epoch it was made in and is refused once they differ.
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    roles: Mapped[list[Role]] = relationship(secondary=user_roles, back_populates="users")

    __table_args__ = (one_of("kind", USER_KINDS),)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    def permission_codes(self) -> frozenset[str]:
        """Every code granted by any of the user's roles (cached for the object's life)."""
        cached = getattr(self, "_permission_cache", None)
        if cached is None:
            cached = frozenset(code for role in self.roles for code in role.permission_codes)
            self._permission_cache = cached
        return cached

    def has_permission(self, code: str) -> bool:
        return code in self.permission_codes()

    def remember_permissions(self, codes) -> None:
        """Set the codes the user's roles grant, as read by the caller (the request's user loader)."""
        self._permission_cache = frozenset(codes)

    def forget_permissions(self) -> None:
        self.__dict__.pop("_permission_cache", None)

    def __repr__(self) -> str:
        return f"<User {self.id}>"
