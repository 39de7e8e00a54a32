"""Partner API clients: creating, changing, rotating and revoking them, and checking a token.

A client is a User of kind 'partner' (so the one permission catalogue limits it) plus an
ApiClient row with its settings. Tokens look like ``chp_<id>_<secret>``: shown once, stored
only as a SHA-256 hash, compared in constant time. Functions flush; the caller commits.
"""

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from app.auth.permissions import API_CODES, CODES
from app.extensions import db
from app.models import ApiClient, Role, User
from app.services import accounts, audit, clock
from app.services import roles as role_service
from app.services.errors import DomainError

# Member fields as the API names them, in the order responses list them.
API_FIELDS = (
    "member_number", "first_name", "infix", "last_name", "date_of_birth", "gender", "email", "phone",
    "street", "house_number", "postcode", "city", "country", "joined_on", "ended_on", "status",
)
# Every client receives these: without them a partner cannot tell members apart.
ALWAYS_FIELDS = ("member_number", "first_name", "infix", "last_name")
TOKEN_PREFIX = "chp_"  # noqa: S105 - not a secret: tokens start with it so scanners find them
DEFAULT_EXPIRY_DAYS = 365
MAX_EXPIRY_DAYS = 3650
# last_used_at is written at most this often, so a busy client does not write on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiClientError(DomainError, ValueError):
    """A change to an API client refused by a rule."""

    def __str__(self) -> str:
        return str(self.message)


# --- settings -----------------------------------------------------------------------------


def granted_fields(client: ApiClient) -> tuple[str, ...]:
    """The member fields this client receives, in API order."""
    extra = set(client.extra_fields.split(",")) if client.extra_fields else set()
    return tuple(f for f in API_FIELDS if f in ALWAYS_FIELDS or f in extra)


def check_fields(fields) -> list[str]:
    """The extra fields in API order; an unknown name is refused."""
    wanted = {f.strip() for f in fields or () if f and f.strip()}
    unknown = wanted - set(API_FIELDS)
    if unknown:
        raise ApiClientError(_l("Unknown member field: %(names)s.", names=", ".join(sorted(unknown))), field="fields")
    return [f for f in API_FIELDS if f in wanted and f not in ALWAYS_FIELDS]


# What a member field shows, and so what the staff member who shares it must see themselves:
# nobody hands a partner more of the member administration than their own roles show them.
CONTACT_FIELDS = frozenset({"email", "phone", "street", "house_number", "postcode", "city", "country"})


def assert_may_share(actor, codes, fields) -> None:
    """Refuse an actor sharing member data they may not see: any scope needs members.view, contact fields members.contact."""
    if actor is None:  # the server's command line
        return
    held = set(actor.permission_codes())
    needed = set()
    if codes:
        needed.add("members.view")
    if set(fields or ()) & CONTACT_FIELDS:
        needed |= {"members.view", "members.contact"}
    missing = needed - held
    if missing:
        raise ApiClientError(_l("You cannot share member data you may not see yourself (you lack: %(codes)s).",
                                codes=", ".join(sorted(missing))), field="fields")


def parse_networks(values) -> list[str]:
    """Addresses and CIDR ranges (IPv4 or IPv6) in their normal spelling; nonsense is refused."""
    found = []
    for value in values or ():
        for part in str(value).replace(",", " ").split():
            try:
                network = ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ApiClientError(_l("Not an address or CIDR range: %(value)s", value=part[:60]),
                                     field="networks") from None
            if str(network) not in found:
                found.append(str(network))
    return found


def networks_of(client: ApiClient) -> list[str]:
    return [n for n in client.allowed_networks.split(",") if n]


def address_allowed(client: ApiClient, address: str | None) -> bool:
    """True when the client has no allow-list, or the address falls in one of its ranges."""
    networks = networks_of(client)
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in ipaddress.ip_network(n) for n in networks)


def check_scopes(scopes) -> set[str]:
    """Permission codes for a client's own role: known codes, partner API scopes only."""
    codes = {s.strip() for s in scopes or () if s and s.strip()}
    unknown = codes - CODES
    if unknown:
        raise ApiClientError(_l("Unknown scope: %(names)s.", names=", ".join(sorted(unknown))), field="scopes")
    staff = codes - API_CODES
    if staff:
        raise ApiClientError(_l("Only partner API scopes (api.*) can be given to a client: %(names)s.",
                                names=", ".join(sorted(staff))), field="scopes")
    return codes


def check_expiry_days(days) -> int:
    try:
        days = int(days)
    except (TypeError, ValueError):
        raise ApiClientError(_l("The expiry is a number of days."), field="expires_days") from None
    if not 1 <= days <= MAX_EXPIRY_DAYS:
        raise ApiClientError(_l("The expiry is between 1 and %(max)s days.", max=MAX_EXPIRY_DAYS),
                             field="expires_days")
    return days


def scopes_of(client: ApiClient) -> list[str]:
    return sorted(client.user.permission_codes())


def own_role_name(name: str) -> str:
    return f"{name} (API)"


# --- tokens -------------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _new_token() -> tuple[str, str, str]:
    """(token, token id, hash of the token)."""
    token_id = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    return token, token_id, _hash(token)


def _token_id(token: str) -> str | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    token_id, _, secret = token[len(TOKEN_PREFIX):].partition("_")
    if len(token_id) != 12 or not secret:
        return None
    return token_id


_DUMMY_HASH = _hash("chp_000000000000_dummy")


@dataclass(frozen=True)
class TokenCheck:
    """What a presented token came to: ok, or why not (unknown, revoked, expired, rotated)."""

    status: str
    client: ApiClient | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def check_token(token: str | None) -> TokenCheck:
    """Find the client a bearer token belongs to, comparing hashes in constant time."""
    token = (token or "").strip()
    token_id = _token_id(token) if len(token) < 200 else None
    presented = _hash(token)
    client = None
    if token_id is not None:
        client = db.session.scalar(
            select(ApiClient).where(or_(ApiClient.token_id == token_id, ApiClient.previous_token_id == token_id))
            .options(selectinload(ApiClient.user))
        )
    if client is None:
        hmac.compare_digest(presented, _DUMMY_HASH)  # the same work as for a known id
        return TokenCheck("unknown")
    now = clock.utcnow()
    if client.token_id == token_id and hmac.compare_digest(presented, client.token_hash):
        current = True
    elif client.previous_token_id == token_id and hmac.compare_digest(presented, client.previous_token_hash or ""):
        current = False
    else:
        return TokenCheck("unknown")
    if client.revoked_at is not None:
        return TokenCheck(client.revoked_reason or "revoked", client)
    if not client.user.active:
        return TokenCheck("revoked", client)
    if client.expires_at <= now:
        return TokenCheck("expired", client)
    if not current and (client.previous_valid_until is None or client.previous_valid_until <= now):
        return TokenCheck("rotated", client)
    return TokenCheck("ok", client)


def touch(client: ApiClient) -> None:
    """Note the use (at most once a minute per client)."""
    now = clock.utcnow()
    if client.last_used_at is None or now - client.last_used_at >= LAST_USED_RESOLUTION:
        client.last_used_at = now
        db.session.flush()


# --- state ----------------------------------------------------------------------------------

STATE_LABELS = {
    "active": _l("active"),
    "expired": _l("expired"),
    "revoked": _l("revoked"),
    "exposed": _l("revoked: token sent without TLS"),
}


def state(client: ApiClient) -> str:
    if client.revoked_at is not None:
        return "exposed" if client.revoked_reason == "exposed" else "revoked"
    if client.expires_at <= clock.utcnow():
        return "expired"
    return "active"


@dataclass(frozen=True)
class Summary:
    """What the client pages show of a client: its state (and words for it), scopes, fields, addresses."""

    state: str
    state_label: str
    scopes: list[str]
    fields: tuple[str, ...]
    networks: list[str]


def summary(client: ApiClient) -> Summary:
    current = state(client)
    return Summary(current, str(STATE_LABELS[current]), scopes_of(client), granted_fields(client), networks_of(client))


# --- managing clients ---------------------------------------------------------------------


def find(name: str) -> ApiClient | None:
    return db.session.scalar(
        select(ApiClient).join(User, User.id == ApiClient.user_id)
        .where(func.lower(User.username) == (name or "").strip().lower(), User.kind == "partner")
    )


def get(client_id: int) -> ApiClient | None:
    return db.session.get(ApiClient, client_id)


def all_clients() -> list[ApiClient]:
    return list(db.session.scalars(
        select(ApiClient).join(User, User.id == ApiClient.user_id)
        .options(selectinload(ApiClient.user).selectinload(User.roles).selectinload(Role.grants))
        .order_by(func.lower(User.username))
    ))


def partner_roles() -> list[Role]:
    """Roles holding only partner API scopes: the ones a client may be given."""
    return [r for r in role_service.all_roles() if accounts.is_partner_codes(r.permission_codes)]


def roles_by_names(names) -> list[Role]:
    """Existing roles by name (case-insensitive); an unknown name is refused."""
    found = []
    for name in names or ():
        role = db.session.scalar(select(Role).where(func.lower(Role.name) == name.strip().lower()))
        if role is None:
            raise ApiClientError(_l("Unknown role: %(name)s.", name=name.strip()[:80]), field="roles")
        found.append(role)
    return found


def _set_own_scopes(actor, user: User, name: str, codes: set[str], roles: list[Role]) -> list[Role]:
    """The client's own role holding exactly `codes` (created, changed, or dropped when empty)."""
    role_name = own_role_name(name)
    own = db.session.scalar(select(Role).where(Role.name == role_name))
    others = [r for r in roles if r.name != role_name]
    if codes:
        if own is None:
            own = role_service.create_role(actor, name=role_name, description=f"Scopes of the API client {name}.",
                                           codes=codes, requires_2fa=False)
        elif own.permission_codes != codes:
            role_service.update_role(actor, own, name=role_name, description=own.description, codes=codes,
                                     requires_2fa=False)
        return [*others, own]
    return others


def _refuse(error: accounts.AccountError) -> ApiClientError:
    return ApiClientError(error.message, field=error.field)


def create_client(actor, *, name: str, roles=(), scopes=(), fields=(), networks=(),
                  expires_days=DEFAULT_EXPIRY_DAYS, processing_agreement: str = "") -> tuple[ApiClient, str]:
    """Create a partner user and its settings; returns (client, token). The token is not kept."""
    name = (name or "").strip()
    if not name or len(name) > 80 or any(not ch.isprintable() for ch in name):
        raise ApiClientError(_l("A client needs a name (at most 80 characters)."), field="name")
    if accounts.find_by_username(name) is not None:
        raise ApiClientError(_l("This name is already taken by a user or client."), field="name")
    codes = check_scopes(scopes)
    extra = check_fields(fields)
    allowed = parse_networks(networks)
    days = check_expiry_days(expires_days)
    assert_may_share(actor, codes | {c for r in roles for c in r.permission_codes}, extra)
    try:
        accounts.check_roles_for("partner", roles)
    except accounts.AccountError as error:
        raise _refuse(error) from None
    if not codes and not roles:
        raise ApiClientError(_l("Give the client at least one scope or role."), field="scopes")
    user = User(username=name, full_name=name, kind="partner", password_hash="", active=True)
    db.session.add(user)
    db.session.flush()
    try:
        user.roles = _set_own_scopes(actor, user, name, codes, list(roles))
    except accounts.AccountError as error:
        raise _refuse(error) from None
    token, token_id, token_hash = _new_token()
    client = ApiClient(
        user=user, extra_fields=",".join(extra), allowed_networks=",".join(allowed),
        expires_at=clock.utcnow() + timedelta(days=days), processing_agreement=(processing_agreement or "").strip(),
        token_id=token_id, token_hash=token_hash,
    )
    db.session.add(client)
    db.session.flush()
    audit.record("api_client.created", actor, target_type="api_client", target_id=client.id, details={
        "name": name, "scopes": sorted(user.permission_codes()), "fields": list(granted_fields(client)),
        "networks": allowed, "expires_at": client.expires_at.isoformat(timespec="seconds"),
    })
    return client, token


def update_client(actor, client: ApiClient, *, scopes=None, roles=None, fields=(), networks=(),
                  expires_at: datetime | None = None, processing_agreement: str = "") -> list[str]:
    """Change a client's scopes, fields, allow-list, expiry or agreement note; returns what changed."""
    changed = []
    wanted = check_fields(fields)
    assert_may_share(actor, set(client.user.permission_codes()) | set(check_scopes(scopes) if scopes else ()), wanted)
    extra = ",".join(wanted)
    allowed = ",".join(parse_networks(networks))
    if extra != client.extra_fields:
        client.extra_fields = extra
        changed.append("fields")
    if allowed != client.allowed_networks:
        client.allowed_networks = allowed
        changed.append("networks")
    if expires_at is not None and expires_at != client.expires_at:
        client.expires_at = expires_at
        changed.append("expires_at")
    note = (processing_agreement or "").strip()
    if note != client.processing_agreement:
        client.processing_agreement = note
        changed.append("processing_agreement")
    if scopes is not None:
        codes = check_scopes(scopes)
        current_roles = list(client.user.roles) if roles is None else list(roles)
        try:
            accounts.check_roles_for("partner", [r for r in current_roles if r.name != own_role_name(client.name)])
            new_roles = _set_own_scopes(actor, client.user, client.name, codes, current_roles)
        except accounts.AccountError as error:
            raise _refuse(error) from None
        before = set(client.user.permission_codes())
        client.user.roles = new_roles
        client.user.forget_permissions()
        if not client.user.permission_codes():
            raise ApiClientError(_l("Give the client at least one scope or role."), field="scopes")
        if set(client.user.permission_codes()) != before:
            changed.append("scopes")
    db.session.flush()
    if changed:
        audit.record("api_client.updated", actor, target_type="api_client", target_id=client.id, details={
            "fields_changed": changed, "scopes": scopes_of(client), "fields": list(granted_fields(client)),
        })
    return changed


def rotate(actor, client: ApiClient, *, overlap_hours: int = 24) -> str:
    """A new token; the current one keeps working for overlap_hours (not when it was revoked)."""
    now = clock.utcnow()
    if client.revoked_at is None and overlap_hours > 0:
        client.previous_token_id = client.token_id
        client.previous_token_hash = client.token_hash
        client.previous_valid_until = now + timedelta(hours=overlap_hours)
    else:
        client.previous_token_id = client.previous_token_hash = client.previous_valid_until = None
    was_revoked = client.revoked_reason
    token, client.token_id, client.token_hash = _new_token()
    client.revoked_at = None
    client.revoked_reason = None
    db.session.flush()
    audit.record("api_client.rotated", actor, target_type="api_client", target_id=client.id, details={
        "name": client.name, "overlap_hours": overlap_hours if client.previous_token_id else 0,
        "after": was_revoked,
    })
    return token


def revoke(actor, client: ApiClient, *, reason: str = "revoked", source_ip: str | None = None) -> None:
    """Stop every token of the client at once (the current and a rotated one)."""
    client.revoked_at = clock.utcnow()
    client.revoked_reason = reason
    client.previous_token_id = client.previous_token_hash = client.previous_valid_until = None
    db.session.flush()
    audit.record("api_client.token_exposed" if reason == "exposed" else "api_client.revoked", actor,
                 target_type="api_client", target_id=client.id, details={"name": client.name},
                 source_ip=source_ip)


def mark_exposed(client: ApiClient, *, source_ip: str | None = None) -> None:
    """A valid token arrived without TLS: it is no longer secret, so it is revoked."""
    revoke(None, client, reason="exposed", source_ip=source_ip)
