"""Small helpers shared by the views (request parsing only; rules live in app/services)."""

from flask import current_app, request


def client_ip() -> str | None:
    """The client's address; X-Forwarded-For is believed only from a configured trusted proxy."""
    remote = request.remote_addr
    if remote in current_app.config["TRUSTED_PROXIES"]:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            return forwarded.split(",")[-1].strip() or remote
    return remote


def page_arg(name: str = "page") -> int:
    """A page number from the query string; nonsense becomes page 1."""
    value = request.args.get(name, "1")
    return int(value) if value.isdigit() and 0 < int(value) < 1_000_000 else 1
