"""Partner systems: the API clients, the equipment connectors and the overview of what is sent to whom.

Each area keeps its views in a module of its own (imported at the bottom), on one blueprint.
"""

from flask import Blueprint

bp = Blueprint("integrations", __name__, url_prefix="/integrations")

# The API client pages and the connector pages register their routes on bp.
from app.blueprints.integrations import api_clients, connectors, recipients  # noqa: E402, F401
