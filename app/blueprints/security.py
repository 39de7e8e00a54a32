"""Request-level security: response headers, the client's address, safe redirects, request size.

Everything here is request parsing, shared by every blueprint; the rules about accounts
live in app/services/accounts.py.
"""

import hashlib
import hmac
import ipaddress
import unicodedata
from datetime import timedelta
from urllib.parse import urlsplit

from flask import abort, current_app, request, url_for

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
MAX_NEXT_LENGTH = 2000


# --- the client's address ----------------------------------------------------------------

def _networks(entries) -> list:
    networks = []
    for entry in entries or ():
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            continue  # deploy-check reports entries that are not addresses
    return networks


def _is_trusted(address: str | None, networks) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.strip().split("%")[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:  # a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


def client_ip() -> str | None:
    """The client's address: X-Forwarded-For is believed only as far as it came through trusted proxies.

    The header is read from the right: each hop added by a proxy listed in TRUSTED_PROXIES
    (addresses or networks) is skipped, and the first address a trusted proxy did not add
    is the client. Without trusted proxies the header is ignored entirely, so a client
    cannot choose its own address for rate limits, the audit log or session protection.
    """
    remote = request.remote_addr
    networks = _networks(current_app.config.get("TRUSTED_PROXIES"))
    if not _is_trusted(remote, networks):
        return remote
    hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
    client = remote
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # garbage in the header: believe no further
        client = hop
        if not _is_trusted(hop, networks):
            break
    return client


def session_identifier() -> str:
    """Flask-Login's session protection, fed with client_ip() instead of a spoofable header."""
    base = f"{client_ip()}|{request.headers.get('User-Agent', '')}"
    return hashlib.sha512(base.encode("utf-8", "replace")).hexdigest()


def address_key(purpose: str) -> str:
    """A keyed hash of the client address for rate-limit keys: the address itself is never stored."""
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"{purpose}|{client_ip()}".encode(), hashlib.sha256).hexdigest()


def address_and_email_key(purpose: str, email: str) -> str:
    """A keyed hash of the client address together with an e-mail address (folded to lower case):
    a rate-limit key for one person on one network, holding neither in clear."""
    secret = current_app.config["SECRET_KEY"].encode()
    folded = (email or "").strip().casefold()
    return hmac.new(secret, f"{purpose}|{client_ip()}|{folded}".encode(), hashlib.sha256).hexdigest()


# --- redirects -----------------------------------------------------------------------------

def _odd_character(ch: str) -> bool:
    return ch.isspace() or ch == "\\" or unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def is_safe_target(target) -> bool:
    """True for a path on this site ("/members?q=x"); False for anything a browser may take elsewhere.

    Refused: other schemes and hosts, "//host" and "/\\host" (browsers read both as another
    host), any whitespace or control character (browsers drop tabs and newlines, which turns
    "/\\t/evil" into "//evil"; CR/LF would also split the Location header), and overlong values.
    """
    if not isinstance(target, str) or not target or len(target) > MAX_NEXT_LENGTH:
        return False
    if not target.startswith("/") or target.startswith("//"):
        return False
    if any(_odd_character(ch) for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target, default_endpoint: str = "main.dashboard", **default_values) -> str:
    """Where to go after a form: `target` when it is a path on this site, else the default page."""
    if is_safe_target(target):
        return target
    return url_for(default_endpoint, **default_values)


# --- hooks -----------------------------------------------------------------------------------

def _too_large() -> None:
    """A body larger than MAX_CONTENT_LENGTH is refused from its Content-Length, before it is read."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if request.endpoint == "members.import_upload" and request.method == "POST":
        limit = request.max_content_length = current_app.config["IMPORT_MAX_BYTES"]  # the member file
    if limit and request.content_length is not None and request.content_length > limit:
        abort(413)


def _intake_flood() -> None:
    """A coarse per-address limit on posts to the public form, checked before the form is parsed.

    The finer limit (INTAKE_RATE_LIMIT, on requests accepted) is the intake view's; this one
    only keeps a single address from making a worker parse form after form.
    """
    from app.services import rate_limits

    if request.method != "POST" or request.endpoint != "intake.form":
        return
    from app.extensions import db

    key = f"intake-post:{address_key('intake-post')}"
    count = rate_limits.hit(key, timedelta(hours=1))
    db.session.commit()
    if count > current_app.config["INTAKE_POST_LIMIT"]:
        from flask import make_response, render_template

        # The page says when to try again and which other ways reach the club; nothing was read.
        page = render_template("intake/limited.html", retry_at=rate_limits.window_ends(timedelta(hours=1)))
        abort(make_response(page, 429))


def register(app) -> None:
    # First of all before_request hooks, so CSRF checking does not parse a body that is refused.
    app.before_request_funcs.setdefault(None, [])[0:0] = [_too_large, _intake_flood]

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint != "static":  # pages, JSON and downloads (PDF, ZIP) may all hold personal data
            response.headers.setdefault("Cache-Control", "no-store")
        if app.config.get("HSTS_ENABLED"):
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
