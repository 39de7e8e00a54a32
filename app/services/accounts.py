"""Staff accounts: creating and changing users, checking a login, lockout and two-factor.

Rules that protect the installation live here, so every caller (pages, CLI) obeys them:
a user cannot change their own roles or deactivate themselves, and the last active
administrator (a user holding both admin.users and admin.roles) cannot be demoted or
deactivated. Functions flush but never commit; the caller commits.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, timedelta
from functools import cache

import pyotp
import pyotp.utils
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Role, RolePermission, User, user_roles
from app.services import audit, clock, installation, locks, passwords, rate_limits, signals
from app.services.errors import DomainError

ADMIN_CODES = frozenset({"admin.users", "admin.roles"})


class AccountError(DomainError):
    """A change to a staff account refused by a rule."""

    def __str__(self) -> str:
        return str(self.message)


def find_by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


# --- logging in -----------------------------------------------------------------------
#
# How a login is throttled (docs/users-and-roles.md, "Lockout"):
# 1. Per client address: failed logins from one address (any username, real or not) are
#    counted in a shared RateLimitBucket (hashed key); past LOGIN_ADDRESS_MAX_FAILURES in
#    the window the address is refused before any account is looked at.
# 2. Per account: each attempt first claims a slot with a conditional UPDATE
#    (failed_login_count < max and not locked), so parallel attempts on other workers can
#    never check more passwords than the limit; the failure that fills the last slot locks
#    the account for LOGIN_LOCKOUT_MINUTES.
# 3. A lock holds only against the addresses that failed on the account in the window: a
#    correct password from an address without such failures (and not throttled) still logs
#    in, so an attacker alone cannot keep the real user out. Each further address gets one
#    guess per window while the account is locked, and at most the address limit overall.
# Unknown, inactive, locked and wrong all get the same answer after one password hash.

@dataclass
class LoginResult:
    """What a login attempt came to: ok (password right), refused, or throttled (this address)."""

    status: str  # "ok", "refused", "throttled"
    user: User | None = None
    locked: bool = False  # for the audit log and tests only; never shown to the person logging in

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > clock.utcnow()


def _pair_key(address_key: str, user: User) -> str:
    return "login-pair:" + hashlib.sha256(f"{address_key}|{user.id}".encode()).hexdigest()


def _claim_attempt(user: User, max_failures: int) -> bool:
    """Take one of the account's allowed attempts (atomic: one UPDATE decides, on every worker)."""
    now = clock.utcnow()
    claimed = db.session.execute(
        update(User)
        .where(User.id == user.id, User.failed_login_count < max_failures,
               or_(User.locked_until.is_(None), User.locked_until <= now))
        .values(failed_login_count=User.failed_login_count + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(user, ["failed_login_count", "locked_until"])
    return claimed == 1


def _lock_if_full(user: User, *, max_failures: int, lockout_minutes: int, source_ip=None) -> bool:
    """Lock the account when its attempts are used up; True for the one failure that locked it."""
    locked = db.session.execute(
        update(User)
        .where(User.id == user.id, User.failed_login_count >= max_failures)
        .values(failed_login_count=0, locked_until=clock.utcnow() + timedelta(minutes=lockout_minutes))
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    db.session.refresh(user, ["failed_login_count", "locked_until"])
    if locked:
        audit.record("login.locked", user, target_type="user", target_id=user.id,
                     details={"minutes": lockout_minutes}, source_ip=source_ip)
    return locked


def register_failure(user: User, *, max_failures: int, lockout_minutes: int, source_ip=None,
                     reason: str = "wrong_password", address_key: str | None = None) -> bool:
    """Count one failed attempt (a wrong two-factor code) atomically; True when it locked the account."""
    if address_key:
        window = timedelta(minutes=lockout_minutes)
        rate_limits.hit(f"login-addr:{address_key}", window)
        rate_limits.hit(_pair_key(address_key, user), window)
    db.session.execute(
        update(User).where(User.id == user.id).values(failed_login_count=User.failed_login_count + 1)
        .execution_options(synchronize_session=False)
    )
    audit.record("login.failed", user, target_type="user", target_id=user.id,
                 details={"reason": reason}, source_ip=source_ip)
    locked = _lock_if_full(user, max_failures=max_failures, lockout_minutes=lockout_minutes, source_ip=source_ip)
    db.session.flush()
    return locked


def authenticate(username: str, password: str, *, max_failures: int = 5, lockout_minutes: int = 15,
                 address_key: str | None = None, address_max_failures: int = 20,
                 source_ip: str | None = None) -> LoginResult:
    """Check a username and password under the address throttle and the account lockout.

    `address_key` is an opaque (keyed-hash) name of the client address, never the address
    itself. Every path computes exactly one password hash, so the time taken does not tell
    an unknown username from a locked account or a wrong password. A failed attempt for a
    username that does not exist is audited without the typed name.
    """
    window = timedelta(minutes=lockout_minutes)
    address_bucket = f"login-addr:{address_key}" if address_key else None

    def failed(user, reason, *, locked=False):
        if address_bucket:
            rate_limits.hit(address_bucket, window)
            if user is not None:
                rate_limits.hit(_pair_key(address_key, user), window)
        audit.record("login.failed", user, target_type="user" if user else None,
                     target_id=user.id if user else None, details={"reason": reason}, source_ip=source_ip)
        db.session.flush()
        return LoginResult("refused", user, locked=locked)

    if address_bucket and rate_limits.hits(address_bucket, window) >= address_max_failures:
        passwords.verify_password(_dummy_hash(), password)
        audit.record("login.failed", None, details={"reason": "address_throttled"}, source_ip=source_ip)
        return LoginResult("throttled")
    user = find_by_username(username)
    if user is None or user.kind != "staff" or not user.active:
        passwords.verify_password(_dummy_hash(), password)
        return failed(None, "unknown_or_inactive")
    if not _claim_attempt(user, max_failures):
        # Locked, or the last allowed attempts are being checked right now by other requests.
        clean_address = (address_key is not None and is_locked(user)
                         and rate_limits.hits(_pair_key(address_key, user), window) == 0)
        if not clean_address:
            passwords.verify_password(_dummy_hash(), password)
            return failed(user, "locked", locked=True)
        if passwords.verify_password(user.password_hash, password):
            return LoginResult("ok", user)
        return failed(user, "wrong_password_while_locked", locked=True)
    if passwords.verify_password(user.password_hash, password):
        return LoginResult("ok", user)
    result = failed(user, "wrong_password")
    result.locked = _lock_if_full(user, max_failures=max_failures, lockout_minutes=lockout_minutes,
                                  source_ip=source_ip)
    db.session.flush()
    return result


def _dummy_hash() -> str:
    """A hash to check against when no real one may be checked, so every answer takes as long."""
    return _dummy_hash_for(installation.password_hash_method())


@cache
def _dummy_hash_for(_method: str) -> str:
    return passwords.hash_password("x" * 12)


def complete_login(user: User, *, source_ip: str | None = None, second_factor: bool = False) -> None:
    """The user proved who they are: reset the failure count and note the login."""
    user.failed_login_count = 0
    user.locked_until = None
    user.last_login_at = clock.utcnow()
    audit.record("login.succeeded", user, target_type="user", target_id=user.id,
                 details={"two_factor": second_factor}, source_ip=source_ip)
    db.session.flush()


def end_sessions(users) -> None:
    """End every open session of these users on every worker and host (their session epoch moves on).

    A session cookie carries the epoch it was made in; app/auth refuses it once they differ.
    One set-based UPDATE, so a role edit with many holders is one statement.
    """
    ids = [u.id for u in users] if not isinstance(users, User) else [users.id]
    if not ids:
        return
    db.session.execute(
        update(User).where(User.id.in_(ids)).values(session_epoch=User.session_epoch + 1)
        .execution_options(synchronize_session=False)
    )
    for user in ([users] if isinstance(users, User) else users):
        if user in db.session:
            db.session.refresh(user, ["session_epoch"])


def record_logout(user: User, *, source_ip: str | None = None, reason: str = "user") -> None:
    """A logout: by the user it ends all their sessions (a copied cookie is worthless afterwards)."""
    if reason == "user":
        end_sessions(user)
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
    signals.account_changed.send(user, change="two_factor_on")  # the account's owner gets a notice


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
    signals.account_changed.send(user, change="two_factor_off")  # the account's owner gets a notice


def reset_totp(actor: User, user: User) -> None:
    """An administrator clears a user's two-factor (lost phone); they enrol again if required."""
    assert_may_manage(actor, user)
    user.totp_enabled = False
    user.totp_secret = None
    end_sessions(user)
    audit.record("user.two_factor_reset", actor, target_type="user", target_id=user.id)
    db.session.flush()
    signals.account_changed.send(user, change="two_factor_reset")  # the account's owner gets a notice


# --- passwords --------------------------------------------------------------------------

def check_password_policy(password: str, username: str | None = None, field: str = "password") -> None:
    problems = passwords.problem_messages(password, username)
    if problems:
        raise AccountError(" ".join(problems), field=field)


def change_own_password(user: User, current: str, new: str, *, source_ip: str | None = None) -> None:
    """The user sets a new password (also the forced change after a temporary one)."""
    if not passwords.verify_password(user.password_hash, current):
        raise AccountError(_l("Your current password is not right."), field="current_password")
    check_password_policy(new, user.username, field="new_password")
    if passwords.verify_password(user.password_hash, new):
        raise AccountError(_l("Choose a password different from the current one."), field="new_password")
    user.password_hash = passwords.hash_password(new)
    user.must_change_password = False
    end_sessions(user)  # other browsers are logged out; the caller renews the current session
    audit.record("user.password_changed", user, target_type="user", target_id=user.id, source_ip=source_ip)
    db.session.flush()
    signals.account_changed.send(user, change="password")  # the account's owner gets a notice


def reset_password(actor: User, user: User, temporary_password: str) -> None:
    """An administrator gives a user a temporary password, to be changed at the next login."""
    assert_may_manage(actor, user)
    check_password_policy(temporary_password, user.username)
    user.password_hash = passwords.hash_password(temporary_password)
    user.must_change_password = True
    user.failed_login_count = 0
    user.locked_until = None
    end_sessions(user)
    audit.record("user.password_reset", actor, target_type="user", target_id=user.id)
    db.session.flush()
    signals.account_changed.send(user, change="password_reset")  # the account's owner gets a notice


# --- administrators ---------------------------------------------------------------------

def serialise_admin_changes() -> None:
    """Let one transaction at a time run the last-administrator check and its change.

    Without this, two administrators deactivating each other at the same moment would both
    see the other still active and both succeed. PostgreSQL: an advisory transaction lock;
    SQLite: taking the database's write lock (an upsert) before the check reads anything.
    """
    locks.hold("admin_changes")


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

API_PREFIX = "api."


def _codes_of(roles_or_codes) -> set[str]:
    codes: set[str] = set()
    for item in roles_or_codes or ():
        if isinstance(item, str):
            codes.add(item)
        else:
            codes |= item.permission_codes
    return codes


def assert_may_grant(actor, roles_or_codes, *, removing=(), to_partner: bool = False,
                     field: str = "roles") -> None:
    """Refuse to give (or take away) permissions the actor does not hold themselves.

    `roles_or_codes` are roles or permission codes being granted; `removing` those being
    taken away (a role can be removed only by someone who could have given it). Partner API
    scopes (api.*) are held by no staff user: they go only to partner clients
    (`to_partner=True`), and only from a holder of integrations.manage. `actor=None` is the
    server's command line, which is trusted. Raises AccountError.
    """
    codes = _codes_of(roles_or_codes) | _codes_of(removing)
    if actor is None or not codes:
        return
    held = set(actor.permission_codes())
    api_codes = {code for code in codes if code.startswith(API_PREFIX)}
    if api_codes:
        if not to_partner:
            raise AccountError(_l("Partner API scopes (api.*) are for partner systems only, not for staff accounts."),
                               field=field)
        if "integrations.manage" not in held:
            raise AccountError(_l("Only a user who may manage integrations can give partner API scopes."),
                               field=field)
    missing = codes - api_codes - held
    if missing:
        raise AccountError(
            _l("You cannot give or take away permissions you do not hold yourself: %(codes)s.",
               codes=", ".join(sorted(missing))), field=field)


def assert_may_manage(actor, user: User) -> None:
    """An administrator changes only accounts holding no more than they do (no reset of a superior's password)."""
    if actor is None or actor.id == user.id:
        return
    held = set(actor.permission_codes())
    beyond = set(user.permission_codes()) - held
    if "integrations.manage" in held:  # partner scopes are held by no staff user; their manager handles them
        beyond = {code for code in beyond if not code.startswith(API_PREFIX)}
    if beyond:
        raise AccountError(_l("This account holds permissions you do not hold yourself; ask an administrator "
                              "who holds them to change it."))


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
    assert_may_grant(actor, roles)
    check_password_policy(temporary_password, username, field="temporary_password")
    user = create_user(username, temporary_password, full_name=full_name.strip(), email=email or None,
                       roles=roles, must_change_password=True)
    audit.record("user.created", actor, target_type="user", target_id=user.id,
                 details={"role_ids": sorted(r.id for r in roles)})
    return user


def update_user(actor: User, user: User, *, username: str, full_name: str, email: str | None,
                roles: list[Role]) -> list[str]:
    """Change a user's details and roles; returns the names of the changed fields."""
    assert_may_manage(actor, user)
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
        assert_may_grant(actor, [r for r in roles if r.id not in old_ids],
                         removing=[r for r in user.roles if r.id not in new_ids])
        user.roles = list(roles)
        user.forget_permissions()
        end_sessions(user)
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
    assert_may_manage(actor, user)
    serialise_admin_changes()
    if user.id in active_administrator_ids() and not active_administrator_ids(inactive={user.id}):
        raise AccountError(_LAST_ADMIN)
    user.active = False
    end_sessions(user)
    audit.record("user.deactivated", actor, target_type="user", target_id=user.id)
    db.session.flush()


def reactivate_user(actor: User, user: User) -> None:
    assert_may_manage(actor, user)
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


def _requiring_two_factor():
    return select(user_roles.c.user_id).join(Role, Role.id == user_roles.c.role_id).where(Role.requires_2fa.is_(True))


# The accounts that need an administrator, by filter key: the dashboard counts them and the user
# list shows them with the same condition, so a figure and its list cannot disagree.
ATTENTION_FILTERS = {
    "locked": lambda now: User.locked_until > now,
    "temporary_password": lambda now: User.must_change_password.is_(True),
    "two_factor_missing": lambda now: and_(User.totp_enabled.is_(False), User.id.in_(_requiring_two_factor())),
}

ATTENTION_LABELS = {
    "locked": _l("Locked after failed logins"),
    "temporary_password": _l("Still on a temporary password"),
    "two_factor_missing": _l("Two-factor required but not set up"),
}


def _active_staff():
    return (User.kind == "staff", User.active.is_(True))


def staff_users_query(attention_filter: str | None = None):
    """Staff accounts (partner system accounts are managed with the integrations).

    With a key of ATTENTION_FILTERS: only the active accounts the dashboard counts under it.
    """
    stmt = select(User).where(User.kind == "staff")
    if attention_filter in ATTENTION_FILTERS:
        stmt = stmt.where(*_active_staff(), ATTENTION_FILTERS[attention_filter](clock.utcnow()))
    return stmt.options(selectinload(User.roles)).order_by(func.lower(User.username))


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
    """Counts for the administrator's dashboard panel: one statement, one count per ATTENTION_FILTERS key."""
    now = clock.utcnow()
    counts = db.session.execute(select(*(
        select(func.count()).select_from(User).where(*_active_staff(), condition(now)).scalar_subquery()
        for condition in ATTENTION_FILTERS.values()
    ))).one()
    return AccountAttention(**dict(zip(ATTENTION_FILTERS, counts, strict=True)))
