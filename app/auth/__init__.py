"""Authentication and authorisation: the permission catalogue, identity loading, decorators."""

from flask import g
from flask_login import AnonymousUserMixin
from flask_principal import AnonymousIdentity, Identity

from app.auth import permissions
from app.extensions import db, login_manager, principal


class Guest(AnonymousUserMixin):
    """The anonymous user: holds no permission."""

    def permission_codes(self) -> frozenset[str]:
        return frozenset()

    def has_permission(self, code: str) -> bool:
        return False


def init_app(app) -> None:
    from flask_login import current_user

    from app.models import User

    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"
    login_manager.anonymous_user = Guest

    @login_manager.user_loader
    def load_user(user_id: str):
        if not user_id.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        if user is None or not user.active or user.kind != "staff":
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
