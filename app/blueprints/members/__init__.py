"""Member administration."""

from flask import Blueprint

bp = Blueprint("members", __name__, url_prefix="/members")

from app.blueprints.members import imports, routes  # noqa: E402,F401
