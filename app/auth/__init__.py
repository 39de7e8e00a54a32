"""Authentication and authorisation: the permission catalogue, identity loading, decorators."""

from flask import current_app, flash, g, session
from flask_babel import gettext as _
from flask_login import AnonymousUserMixin
from flask_principal import AnonymousIdentity, Identity

from app.auth import permissions
from app.blueprints import security
from app.extensions import db, login_manager, principal
from app.services import clock

EPOCH_KEY = "epoch"  # the user's session_epoch when the session was made
BORN_KEY = "born"  # when the session was made (seconds since 1970, UTC)


def stamp_session(user) -> None:
    """Mark the (fresh) session as made now for the user's current epoch; call after login_user()."""
    session[EPOCH_KEY] = user.session_epoch
    session[BORN_KEY] = int(clock.utcnow().timestamp())


def renew_epoch(user) -> None:
    """Keep this session valid after the user's own change ended their other sessions."""
    session[EPOCH_KEY] = user.session_epoch


class Guest(AnonymousUserMixin):
    """The anonymous user: holds no permission."""

    def permission_codes(self) -> frozenset[str]:
        return frozenset()

    def has_permission(self, code: str) -> bool:
        return False


def init_app(app) -> None:
    from flask_login import current_user
    from sqlalchemy import bindparam, select
    from sqlalchemy.orm import joinedload

    from app.models import RolePermission, User
    from app.models.auth import user_roles

    # The two statements every request's user loader runs, built once: building them (the
    # joined load, the comparisons) cost more than SQLAlchemy's cached compile of them.
    user_with_roles = select(User).options(joinedload(User.roles)).where(User.id == bindparam("user_id"))
    granted_codes = (select(RolePermission.code)
                     .join(user_roles, user_roles.c.role_id == RolePermission.role_id)
                     .where(user_roles.c.user_id == bindparam("user_id")))

    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"
    login_manager.anonymous_user = Guest
    # Session protection hashes the client address: the TRUSTED_PROXIES-aware one, never a raw header.
    login_manager._session_identifier_generator = security.session_identifier

    @login_manager.user_loader
    def load_user(user_id: str):
        """The session's user, if the session is still valid for them.

        Refused: a session from before the user's last logout, password change, password
        reset, role change or deactivation (its epoch is behind the user's), and a session
        older than SESSION_LIFETIME_HOURS however busy it was.
        """
        if not user_id.isdigit():
            return None
        # The user with its roles in one query (the two-factor gate reads the roles on every
        # request), then the codes its roles grant as plain strings: the permission needs are all
        # a request uses of the grants, and one ORM object per grant cost more than the query.
        user = db.session.scalars(user_with_roles, {"user_id": int(user_id)}).unique().one_or_none()
        if user is None or not user.active or user.kind != "staff":
            return None
        user.remember_permissions(db.session.scalars(granted_codes, {"user_id": user.id}))
        if session.get(EPOCH_KEY) != user.session_epoch:
            session.clear()
            return None
        born = session.get(BORN_KEY)
        lifetime = current_app.config["SESSION_LIFETIME_HOURS"] * 3600
        if not isinstance(born, int) or clock.utcnow().timestamp() - born > lifetime:
            session.clear()
            flash(_("Your session has ended after %(hours)s hours. Please log in again.",
                    hours=current_app.config["SESSION_LIFETIME_HOURS"]), "warning")
            return None
        return user

    @principal.identity_loader
    def load_identity():
        if current_user.is_authenticated:
            return Identity(current_user.id)
        return AnonymousIdentity()

    def forget_previous_user():
        """Load the user from this request's session, never from an earlier request's g.

        g belongs to the app context, and a request reuses an app context that is already
        active (tests, scripts driving the app), so Flask-Login's cached user could leak
        from one client's request into another's. Runs before Principal loads the identity.
        """
        g.pop("_login_user", None)

    app.before_request_funcs.setdefault(None, []).insert(0, forget_previous_user)
    permissions.connect(app)
