"""The one catalogue of permission codes, the default roles, and the Principal wiring.

Deny by default: a user can do exactly what the codes of their roles grant. Views and
API endpoints declare the code they need with @permission_required (app/auth/decorators.py).
"""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_principal import Identity, Need, Permission, identity_loaded


@dataclass(frozen=True)
class PermissionInfo:
    code: str
    area: str
    description: str


AREAS = {
    "members": _l("Members"),
    "health": _l("Health data"),
    "finance": _l("Finance data"),
    "plans": _l("Plans"),
    "privacy": _l("Privacy requests"),
    "erasure": _l("Erasure"),
    "exports": _l("Exports"),
    "retention": _l("Retention"),
    "users": _l("Users"),
    "roles": _l("Roles"),
    "integrations": _l("Integrations"),
    "audit": _l("Audit log"),
    "api": _l("Partner API scopes"),
}

CATALOGUE: tuple[PermissionInfo, ...] = (
    PermissionInfo("members.view", "members", _l("See the member list and member pages (names, member numbers, memberships).")),
    PermissionInfo("members.contact", "members", _l("See members' contact details: email, phone and address.")),
    PermissionInfo("members.create", "members", _l("Register new members.")),
    PermissionInfo("members.edit", "members", _l("Edit member details and end memberships.")),
    PermissionInfo("members.import", "members", _l("Import members from another system's export file (CSV).")),
    PermissionInfo("members.checkin", "members", _l("Register visits (check-in) by member number.")),
    PermissionInfo("members.subscriptions", "members", _l("Add and end subscriptions.")),
    PermissionInfo("members.consents", "members", _l("Record consents and their withdrawal.")),
    PermissionInfo("members.notes", "members", _l("Read and write staff notes.")),
    PermissionInfo("members.health", "health", _l("Read and write health notes (special-category data).")),
    PermissionInfo("members.finance", "finance", _l("See IBANs and invoices.")),
    PermissionInfo("plans.manage", "plans", _l("Maintain the plan catalogue: add, change, retire and reactivate plans.")),
    PermissionInfo("privacy.view", "privacy", _l("See the register of data requests.")),
    PermissionInfo("privacy.register", "privacy", _l("Register a data request received at the desk, by post, email or phone.")),
    PermissionInfo("privacy.handle", "privacy", _l("Register, verify, extend and close data requests; restrict processing.")),
    PermissionInfo("privacy.legal_hold", "privacy", _l("Place and lift legal holds on members.")),
    PermissionInfo("privacy.erase", "erasure", _l("Carry out erasures (delete or anonymise) and re-apply the erasure register.")),
    PermissionInfo("privacy.export", "exports", _l("Produce a member's data export (PDF and machine-readable package).")),
    PermissionInfo("retention.view", "retention", _l("See the retention policies and what falls due.")),
    PermissionInfo("retention.manage", "retention", _l("Edit retention policies and run the retention sweep.")),
    PermissionInfo("admin.users", "users", _l("Create, edit, deactivate and unlock user accounts.")),
    PermissionInfo("admin.roles", "roles", _l("Create, edit and delete roles and their permissions.")),
    PermissionInfo("integrations.view", "integrations", _l("See partner systems and what data is sent to them.")),
    PermissionInfo("integrations.manage", "integrations", _l("Configure partner systems, API clients and their tokens.")),
    PermissionInfo("audit.view", "audit", _l("Read the audit log.")),
    PermissionInfo("api.members.read", "api", _l("API: read member records.")),
    PermissionInfo("api.members.write", "api", _l("API: create and update member records.")),
    PermissionInfo("api.visits.read", "api", _l("API: read visits.")),
    PermissionInfo("api.visits.write", "api", _l("API: register visits.")),
    PermissionInfo("api.subscriptions.read", "api", _l("API: read subscriptions.")),
    PermissionInfo("api.changes.read", "api", _l("API: read the changes feed of members it received.")),
)

# Partner API scopes: granted only to partner users, never on a role together with staff codes.
API_CODES = frozenset(p.code for p in CATALOGUE if p.area == "api")

CODES = frozenset(p.code for p in CATALOGUE)
BY_CODE = {p.code: p for p in CATALOGUE}


def grouped():
    """The catalogue grouped by area, in catalogue order, for the role editor."""
    groups: dict[str, list[PermissionInfo]] = {}
    for info in CATALOGUE:
        groups.setdefault(info.area, []).append(info)
    return [(area, AREAS[area], items) for area, items in groups.items()]


_STAFF_READ = {"members.view", "members.contact"}

# The default roles; `flask --app wsgi seed-roles` (run by `make run`) creates missing ones.
# Administrator and Privacy officer reach everything or every member's data (erasure, exports):
# they require two-factor login from the start.
DEFAULT_ROLES: dict[str, dict] = {
    "administrator": {
        "name": "Administrator",
        "description": "Manages users, roles and the whole installation.",
        "requires_2fa": True,
        "codes": CODES - API_CODES,
    },
    "manager": {
        "name": "Manager",
        "description": "Runs the club: members, subscriptions, finance and reports.",
        "codes": _STAFF_READ | {
            "members.create", "members.edit", "members.import", "members.checkin", "members.subscriptions",
            "members.consents", "members.notes", "members.finance", "plans.manage", "privacy.view",
            "retention.view", "integrations.view", "audit.view",
        },
    },
    "front_desk": {
        "name": "Front desk",
        "description": "Checks members in, registers new members and requests at the desk.",
        "codes": _STAFF_READ | {
            "members.create", "members.edit", "members.checkin", "members.subscriptions",
            "members.consents", "members.notes", "privacy.register",
        },
    },
    "trainer": {
        "name": "Trainer",
        "description": "Coaches members: sees the member and health notes, no contact or finance data.",
        "codes": {"members.view", "members.checkin", "members.notes", "members.health"},
    },
    "finance": {
        "name": "Finance",
        "description": "Invoices and direct debits.",
        "codes": _STAFF_READ | {"members.finance"},
    },
    "privacy_officer": {
        "name": "Privacy officer",
        "description": "Handles data requests, erasures, exports and retention.",
        "requires_2fa": True,
        "codes": _STAFF_READ | {
            "members.edit", "members.consents", "members.finance", "members.notes",
            "privacy.view", "privacy.register", "privacy.handle", "privacy.legal_hold", "privacy.erase",
            "privacy.export", "retention.view", "retention.manage", "integrations.view",
            "audit.view",
        },
    },
}


def PermissionNeed(code: str) -> Need:  # noqa: N802 - reads like the Need constructors
    """The Principal need for one permission code."""
    return Need("permission", code)


def permission(*codes: str) -> Permission:
    """A Principal Permission satisfied by any one of the codes."""
    unknown = set(codes) - CODES
    if unknown:
        raise ValueError(f"unknown permission codes: {sorted(unknown)}")
    return Permission(*(PermissionNeed(code) for code in codes))


def on_identity_loaded(_sender, identity: Identity) -> None:
    """Turn the logged-in user's roles into permission needs."""
    from flask_login import current_user

    if not current_user.is_authenticated:
        return
    identity.user = current_user
    for code in current_user.permission_codes():
        identity.provides.add(PermissionNeed(code))


def connect(app) -> None:
    identity_loaded.connect_via(app)(on_identity_loaded)
