"""Staff accounts: creating and changing users, checking a login, lockout and two-factor.

Rules that protect the installation live here, so every caller (pages, CLI) obeys them:
a user cannot change their own roles or deactivate themselves, and the last active
administrator (a user holding both admin.users and admin.roles) cannot be demoted or
deactivated. Functions flush but never commit; the caller commits.
"""

from dataclasses import dataclass
from datetime import UTC, timedelta
from functools import cache

import pyotp
import pyotp.utils
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Counter, Role, RolePermission, User, user_roles
from app.services import audit, clock, passwords

ADMIN_CODES = frozenset({"admin.users", "admin.roles"})


class AccountError(Exception):
    """A change refused by a rule; str() is a sentence for the person who tried it."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return str(self.message)


def find_by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


# --- logging in -----------------------------------------------------------------------

@dataclass
class LoginResult:
    """What a login attempt came to: ok (password right), locked, or refused."""

    status: str  # "ok", "locked", "refused"
    user: User | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > clock.utcnow()


def register_failure(user: User, *, max_failures: int, lockout_minutes: int, source_ip=None,
                     reason: str = "wrong_password") -> bool:
    """Count one failed attempt in the database (atomically, so all workers share it).

    Returns True when this failure locked the account.
    """
    db.session.execute(
        update(User).where(User.id == user.id).values(failed_login_count=User.failed_login_count + 1)
    )
    db.session.refresh(user, ["failed_login_count"])
    audit.record("login.failed", user, target_type="user", target_id=user.id,
                 details={"reason": reason}, source_ip=source_ip)
    if user.failed_login_count >= max_failures:
        user.locked_until = clock.utcnow() + timedelta(minutes=lockout_minutes)
        user.failed_login_count = 0
        audit.record("login.locked", user, target_type="user", target_id=user.id,
                     details={"minutes": lockout_minutes}, source_ip=source_ip)
        db.session.flush()
        return True
    db.session.flush()
    return False


def authenticate(username: str, password: str, *, max_failures: int = 5, lockout_minutes: int = 15,
                 source_ip: str | None = None) -> LoginResult:
    """Check a username and password, counting failures and locking the account after too many.

    A failed attempt for a username that does not exist is audited without the typed name
    (it may be a mistyped password or someone else's personal data).
    """
    user = find_by_username(username)
    if user is None or user.kind != "staff" or not user.active:
        passwords.verify_password(_dummy_hash(), password)  # even out timing
        audit.record("login.failed", None, details={"reason": "unknown_or_inactive"}, source_ip=source_ip)
        return LoginResult("refused")
    if is_locked(user):
        audit.record("login.failed", user, target_type="user", target_id=user.id,
                     details={"reason": "locked"}, source_ip=source_ip)
        return LoginResult("locked", user)
    if not passwords.verify_password(user.password_hash, password):
        locked = register_failure(user, max_failures=max_failures, lockout_minutes=lockout_minutes,
                                  source_ip=source_ip)
        return LoginResult("locked" if locked else "refused", user)
    return LoginResult("ok", user)


@cache
def _dummy_hash() -> str:
    """A hash to check against when the account does not exist, so both cases take as long."""
    return passwords.hash_password("x" * 12)


def complete_login(user: User, *, source_ip: str | None = None, second_factor: bool = False) -> None:
    """The user proved who they are: reset the failure count and note the login."""
    user.failed_login_count = 0
    user.locked_until = None
    user.last_login_at = clock.utcnow()
    audit.record("login.succeeded", user, target_type="user", target_id=user.id,
                 details={"two_factor": second_factor}, source_ip=source_ip)
    db.session.flush()


def record_logout(user: User, *, source_ip: str | None = None, reason: str = "user") -> None:
    audit.record("logout", user, target_type="user", target_id=user.id, details={"reason": reason},
                 source_ip=source_ip)


# --- two-factor -----------------------------------------------------------------------

def two_factor_required(user: User) -> bool:
    """True when one of the user's roles makes two-factor login mandatory."""
    return any(role.requires_2fa for role in user.roles)


def start_totp_enrolment(user: User) -> str:
    """Give the user a fresh secret (not yet active); returns it."""
    user.totp_secret = pyotp.random_base32()
    user.totp_enabled = False
    user.totp_last_step = None
    db.session.flush()
    return user.totp_secret


def provisioning_uri(user: User, issuer: str) -> str:
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username, issuer_name=issuer)


def totp_code_valid(user: User, code: str) -> bool:
    """Accept a six-digit code from the user's app once (one step of clock drift allowed).

    The accepted time step is stored with a conditional UPDATE, so a code seen by someone
    looking over a shoulder cannot be replayed, not even in a parallel request to another
    worker: only one UPDATE can move totp_last_step past that step.
    """
    if not user.totp_secret:
        return False
    code = (code or "").replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return False
    totp = pyotp.TOTP(user.totp_secret)
    now = clock.utcnow().replace(tzinfo=UTC).timestamp()
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if pyotp.utils.strings_equal(code, totp.generate_otp(step)):
            claimed = db.session.execute(
                update(User)
                .where(User.id == user.id)
                .where(or_(User.totp_last_step.is_(None), User.totp_last_step < step))
                .values(totp_last_step=step)
            ).rowcount
            db.session.refresh(user, ["totp_last_step"])
            return claimed == 1
    return False


def confirm_totp_enrolment(user: User, code: str) -> None:
    if not totp_code_valid(user, code):
        raise AccountError(_l("That code is not right. Check the time on your phone and try the newest code."),
                           field="code")
    user.totp_enabled = True
    audit.record("user.two_factor_enabled", user, target_type="user", target_id=user.id)
    db.session.flush()


def disable_totp(user: User, code: str) -> None:
    """The user turns two-factor off themselves (not allowed when a role requires it)."""
    if two_factor_required(user):
        raise AccountError(_l("One of your roles requires two-factor login; it cannot be turned off."))
    if not totp_code_valid(user, code):
        raise AccountError(_l("That code is not right."), field="code")
    user.totp_enabled = False
    user.totp_secret = None
    audit.record("user.two_factor_disabled", user, target_type="user", target_id=user.id)
    db.session.flush()


def reset_totp(actor: User, user: User) -> None:
    """An administrator clears a user's two-factor (lost phone); they enrol again if required."""
    user.totp_enabled = False
    user.totp_secret = None
    audit.record("user.two_factor_reset", actor, target_type="user", target_id=user.id)
    db.session.flush()


# --- passwords --------------------------------------------------------------------------

def check_password_policy(password: str, username: str | None = None, field: str = "password") -> None:
    problems = passwords.problem_messages(password, username)
    if problems:
        raise AccountError(" ".join(problems), field=field)


def change_own_password(user: User, current: str, new: str) -> None:
    """The user sets a new password (also the forced change after a temporary one)."""
    if not passwords.verify_password(user.password_hash, current):
        raise AccountError(_l("Your current password is not right."), field="current_password")
    check_password_policy(new, user.username, field="new_password")
    if passwords.verify_password(user.password_hash, new):
        raise AccountError(_l("Choose a password different from the current one."), field="new_password")
    user.password_hash = passwords.hash_password(new)
    user.must_change_password = False
    audit.record("user.password_changed", user, target_type="user", target_id=user.id)
    db.session.flush()


def reset_password(actor: User, user: User, temporary_password: str) -> None:
    """An administrator gives a user a temporary password, to be changed at the next login."""
    check_password_policy(temporary_password, user.username)
    user.password_hash = passwords.hash_password(temporary_password)
    user.must_change_password = True
    user.failed_login_count = 0
    user.locked_until = None
    audit.record("user.password_reset", actor, target_type="user", target_id=user.id)
    db.session.flush()


# --- administrators ---------------------------------------------------------------------

def serialise_admin_changes() -> None:
    """Let one transaction at a time run the last-administrator check and its change.

    Without this, two administrators deactivating each other at the same moment would both
    see the other still active and both succeed. PostgreSQL: an advisory transaction lock;
    SQLite: taking the database's write lock (an upsert) before the check reads anything.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(7302)"))
    else:
        statement = sqlite_insert(Counter).values(name="admin_guard", value=1)
        db.session.execute(statement.on_conflict_do_update(
            index_elements=[Counter.name], set_={"value": Counter.value + 1}))


def active_administrator_ids(*, role_codes_override: dict[int, set[str]] | None = None,
                             user_roles_override: dict[int, list[Role]] | None = None,
                             inactive: set[int] = frozenset()) -> set[int]:
    """Ids of active staff users holding both admin codes, optionally as if a change were made.

    Reads plain rows (not ORM objects, which may be stale) so that after
    serialise_admin_changes() it sees what other transactions committed. The overrides let a
    rule ask "who would still be an administrator after this change?" before changing anything.
    """
    role_codes_override = role_codes_override or {}
    user_roles_override = user_roles_override or {}
    active_ids = set(db.session.scalars(
        select(User.id).where(User.active.is_(True), User.kind == "staff")
    ))
    roles_of: dict[int, set[int]] = {}
    for user_id, role_id in db.session.execute(select(user_roles.c.user_id, user_roles.c.role_id)):
        roles_of.setdefault(user_id, set()).add(role_id)
    for user_id, roles in user_roles_override.items():
        roles_of[user_id] = {role.id for role in roles}
    codes_of: dict[int, set[str]] = {}
    for role_id, code in db.session.execute(
        select(RolePermission.role_id, RolePermission.code).where(RolePermission.code.in_(ADMIN_CODES))
    ):
        codes_of.setdefault(role_id, set()).add(code)
    for role_id, codes in role_codes_override.items():
        codes_of[role_id] = set(codes) & ADMIN_CODES
    result = set()
    for user_id in active_ids - set(inactive):
        held = set()
        for role_id in roles_of.get(user_id, ()):
            held |= codes_of.get(role_id, set())
        if ADMIN_CODES <= held:
            result.add(user_id)
    return result


def is_administrator(user: User) -> bool:
    return user.active and ADMIN_CODES <= set(user.permission_codes())


_LAST_ADMIN = _l(
    "This would leave no active administrator (a user with both the users and the roles permissions). "
    "Give another user the administrator role first."
)


# --- staff and partner roles are never mixed ---------------------------------------------

_MIXED_ROLE = _l("A role holds either partner API scopes (api.*) or staff permissions, never both.")
_PARTNER_ROLE_FOR_STAFF = _l("Roles with partner API scopes (api.*) are only for API clients, not for staff.")
_STAFF_ROLE_FOR_PARTNER = _l("An API client can only hold roles with partner API scopes (api.*).")


def is_partner_codes(codes) -> bool:
    """True when the codes are partner API scopes only (an empty set is a staff role)."""
    from app.auth.permissions import API_CODES

    codes = set(codes)
    return bool(codes) and codes <= API_CODES


def check_role_codes(codes, holders=()) -> None:
    """A role is a staff role or a partner role: refuse a mix, or codes its holders may not have."""
    from app.auth.permissions import API_CODES

    codes = set(codes)
    if codes & API_CODES and codes - API_CODES:
        raise AccountError(_MIXED_ROLE, field="permissions")
    partner = is_partner_codes(codes)
    for user in holders:
        if partner and user.kind != "partner":
            raise AccountError(_PARTNER_ROLE_FOR_STAFF, field="permissions")
        if not partner and user.kind == "partner" and codes:
            raise AccountError(_STAFF_ROLE_FOR_PARTNER, field="permissions")


def check_roles_for(kind: str, roles) -> None:
    """api.* codes reach partner users only; partner users get nothing else."""
    for role in roles:
        partner = is_partner_codes(role.permission_codes)
        if kind == "partner" and not partner:
            raise AccountError(_STAFF_ROLE_FOR_PARTNER, field="roles")
        if kind != "partner" and partner:
            raise AccountError(_PARTNER_ROLE_FOR_STAFF, field="roles")


# --- managing users ---------------------------------------------------------------------

def _check_username(username: str, user: User | None = None) -> str:
    username = (username or "").strip()
    if not username:
        raise AccountError(_l("A username is required."), field="username")
    other = find_by_username(username)
    if other is not None and other is not user:
        raise AccountError(_l("This username is already taken."), field="username")
    return username


def create_user(username: str, password: str, *, full_name: str = "", email: str | None = None,
                roles: list[Role] = (), must_change_password: bool = False) -> User:
    """Create a staff account (flushed); the caller checks the password policy first."""
    user = User(
        username=username.strip(),
        full_name=full_name,
        email=email,
        password_hash=passwords.hash_password(password),
        must_change_password=must_change_password,
        roles=list(roles),
    )
    db.session.add(user)
    db.session.flush()
    return user


def create_staff_user(actor: User, *, username: str, full_name: str, email: str | None,
                      roles: list[Role], temporary_password: str) -> User:
    """An administrator creates an employee's account with a temporary password."""
    username = _check_username(username)
    check_roles_for("staff", roles)
    check_password_policy(temporary_password, username, field="temporary_password")
    user = create_user(username, temporary_password, full_name=full_name.strip(), email=email or None,
                       roles=roles, must_change_password=True)
    audit.record("user.created", actor, target_type="user", target_id=user.id,
                 details={"role_ids": sorted(r.id for r in roles)})
    return user


def update_user(actor: User, user: User, *, username: str, full_name: str, email: str | None,
                roles: list[Role]) -> list[str]:
    """Change a user's details and roles; returns the names of the changed fields."""
    username = _check_username(username, user)
    changed = []
    for field, value in (("username", username), ("full_name", full_name.strip()), ("email", email or None)):
        if getattr(user, field) != value:
            setattr(user, field, value)
            changed.append(field)
    old_ids = {r.id for r in user.roles}
    new_ids = {r.id for r in roles}
    details: dict = {}
    if old_ids != new_ids:
        check_roles_for(user.kind, roles)
        if actor.id == user.id:
            raise AccountError(_l("You cannot change your own roles; ask another administrator."), field="roles")
        serialise_admin_changes()
        if user.id in active_administrator_ids() and not active_administrator_ids(
            user_roles_override={user.id: list(roles)}
        ):
            raise AccountError(_LAST_ADMIN, field="roles")
        user.roles = list(roles)
        user.forget_permissions()
        changed.append("roles")
        details = {"roles_added": sorted(new_ids - old_ids), "roles_removed": sorted(old_ids - new_ids)}
    if changed:
        audit.record("user.updated", actor, target_type="user", target_id=user.id,
                     details={"fields": changed, **details})
    db.session.flush()
    return changed


def deactivate_user(actor: User, user: User) -> None:
    """Block a user from logging in (their history stays)."""
    if actor.id == user.id:
        raise AccountError(_l("You cannot deactivate your own account."))
    serialise_admin_changes()
    if user.id in active_administrator_ids() and not active_administrator_ids(inactive={user.id}):
        raise AccountError(_LAST_ADMIN)
    user.active = False
    audit.record("user.deactivated", actor, target_type="user", target_id=user.id)
    db.session.flush()


def reactivate_user(actor: User, user: User) -> None:
    user.active = True
    user.failed_login_count = 0
    user.locked_until = None
    audit.record("user.reactivated", actor, target_type="user", target_id=user.id)
    db.session.flush()


def unlock_user(actor: User, user: User) -> None:
    """Lift a lockout after too many failed logins."""
    user.failed_login_count = 0
    user.locked_until = None
    audit.record("user.unlocked", actor, target_type="user", target_id=user.id)
    db.session.flush()


def staff_users_query():
    """Staff accounts (partner system accounts are managed with the integrations)."""
    return (
        select(User).where(User.kind == "staff").options(selectinload(User.roles))
        .order_by(func.lower(User.username))
    )


@dataclass
class AccountAttention:
    """What an administrator should look at: counts of staff accounts."""

    locked: int
    temporary_password: int
    two_factor_missing: int

    @property
    def any(self) -> bool:
        return bool(self.locked or self.temporary_password or self.two_factor_missing)


def attention() -> AccountAttention:
    """Counts for the administrator's dashboard panel (set-based, no per-user loop)."""
    staff = (User.kind == "staff", User.active.is_(True))
    locked = db.session.scalar(select(func.count()).where(*staff, User.locked_until > clock.utcnow()))
    temporary = db.session.scalar(select(func.count()).where(*staff, User.must_change_password.is_(True)))
    requiring = (
        select(user_roles.c.user_id).join(Role, Role.id == user_roles.c.role_id).where(Role.requires_2fa.is_(True))
    )
    missing = db.session.scalar(
        select(func.count()).where(*staff, User.totp_enabled.is_(False), User.id.in_(requiring))
    )
    return AccountAttention(locked, temporary, missing)
