"""Data requests, the erasure wizard, exports, retention and the erasure ledger.

The views are split over modules in routes/ by area (requests, erasure, export,
retention) because one routes.py for all of them would be too long to read.
"""

from flask import Blueprint

bp = Blueprint("privacy", __name__, url_prefix="/privacy")

from app.blueprints.privacy import routes  # noqa: E402,F401
