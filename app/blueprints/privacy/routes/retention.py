"""Retention policies and the sweep (the retention issue completes it)."""

from flask import render_template

from app.auth.decorators import permission_required
from app.blueprints.privacy import bp


@bp.get("/retention")
@permission_required("retention.view")
def retention():
    return render_template("privacy/retention.html")
