"""What every /api/ request passes before a view: TLS, the token, the allow-list, the rate limit.

A request that did not arrive over TLS is refused (403 https-required) and never redirected:
the token already crossed the network in clear, so a valid one is revoked as exposed.
"""

from flask import current_app, g, request

from app.api.problems import problem
from app.blueprints.web import client_ip
from app.extensions import db
from app.services import api_clients, api_limits

OPEN_PATHS = ("/api/v1/openapi.json",)
TOKEN_PROBLEMS = {
    "unknown": ("invalid-token", "This token is not valid."),
    "revoked": ("token-revoked", "This token was revoked by the club."),
    "exposed": ("token-exposed", "This token was sent without TLS and has been revoked; ask the club for a new one."),
    "expired": ("token-expired", "This client's access has expired; ask the club to extend it."),
    "rotated": ("token-rotated", "This token was replaced by a newer one and its overlap period has ended."),
}
HSTS = "max-age=31536000; includeSubDomains"


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _is_api() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def guard():
    if not _is_api():
        return None
    g.api_client = None
    token = _bearer()
    if not request.is_secure:
        if token:
            checked = api_clients.check_token(token)
            if checked.ok:
                api_clients.mark_exposed(checked.client, source_ip=client_ip())
                db.session.commit()
        return problem(403, "https-required",
                       "This API answers only over HTTPS. The request was refused and nothing was sent; "
                       "a token sent without TLS is revoked.")
    if request.path in OPEN_PATHS:
        return None
    if token is None:
        return problem(401, "token-missing", "Send the client's token as Authorization: Bearer <token>.",
                       headers={"WWW-Authenticate": 'Bearer realm="clubhouse"'})
    checked = api_clients.check_token(token)
    if not checked.ok:
        code, detail = TOKEN_PROBLEMS.get(checked.status, TOKEN_PROBLEMS["unknown"])
        return problem(401, code, detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    client = checked.client
    if not api_clients.address_allowed(client, client_ip()):
        return problem(403, "address-not-allowed",
                       "Requests for this client are accepted only from the addresses the club registered.")
    budget = api_limits.spend(client.id, limit=current_app.config["API_RATE_LIMIT"],
                              redis_url=current_app.config.get("REDIS_URL") or None)
    g.api_budget = budget
    if not budget.allowed:
        db.session.commit()
        return problem(429, "rate-limited",
                       f"At most {budget.limit} requests a minute; try again in {budget.reset_seconds} seconds.",
                       headers={"Retry-After": str(budget.reset_seconds)})
    api_clients.touch(client)
    db.session.commit()  # the counter is shared with the other workers now, not at the end
    g.api_client = client
    return None


def headers(response):
    if not _is_api():
        return response
    response.headers["Strict-Transport-Security"] = HSTS
    response.headers["Cache-Control"] = "no-store"
    budget = g.get("api_budget")
    if budget is not None:
        response.headers["X-RateLimit-Limit"] = str(budget.limit)
        response.headers["X-RateLimit-Remaining"] = str(budget.remaining)
        response.headers["X-RateLimit-Reset"] = str(budget.reset_seconds)
    return response


def register(app) -> None:
    app.before_request(guard)
    app.after_request(headers)
