"""This installation's settings as the services read them: the one module under services/ that reads the app's config.

A service never names a config key or reads `app.config` (the module) itself: it calls one of these
accessors, or takes the value from its caller (the startup checks get the app's config passed in,
`backup.refuse_ledger_in_backup_dir(config)`). So this file lists every setting a rule depends on,
and a setting gets its default and its type in one place. The instance folder is the app's own
`instance_path` (`create_app` sets it from `INSTANCE_DIR`), never the module global of app/config.py,
which only says where the default lies.

(Not `settings.py`: `services/connectors/settings.py` is a connector's configuration, stored in the database.)
"""

from dataclasses import dataclass
from pathlib import Path

from flask import current_app, has_app_context

from app import config as config_module

# werkzeug's scrypt (N=2**15, r=8, p=1: about 60 ms and 32 MB per check). The parameters are
# stored in each hash, so a check always uses the cost the hash was made with.
DEFAULT_PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105 # nosec B105 - a hashing method's name, not a password


def instance_dir() -> Path:
    """The instance folder: secret key, ledger key, SQLite database, imports in progress."""
    return Path(current_app.instance_path)


def imports_dir() -> Path:
    return instance_dir() / "imports"


def ledger_path() -> Path:
    """The erasure ledger's file (ERASURE_LEDGER_PATH), outside the database."""
    return Path(current_app.config["ERASURE_LEDGER_PATH"])


def ledger_key_setting() -> str | None:
    """ERASURE_LEDGER_KEY when set; otherwise the ledger makes its key file in the instance folder."""
    return current_app.config.get("ERASURE_LEDGER_KEY") or None


def backup_dir(config=None) -> Path:
    """BACKUP_DIR, of the given config (a startup check) or the app's."""
    config = current_app.config if config is None else config
    return Path(config.get("BACKUP_DIR") or config_module.BASE_DIR / "backups")


def password_hash_method() -> str:
    """The werkzeug hashing method (the test configuration alone lowers its cost)."""
    if not has_app_context():
        return DEFAULT_PASSWORD_HASH_METHOD
    return current_app.config.get("PASSWORD_HASH_METHOD", DEFAULT_PASSWORD_HASH_METHOD)


def letter_keep_days() -> int:
    """How long an unsent erasure letter is kept for downloading again."""
    return current_app.config["LETTER_KEEP_DAYS"]


def connector_secret_key() -> str | bytes | None:
    """CONNECTOR_SECRET_KEY when set; otherwise the key file at connector_key_path()."""
    return current_app.config.get("CONNECTOR_SECRET_KEY") or None


def connector_key_path() -> Path:
    return Path(current_app.config["CONNECTOR_KEY_PATH"])


def connector_timeout(default: float) -> float:
    """Seconds a partner call may take."""
    return current_app.config.get("CONNECTOR_TIMEOUT_SECONDS", default)


@dataclass(frozen=True)
class DeliverySettings:
    """How the outbox delivery retries: backoff base and cap, attempts before parking, the claim's lease."""

    retry_base_seconds: int
    retry_max_seconds: int
    max_attempts: int
    lease_seconds: int


def delivery() -> DeliverySettings:
    config = current_app.config
    return DeliverySettings(
        retry_base_seconds=config.get("CONNECTOR_RETRY_BASE_SECONDS", 30),
        retry_max_seconds=config.get("CONNECTOR_RETRY_MAX_SECONDS", 3600),
        max_attempts=config.get("CONNECTOR_MAX_ATTEMPTS", 10),
        lease_seconds=config.get("CONNECTOR_LEASE_SECONDS", 300),
    )


def languages() -> tuple[str, ...]:
    """The interface languages (LANGUAGES); the first-listed default is default_locale()."""
    return tuple(current_app.config["LANGUAGES"])


def default_locale() -> str:
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def known_locale(locale: str | None) -> str | None:
    """The locale when it is one of the interface languages, else None."""
    return locale if locale in languages() else None


def retention_sweep_at() -> str:
    """RETENTION_SWEEP_AT ("HH:MM" on the club's clock), or "" when the workers do not schedule the sweep."""
    return (current_app.config.get("RETENTION_SWEEP_AT") or "").strip()


@dataclass(frozen=True)
class ClubDetails:
    """The club's name and contact details, for letters, mails and the public pages."""

    name: str
    address: str
    email: str
    phone: str


def club() -> ClubDetails:
    config = current_app.config
    return ClubDetails(config["CLUB_NAME"], config["CLUB_ADDRESS"], config["CLUB_EMAIL"], config.get("CLUB_PHONE", ""))


@dataclass(frozen=True)
class MailSettings:
    """What the outgoing mail needs besides MAIL_URL: the sender, the privacy officer, TLS trust, patience."""

    url: str | None
    sender: str
    privacy_officer: str | None
    ca_file: str | None
    timeout: float


def mail() -> MailSettings:
    config = current_app.config
    return MailSettings(
        url=config.get("MAIL_URL") or None,
        sender=config.get("MAIL_FROM") or config["CLUB_EMAIL"],
        privacy_officer=config.get("PRIVACY_OFFICER_EMAIL") or None,
        ca_file=config.get("MAIL_CA_FILE") or None,
        timeout=config.get("MAIL_TIMEOUT", 10),
    )
