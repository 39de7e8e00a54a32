"""The privacy views, one module per area."""

from app.blueprints.privacy.routes import erasure, export, recipients, requests, retention  # noqa: F401
