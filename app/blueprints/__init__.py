"""The blueprints, and which of them a process serves (PORTAL_MODE)."""


def blueprints_for(mode: str):
    """'full' serves the portal; 'intake' only the public request form, 'api' only the partner API
    (each with the health check)."""
    from app.api import bp as api_bp
    from app.blueprints.admin import bp as admin_bp
    from app.blueprints.auth import bp as auth_bp
    from app.blueprints.intake import bp as intake_bp
    from app.blueprints.integrations import bp as integrations_bp
    from app.blueprints.main import bp as main_bp
    from app.blueprints.main import core_bp
    from app.blueprints.members import bp as members_bp
    from app.blueprints.plans import bp as plans_bp
    from app.blueprints.privacy import bp as privacy_bp

    if mode == "intake":
        return [core_bp, intake_bp]
    if mode == "api":
        return [core_bp, api_bp]
    return [core_bp, main_bp, auth_bp, members_bp, plans_bp, privacy_bp, intake_bp, admin_bp, integrations_bp, api_bp]
