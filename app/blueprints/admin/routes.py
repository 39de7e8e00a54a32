"""Administration pages (the users-and-roles issue completes them)."""

from flask import render_template

from app.auth.decorators import permission_required
from app.blueprints.admin import bp


@bp.get("/users")
@permission_required("admin.users")
def users():
    return render_template("admin/placeholder.html", title="users")


@bp.get("/roles")
@permission_required("admin.roles")
def roles():
    return render_template("admin/placeholder.html", title="roles")


@bp.get("/audit")
@permission_required("audit.view")
def audit():
    return render_template("admin/placeholder.html", title="audit")
