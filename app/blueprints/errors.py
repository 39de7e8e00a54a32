"""Friendly error pages: never a stack trace, never personal data."""

import logging

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


def _messages():
    return {
        400: _("The request could not be understood. Please check what you entered and try again."),
        403: _("You do not have permission to see this page. Ask an administrator if you need it."),
        404: _("This page does not exist (any more)."),
        405: _("This action is not possible in this way."),
        413: _("What you sent is too large."),
        429: _("Too many attempts. Please wait a while and try again."),
        500: _("Something went wrong on our side. Nothing you entered has been saved halfway; please try again."),
    }


def _render(code: int, message: str | None = None):
    message = message or _messages().get(code, _messages()[500])
    if request.path.startswith("/api/") or request.path == "/healthz":
        return jsonify(error=message, status=code), code
    # The language switch returns to the start page: the failed URL is not repeated in the page.
    return render_template("errors/error.html", code=code, message=message, language_next="/"), code


def register(app) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(_error):
        return _render(400, _("This form has expired or was sent from elsewhere. Please reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return _render(error.code or 500)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        from app.extensions import db

        db.session.rollback()
        # Only the type and route: exception text may contain personal data.
        log.error("unhandled %s on %s %s", type(error).__name__, request.method, request.url_rule)
        return _render(500)
