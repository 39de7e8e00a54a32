"""Production settings: what must hold before the portal serves anyone, and `deploy-check`.

`startup_problems(app)` are the hard rules: with CLUBHOUSE_ENV=production, create_app()
refuses to build the app while any is broken and says what to fix. `deploy_checks(app)`
adds what an operator should look at (file permissions, proxies, the database, workers);
`flask --app wsgi deploy-check` prints them all and exits 1 on any failure.
"""

import os
import stat
from dataclasses import dataclass
from pathlib import Path

MIN_SECRET_LENGTH = 32


@dataclass
class Check:
    """One line of deploy-check: status is "ok", "fail", "warn" or "info"."""

    status: str
    name: str
    message: str


class UnsafeProductionSettingsError(RuntimeError):
    """Raised by create_app in production while a startup rule is broken."""


def startup_problems(app, environ=None) -> list[Check]:
    """The rules every production start must pass (each check's result, failures first matter)."""
    environ = os.environ if environ is None else environ
    cfg = app.config
    checks = []
    secret = environ.get("SECRET_KEY", "")
    if len(secret) >= MIN_SECRET_LENGTH:
        checks.append(Check("ok", "SECRET_KEY", "set in the environment, long enough"))
    else:
        checks.append(Check("fail", "SECRET_KEY", (
            f"set SECRET_KEY in the environment to a random value of at least {MIN_SECRET_LENGTH} characters "
            "(for example: python3 -c 'import secrets; print(secrets.token_hex(32))')")))
    if app.debug or cfg.get("DEBUG"):
        checks.append(Check("fail", "debug", "debug mode is on: unset FLASK_DEBUG (it shows code and allows a console)"))
    else:
        checks.append(Check("ok", "debug", "off"))
    if cfg.get("SESSION_COOKIE_SECURE") and cfg.get("REMEMBER_COOKIE_SECURE", True):
        checks.append(Check("ok", "cookies", "sent over HTTPS only (Secure), HttpOnly, SameSite=Lax"))
    else:
        checks.append(Check("fail", "cookies",
                            "session cookies are not marked Secure: use CLUBHOUSE_ENV=production (served over HTTPS)"))
    if cfg.get("HSTS_ENABLED"):
        checks.append(Check("ok", "HSTS", "Strict-Transport-Security is sent"))
    else:
        checks.append(Check("fail", "HSTS", "HSTS is off: use CLUBHOUSE_ENV=production's settings"))
    from app.services import backup

    backup_dir = backup.backup_dir(cfg)
    misplaced = [{"ledger": "erasure ledger", "key": "ledger key"}[what] for what, _path in backup.inside_backup_dir(cfg)]
    if misplaced:
        checks.append(Check("fail", "ledger", (
            f"the {' and the '.join(misplaced)} must not be inside BACKUP_DIR ({backup_dir}): a restore would "
            "bring an old copy back with the database; set ERASURE_LEDGER_PATH (and ERASURE_LEDGER_KEY) elsewhere")))
    else:
        checks.append(Check("ok", "ledger", f"erasure ledger and key outside BACKUP_DIR ({backup_dir})"))
    return checks


def enforce(app) -> None:
    """Refuse to start in production while a startup rule is broken; the message lists what to fix."""
    failures = [check for check in startup_problems(app) if check.status == "fail"]
    if failures:
        lines = "\n".join(f"  - {check.name}: {check.message}" for check in failures)
        raise UnsafeProductionSettingsError(
            "Clubhouse refuses to start in production with unsafe settings:\n" + lines
            + "\nRun `flask --app wsgi deploy-check` for the full list.")


def _permission_checks(app) -> list[Check]:
    folder = Path(app.instance_path)
    if not folder.exists():
        return [Check("info", "instance/", f"{folder} does not exist yet (created at the first start)")]
    checks = []
    mode = folder.stat().st_mode
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        checks.append(Check("fail", "instance/", f"{folder} is writable by other users: chmod 700 {folder}"))
    elif mode & stat.S_IROTH:
        checks.append(Check("warn", "instance/", f"{folder} is readable by every user: chmod 700 {folder}"))
    else:
        checks.append(Check("ok", "instance/", f"{folder} is not open to other users"))
    for name in ("secret_key", "erasure_ledger_key", "clubhouse.db", "connector-secret.key", "jobs.sqlite3"):
        path = folder / name
        if path.exists() and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            checks.append(Check("fail", name, f"{path} can be read by other users: chmod 600 {path}"))
    return checks


def _proxy_checks(app) -> list[Check]:
    from app.blueprints.security import _networks

    entries = app.config.get("TRUSTED_PROXIES") or ()
    if not entries:
        return [Check("warn", "TRUSTED_PROXIES", (
            "not set: fine when clients connect to gunicorn directly; behind a TLS proxy, set it to the proxy's "
            "address, or rate limits, the audit log and API TLS checks see only the proxy"))]
    if len(_networks(entries)) != len(entries):
        return [Check("fail", "TRUSTED_PROXIES", "contains entries that are not IP addresses or networks")]
    return [Check("ok", "TRUSTED_PROXIES", f"X-Forwarded-For believed from {', '.join(entries)}")]


def _database_checks(app) -> list[Check]:
    from alembic.script import ScriptDirectory
    from flask_migrate import Migrate  # noqa: F401 - configured on the app
    from sqlalchemy import text

    from app.extensions import db

    try:
        with app.app_context():
            current = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
            config = app.extensions["migrate"].migrate.get_config()
            head = ScriptDirectory.from_config(config).get_current_head()
            db.session.rollback()
    except Exception as error:  # noqa: BLE001 - reported to the operator, not raised
        return [Check("fail", "database", f"cannot read the database: {type(error).__name__}")]
    if current != head:
        return [Check("fail", "database", f"at migration {current}, not {head}: run flask --app wsgi db upgrade")]
    return [Check("ok", "database", f"reachable, migrations at {head}")]


def deploy_checks(app, environ=None) -> list[Check]:
    """Everything deploy-check prints."""
    environ = os.environ if environ is None else environ
    checks = []
    if environ.get("CLUBHOUSE_ENV") == "production":
        checks.append(Check("ok", "CLUBHOUSE_ENV", "production"))
    else:
        checks.append(Check("fail", "CLUBHOUSE_ENV", "not production: export CLUBHOUSE_ENV=production"))
    checks += startup_problems(app, environ)
    checks += _permission_checks(app)
    checks += _proxy_checks(app)
    checks += _database_checks(app)
    checks += _worker_checks(app)
    return checks


def _worker_checks(app) -> list[Check]:
    """The job queue: a worker alive (deliveries to partners wait without one), and parked deliveries."""
    from app.services.connectors import runner

    try:
        with app.app_context():
            status = runner.worker_status()
    except Exception as error:  # noqa: BLE001 - reported to the operator, not raised
        return [Check("fail", "workers", f"cannot read the job queue's state: {type(error).__name__}")]
    checks = []
    if status["worker_alive"]:
        checks.append(Check("ok", "workers", f"a job worker was seen at {status['worker_seen_at']}"))
    else:
        checks.append(Check("warn", "workers", "no job worker seen recently: run `flask --app wsgi jobs worker` as a "
                            "service (deliveries to partners wait until one runs)"))
    if status["parked"]:
        checks.append(Check("warn", "deliveries", f"{status['parked']} parked deliveries: see /integrations"))
    return checks
