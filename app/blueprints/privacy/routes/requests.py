"""The register of data requests (the privacy issue completes it)."""

from flask import render_template

from app.auth.decorators import permission_required
from app.blueprints.privacy import bp


@bp.get("/requests")
@permission_required("privacy.view")
def requests():
    return render_template("privacy/requests.html")
