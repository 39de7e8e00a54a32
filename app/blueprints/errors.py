"""Friendly error pages: never a stack trace, never personal data."""

import logging

from flask import current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


# An error page translates only its own message (it used to translate all seven each time).
_MESSAGES = {
    400: _l("The request could not be understood. Please check what you entered and try again."),
    403: _l("You do not have permission to see this page. Ask an administrator if you need it."),
    404: _l("This page does not exist (any more)."),
    405: _l("This action is not possible in this way."),
    413: _l("What you sent is too large."),
    429: _l("Too many attempts. Please wait a while and try again."),
    500: _l("Something went wrong on our side. Nothing you entered has been saved halfway; please try again."),
}


def _render(code: int, message: str | None = None, error: Exception | None = None):
    if _is_api():
        from app.api.problems import problem

        data = getattr(error, "data", None)
        messages = data.get("messages") if isinstance(data, dict) else None
        if isinstance(messages, dict) and len(messages) == 1 and isinstance(next(iter(messages.values())), dict):
            messages = next(iter(messages.values()))  # webargs nests by location ("query", "json")
        messages = messages if isinstance(messages, dict) and messages else None
        detail = None
        if messages:
            detail = "; ".join(f"{name}: {' '.join(map(str, m)) if isinstance(m, list) else m}"
                               for name, m in sorted(messages.items(), key=lambda item: str(item[0])))
        headers = {"Allow": ", ".join(sorted(error.valid_methods))} if getattr(error, "valid_methods", None) else None
        return problem(code, detail=detail, errors=messages, headers=headers)
    message = message or str(_MESSAGES.get(code, _MESSAGES[500]))
    if request.path == "/healthz":
        return jsonify(error=message, status=code), code
    # The language switch returns to the start page: the failed URL is not repeated in the page.
    return render_template("errors/error.html", code=code, message=message, language_next="/"), code


def _is_api() -> bool:
    return request.path == "/api" or request.path.startswith("/api/") or current_app.config["PORTAL_MODE"] == "api"


def register(app) -> None:
    from app.services.high_water import HighWaterError

    @app.errorhandler(HighWaterError)
    def counters_unreadable(_error):
        from app.extensions import db

        db.session.rollback()
        log.error("counter high-water file unreadable on %s %s", request.method, request.url_rule)
        message = _("No new number can be given out now: the counter file kept beside the erasure "
                    "ledger cannot be read. Nothing was saved. An administrator restores "
                    "counters-high-water.json from its backup; until then, please try again later.")
        return _render(503, message)

    @app.errorhandler(CSRFError)
    def csrf_error(_error):
        return _render(400, _("This form has expired or was sent from elsewhere. Please reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return _render(error.code or 500, error=error)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        from app.extensions import db

        db.session.rollback()
        # Only the type and route: exception text may contain personal data.
        log.error("unhandled %s on %s %s", type(error).__name__, request.method, request.url_rule)
        return _render(500)
