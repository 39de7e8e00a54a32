"""RFC 9457 problem documents (application/problem+json), the API's only error format."""

import json
from http import HTTPStatus

from flask import Response

PROBLEM_TYPE_BASE = "/api/v1/problems/"

# Codes for plain HTTP errors that carry no code of their own.
GENERIC = {
    400: ("bad-request", "The request is not valid; see errors for the fields."),
    401: ("unauthorized", "Send a valid token as Authorization: Bearer <token>."),
    403: ("forbidden", "This client may not do this."),
    404: ("not-found", "There is nothing at this address."),
    405: ("method-not-allowed", "This address does not accept this method."),
    413: ("too-large", "The request is too large."),
    415: ("unsupported-media-type", "Send the body as application/json."),
    422: ("unprocessable", "The request could not be processed."),
    429: ("rate-limited", "Too many requests; wait for Retry-After seconds."),
    500: ("server-error", "Something went wrong on our side; nothing was saved. Please try again."),
}


def problem(status: int, code: str | None = None, detail: str | None = None, *, title: str | None = None,
            errors: dict | None = None, headers: dict | None = None) -> Response:
    generic_code, generic_detail = GENERIC.get(status, GENERIC[500] if status >= 500 else GENERIC[400])
    code = code or generic_code
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    body = {"type": PROBLEM_TYPE_BASE + code, "title": title or phrase, "status": status,
            "detail": detail or generic_detail, "code": code}
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
