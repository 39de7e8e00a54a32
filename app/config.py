"""Configuration classes; every setting can come from an environment variable."""

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("CLUBHOUSE_INSTANCE", BASE_DIR / "instance"))


def normalise_database_url(url: str) -> str:
    """Accept the usual postgres:// spellings and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Settings for a normal installation (SQLite under instance/ unless DATABASE_URL)."""

    SECRET_KEY = None  # filled in by create_app through _secret_key()
    SQLALCHEMY_DATABASE_URI = normalise_database_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'clubhouse.db'}")
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    CLUB_NAME = os.environ.get("CLUB_NAME", "Sportclub De Meerkoet")
    CLUB_ADDRESS = os.environ.get("CLUB_ADDRESS", "Sportlaan 1, 1234 AB Voorbeeldstad")
    CLUB_EMAIL = os.environ.get("CLUB_EMAIL", "privacy@example.org")
    CLUB_PHONE = os.environ.get("CLUB_PHONE", "")
    BABEL_DEFAULT_LOCALE = os.environ.get("DEFAULT_LOCALE", "nl")
    BABEL_DEFAULT_TIMEZONE = os.environ.get("TIMEZONE", "Europe/Amsterdam")
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "app" / "translations")
    LANGUAGES = ("nl", "en")
    MEMBERS_PER_PAGE = 25
    VISITS_PER_PAGE = 25
    # The erasure ledger file lives outside the database, so a restore cannot roll it back.
    ERASURE_LEDGER_PATH = os.environ.get(
        "ERASURE_LEDGER_PATH", str(INSTANCE_DIR / "erasure-ledger.jsonl")
    )
    ERASURE_LEDGER_KEY = os.environ.get("ERASURE_LEDGER_KEY")  # defaults to a key derived in instance/
    # `flask backup create` writes here; the ledger and its key must never lie inside it.
    BACKUP_DIR = os.environ.get("BACKUP_DIR", str(BASE_DIR / "backups"))
    # The folder whose SQLite files the residual scan reads (secret key, ledger and database live here).
    INSTANCE_DIR = str(INSTANCE_DIR)
    # Not an environment setting: the test configuration alone lowers the cost (see docs/benchmarks.md).
    PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105 - a hashing method's name, not a password
    IDLE_TIMEOUT_MINUTES = int(os.environ.get("IDLE_TIMEOUT_MINUTES", "30"))
    LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
    LOGIN_LOCKOUT_MINUTES = int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15"))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    WTF_CSRF_TIME_LIMIT = None
    # "full" serves the whole portal; "intake" only the public request form; "api" only the partner API.
    PORTAL_MODE = os.environ.get("PORTAL_MODE", "full")
    TRUSTED_PROXIES = tuple(
        p.strip() for p in os.environ.get("TRUSTED_PROXIES", "").split(",") if p.strip()
    )
    INTAKE_RATE_LIMIT = int(os.environ.get("INTAKE_RATE_LIMIT", "5"))  # per address per hour
    # The partner API: requests per client per minute, and how long a rotated token keeps working.
    API_RATE_LIMIT = int(os.environ.get("API_RATE_LIMIT", "120"))
    API_TOKEN_OVERLAP_HOURS = int(os.environ.get("API_TOKEN_OVERLAP_HOURS", "24"))
    # Shared counters in Redis (redis://host:6379/0) instead of the database.
    REDIS_URL = os.environ.get("REDIS_URL", "")
    # Every post to the public form, before it is parsed (a flood guard, per address per hour).
    INTAKE_POST_LIMIT = int(os.environ.get("INTAKE_POST_LIMIT", "60"))
    # Days a made erasure letter stays downloadable when nobody marks it sent; the sweep then removes it.
    LETTER_KEEP_DAYS = int(os.environ.get("LETTER_KEEP_DAYS", "30"))
    LOGIN_ADDRESS_MAX_FAILURES = int(os.environ.get("LOGIN_ADDRESS_MAX_FAILURES", "20"))
    # However busy, a session ends this many hours after its login.
    SESSION_LIFETIME_HOURS = int(os.environ.get("SESSION_LIFETIME_HOURS", "12"))
    # Bodies above this are answered 413 before they are read; each form field is kept far smaller.
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(2 * 1024 * 1024)))
    # Compiled templates (app/templating.py); empty: instance/template-cache.
    TEMPLATE_CACHE_DIR = os.environ.get("TEMPLATE_CACHE_DIR", "")
    # Outgoing mail (app/services/mail.py): unset means no mail; pages then say the club will get in touch.
    MAIL_URL = os.environ.get("MAIL_URL", "")
    MAIL_FROM = os.environ.get("MAIL_FROM", "")  # default: CLUB_EMAIL
    MAIL_CA_FILE = os.environ.get("MAIL_CA_FILE", "")  # CA bundle for the SMTP server's certificate, if private
    MAIL_TIMEOUT = int(os.environ.get("MAIL_TIMEOUT", "10"))
    PRIVACY_OFFICER_EMAIL = os.environ.get("PRIVACY_OFFICER_EMAIL", "")  # default: privacy officers' own addresses
    # The member import's upload (a 100,000-row export is about 15 MB); every other body keeps the limit above.
    IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", str(32 * 1024 * 1024)))
    MAX_FORM_MEMORY_SIZE = 200_000
    MAX_FORM_PARTS = 1000
    HSTS_ENABLED = False
    # The job queue (huey): SQLite in instance/ by default; redis://... or postgresql://... for a chain.
    JOBS_URL = os.environ.get("JOBS_URL", f"sqlite:///{Path(INSTANCE_DIR) / 'jobs.sqlite3'}")
    # "HH:MM" on the club's clock: the job workers run the retention sweep then, once a day for all
    # of them (the job lock). Unset: the sweep is left to cron (docs/retention.md).
    RETENTION_SWEEP_AT = os.environ.get("RETENTION_SWEEP_AT", "")
    # Partner API keys are encrypted with this Fernet key (a file in instance/ unless given).
    CONNECTOR_SECRET_KEY = os.environ.get("CONNECTOR_SECRET_KEY")
    CONNECTOR_KEY_PATH = os.environ.get("CONNECTOR_KEY_PATH", str(Path(INSTANCE_DIR) / "connector-secret.key"))
    # Delivery: retries with exponential backoff, then the delivery is parked for staff.
    CONNECTOR_RETRY_BASE_SECONDS = int(os.environ.get("CONNECTOR_RETRY_BASE_SECONDS", "30"))
    CONNECTOR_RETRY_MAX_SECONDS = int(os.environ.get("CONNECTOR_RETRY_MAX_SECONDS", "3600"))
    CONNECTOR_MAX_ATTEMPTS = int(os.environ.get("CONNECTOR_MAX_ATTEMPTS", "10"))
    CONNECTOR_LEASE_SECONDS = int(os.environ.get("CONNECTOR_LEASE_SECONDS", "300"))
    CONNECTOR_TIMEOUT_SECONDS = float(os.environ.get("CONNECTOR_TIMEOUT_SECONDS", "10"))


class ProductionConfig(Config):
    """Behind TLS: cookies only over HTTPS, HSTS; app/production.py refuses to start when unsafe."""

    PRODUCTION = True
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    HSTS_ENABLED = True


class TestConfig(Config):
    """Used by the test fixtures; the database URL is given by the fixture."""

    TESTING = True
    WTF_CSRF_ENABLED = False
    SECRET_KEY = "test-secret-key"  # noqa: S105 - tests only
    MAIL_URL = ""  # a test that sends mail starts its own SMTP server and sets this
    ERASURE_LEDGER_KEY = "test-ledger-key"
    BABEL_DEFAULT_LOCALE = "en"
    # scrypt with N=2**10 instead of 2**15: about 2 ms per check instead of 60-170 ms. Every rule
    # about passwords (one check per attempt, the same work for unknown users) is unchanged.
    PASSWORD_HASH_METHOD = "scrypt:1024:8:1"  # noqa: S105 - a hashing method's name, not a password


def secret_key() -> str:
    """Exposed for create_app."""
    return _secret_key()
