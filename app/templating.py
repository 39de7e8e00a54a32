"""Helpers every template can use: can(), the current language, date formats."""

from flask import g
from flask_babel import format_date, format_datetime, get_locale
from flask_principal import AnonymousIdentity

from app.auth.permissions import PermissionNeed


def can(code: str) -> bool:
    """True when the current identity holds the permission code."""
    identity = getattr(g, "identity", None) or AnonymousIdentity()
    return PermissionNeed(code) in identity.provides


def register(app) -> None:
    @app.context_processor
    def inject():
        return {"can": can, "current_locale": str(get_locale() or "nl"), "club_name": app.config["CLUB_NAME"]}

    app.jinja_env.filters["date"] = lambda value, fmt="medium": format_date(value, fmt) if value else ""
    app.jinja_env.filters["datetime"] = (
        lambda value, fmt="short": format_datetime(value, fmt) if value else ""
    )
    app.jinja_env.filters["money"] = format_money


def format_money(value) -> str:
    """Euro amounts the Dutch way: € 1.234,50."""
    if value is None:
        return ""
    return "€ " + f"{value:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
