"""The public intake form (the privacy issue completes it)."""

from flask import render_template

from app.auth.decorators import public
from app.blueprints.intake import bp


@bp.get("/request")
@public
def form():
    return render_template("intake/form.html")
