"""The public data-request form (no login)."""

from flask import Blueprint

bp = Blueprint("intake", __name__)

from app.blueprints.intake import routes  # noqa: E402,F401
