"""The dashboard (main) and the views every process serves (core: health check, language)."""

from flask import Blueprint

bp = Blueprint("main", __name__)
core_bp = Blueprint("core", __name__)

from app.blueprints.main import routes  # noqa: E402,F401
