"""The plan catalogue on /plans: list, new, edit, retire and reactivate; the dashboard's plan figures."""

from flask import Blueprint

bp = Blueprint("plans", __name__, url_prefix="/plans")

from app.blueprints.plans import routes  # noqa: E402,F401
