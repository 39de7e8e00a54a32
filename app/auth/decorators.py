"""Every view says who may use it: a permission code, any logged-in user, or the public.

The route test walks app.url_map and fails on a view without one of these marks.
"""

from functools import wraps

from flask import abort, request
from flask_login import current_user

from app.auth.permissions import permission
from app.extensions import login_manager

ACCESS_ATTR = "clubhouse_access"


def _mark(view, kind: str, codes: tuple[str, ...] = ()):
    setattr(view, ACCESS_ATTR, (kind, codes))
    return view


def declare_access(view, kind: str, codes: tuple[str, ...] = ()):
    """Mark a view guarded elsewhere (the partner API checks its token's scopes itself)."""
    return _mark(view, kind, codes)


def permission_required(*codes: str):
    """Allow the view to users holding any one of the codes; others get 403, guests the login page."""
    perm = permission(*codes)

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not perm.can():
                abort(403)
            return view(*args, **kwargs)

        return _mark(wrapped, "permission", codes)

    return decorator


def login_only(view):
    """For pages every logged-in user has (dashboard, own password, language)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    return _mark(wrapped, "login")


def public(view):
    """Explicitly open to anyone: login, health check, the public intake form."""
    return _mark(view, "public")


def access_of(view):
    """The declared access of a view function, or None when it declared nothing."""
    return getattr(view, ACCESS_ATTR, None)


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"
