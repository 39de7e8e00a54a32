"""Locale choice: the user's saved language, else the session's choice, else the club default."""

from flask import current_app, has_request_context, session
from flask_login import current_user


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and services run outside a request
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


# One format per kind of date in each language (Babel patterns), so a date reads the same on every
# page, in the PDFs and in the CSV: Dutch "1 december 2026" and "01-12-2026 14:05"; English spelled out,
# never the ambiguous 12/1/26.
DATE_PATTERNS = {
    "nl": {"date": "d MMMM y", "datetime": "dd-MM-y HH:mm", "datetime_seconds": "dd-MM-y HH:mm:ss"},
    "en": {"date": "d MMMM y", "datetime": "d MMM y, HH:mm", "datetime_seconds": "d MMM y, HH:mm:ss"},
}


def _pattern(kind: str) -> str:
    from flask_babel import get_locale

    language = getattr(get_locale(), "language", None) or "nl"
    return DATE_PATTERNS.get(language, DATE_PATTERNS["en"])[kind]


def format_day(value) -> str:
    """A calendar day in the reader's language (1 december 2026 / 1 December 2026)."""
    from datetime import date

    from flask_babel import format_date

    if isinstance(value, str):  # an ISO day kept in JSON (reports, outcomes)
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    return format_date(value, _pattern("date")) if value else ""


def format_moment(value, seconds: bool = False) -> str:
    """A moment (stored as naive UTC) in the club's time zone and the reader's language."""
    from flask_babel import format_datetime

    return format_datetime(value, _pattern("datetime_seconds" if seconds else "datetime")) if value else ""


def format_count(value) -> str:
    """A whole number with the reader's thousands separator (22.629 / 22,629)."""
    from flask_babel import format_decimal

    return format_decimal(value) if value is not None else ""
