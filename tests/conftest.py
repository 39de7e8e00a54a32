"""Shared fixtures: the app on SQLite or PostgreSQL, a clean database per test, factories.

The database comes from DATABASE_URL when it is set (CI's PostgreSQL run), else a fresh
SQLite file. Its schema is built by the Alembic migrations, never by create_all(), so every
test also runs on exactly what `flask db upgrade` produces.

Under pytest-xdist (`make test` runs two workers) each worker has a database of its own: an
SQLite file in its own temporary folder, or on PostgreSQL a database `<name>_<worker>` copied
with CREATE DATABASE ... TEMPLATE from DATABASE_URL's database, which the first worker migrates
(under a file lock) and every worker's copy is dropped when the worker ends. Where the user may
not create databases, the suite runs in one process instead.
"""

import contextlib
import fcntl
import gc
import itertools
import os
import pathlib
import shutil
import sys
import tempfile
from datetime import UTC, date
from decimal import Decimal

import pyotp
import pytest
from flask import session as flask_session
from flask_migrate import upgrade
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.blueprints.auth.routes import start_session
from app.config import TestConfig, normalise_database_url
from app.extensions import db as _db
from app.models import Member, Plan, Role, RolePermission, User
from app.services import clock, passwords
from app.services import members as member_service
from app.services import roles as role_service

TEST_PASSWORD = "Correct-horse-battery-9"
ROOT = pathlib.Path(__file__).resolve().parent.parent


def _reset_postgres_schema(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@contextlib.contextmanager
def _scratch_dir(tmp_path_factory, name: str):
    """A folder for the SQLite database and the instance files, in memory (/dev/shm) where there is one.

    SQLite in WAL mode syncs the log at every commit; on a disk that was a quarter of the suite's
    time. The code and its pragmas are the same; only the medium is RAM.
    """
    shm = pathlib.Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        folder = pathlib.Path(tempfile.mkdtemp(prefix=f"clubhouse-{name}-", dir=shm))
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            shutil.rmtree(f"{folder}-backups", ignore_errors=True)  # BACKUP_DIR sits beside the instance folder
    else:
        yield tmp_path_factory.mktemp(name)


def _postgres_admin(url: str):
    """An autocommit engine on the server's maintenance database (CREATE/DROP DATABASE)."""
    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def may_create_databases(url: str) -> bool:
    """Whether DATABASE_URL's user may create the per-worker databases."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return bool(conn.scalar(text(
                "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user")))
    finally:
        engine.dispose()


def _migrate(url: str, instance) -> None:
    config = type("TemplateConfig", (TestConfig,), {
        "SQLALCHEMY_DATABASE_URI": url, "ERASURE_LEDGER_PATH": str(instance / "erasure-ledger.jsonl")})
    application = create_app(config)
    with application.app_context():
        upgrade()
        _db.engine.dispose()


def _worker_database(url: str, worker: str, shared_dir) -> str:
    """A migrated copy of the template database for this xdist worker; returns its URL."""
    template = make_url(url).database
    name = f"{template}_{worker}"
    admin = _postgres_admin(url)
    with open(shared_dir / "template.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ready = shared_dir / "template.ready"
        if not ready.exists():
            _reset_postgres_schema(url)
            _migrate(url, shared_dir)
            ready.touch()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    worker_id = os.environ.get("PYTEST_XDIST_WORKER", "master")
    url = os.environ.get("DATABASE_URL")
    if not url:
        with _scratch_dir(tmp_path_factory, "db") as folder:
            yield f"sqlite:///{folder / 'clubhouse-test.db'}"
        return
    url = normalise_database_url(url)
    if worker_id == "master":
        _reset_postgres_schema(url)
        yield url
        return
    shared = tmp_path_factory.getbasetemp().parent  # one folder for all workers of this run
    worker_url = _worker_database(url, worker_id, shared)
    yield worker_url
    admin = _postgres_admin(url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(worker_url).database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory):
    with _scratch_dir(tmp_path_factory, "instance") as folder:
        yield folder


@pytest.fixture(scope="session")
def make_app(database_url, instance_dir):
    """Build another app on the same database, with config overrides (e.g. PORTAL_MODE)."""

    def factory(**overrides):
        config = type(
            "PerTestConfig",
            (TestConfig,),
            {
                "SQLALCHEMY_DATABASE_URI": database_url,
                "ERASURE_LEDGER_PATH": str(instance_dir / "erasure-ledger.jsonl"),
                "INSTANCE_DIR": str(instance_dir),
                "BACKUP_DIR": str(instance_dir.parent / f"{instance_dir.name}-backups"),
                "CONNECTOR_KEY_PATH": str(instance_dir / "connector-secret.key"),
                "JOBS_URL": f"sqlite:///{instance_dir / 'jobs.sqlite3'}",
                # Shared by the workers and kept between runs, beside the compiled modules.
                "TEMPLATE_CACHE_DIR": str(ROOT / ".pycache" / "templates"),
                **overrides,
            },
        )
        return create_app(config)

    return factory


@pytest.fixture(scope="session")
def app(make_app):
    application = make_app()
    with application.app_context():
        upgrade()
    return application


_EMPTYING: list[str] = []  # the DELETE statements, children before parents (the model's own table names)


def _empty_tables(engine) -> None:
    """Delete every row of every model table in one transaction, through the driver's cursor.

    SQLAlchemy's per-statement work (and sorting the tables) was most of the cleanup each test
    pays; the statements and their order are the same.
    """
    if not _EMPTYING:
        _EMPTYING.extend(f'DELETE FROM "{table.name}"' for table in reversed(_db.metadata.sorted_tables))  # noqa: S608
    with engine.begin() as conn:
        cursor = conn.connection.driver_connection.cursor()
        if conn.dialect.name == "postgresql":  # one round trip instead of one per table
            cursor.execute("; ".join(_EMPTYING))
        else:  # one call into the driver; the script's own transaction, as the statements had
            cursor.executescript(f"BEGIN; {'; '.join(_EMPTYING)}; COMMIT;")
        cursor.close()


@pytest.fixture(autouse=True)
def _clean_state(app, instance_dir):
    """Each test starts with empty tables, a running clock and no ledger file."""
    with app.app_context():
        yield
        _db.session.rollback()
        _db.session.remove()
        _empty_tables(_db.engine)
    clock.freeze(None)
    # The job queue starts empty too: its file goes below, and the next test builds a new huey
    # on a new file instead of keeping connections to the removed one.
    app.extensions.pop("huey", None)
    app.extensions.pop("huey_tasks", None)
    for path in instance_dir.glob("*"):
        if path.is_file():
            path.unlink()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def password_hash(app):
    """Hashing is slow on purpose; tests share one hash of TEST_PASSWORD (with the test config's cost)."""
    with app.app_context():
        return passwords.hash_password(TEST_PASSWORD)


_numbers = itertools.count(1)


@pytest.fixture
def html_instead_of_pdf(monkeypatch):
    """PDF routes answer with their document's HTML, without WeasyPrint's layout (seconds per PDF).

    For tests about what surrounds a download (access, headers, bad input), not its pages: real
    PDFs are made and read back in tests/export, tests/privacy and the browser journeys.
    """
    from app.services import pdf
    from app.services.export import document

    def html_only(html, fetcher=None):
        return html.encode()

    monkeypatch.setattr(pdf, "render_pdf", html_only)
    monkeypatch.setattr(document, "render_pdf", html_only)


@pytest.fixture
def make_role(db):
    """make_role('members.view', ...) -> a role granting exactly those codes."""

    def factory(*codes, name=None, **fields):
        role = Role(name=name or f"role-{next(_numbers)}", **fields)
        role.set_permissions(codes)
        db.session.add(role)
        db.session.commit()
        return role

    return factory


# What role_service.ensure_default_roles() wrote into empty tables, the first time in this process:
# {"roles": [row without id and created_at, ...], "grants": [(system_key, code), ...]}.
_DEFAULT_ROLES: dict = {}


def _ensure_default_roles(db) -> None:
    """role_service.ensure_default_roles(), replayed where the tables are empty (as after each test's cleanup).

    The service's own run is recorded the first time; later tests get the same rows back with three
    statements instead of the ORM's unit of work for the six roles and their grants (about 10 ms a
    user). Where any role exists already, the service itself runs, as before.
    """
    roles, grants = Role.__table__, RolePermission.__table__
    empty = db.session.execute(select(roles.c.id).limit(1)).first() is None
    if empty and _DEFAULT_ROLES:
        now = clock.utcnow()
        db.session.execute(insert(roles), [{**row, "created_at": now} for row in _DEFAULT_ROLES["roles"]])
        ids = dict(db.session.execute(select(roles.c.system_key, roles.c.id)).all())
        db.session.execute(insert(grants), [{"role_id": ids[key], "code": code} for key, code in _DEFAULT_ROLES["grants"]])
        return
    role_service.ensure_default_roles()
    if empty:
        rows = db.session.execute(select(roles)).mappings().all()
        keys = {row["id"]: row["system_key"] for row in rows}
        _DEFAULT_ROLES["roles"] = [{k: v for k, v in row.items() if k not in ("id", "created_at")} for row in rows]
        _DEFAULT_ROLES["grants"] = [(keys[role_id], code) for role_id, code in
                                    db.session.execute(select(grants.c.role_id, grants.c.code))]


@pytest.fixture
def make_user(db, password_hash, make_role):
    """make_user('front_desk') for a default role, or make_user(permissions=[...])."""

    def factory(*role_keys, permissions=None, username=None, **fields):
        _ensure_default_roles(db)
        user_roles = [role_service.role_by_key(key) for key in role_keys]
        if permissions is not None:
            user_roles.append(make_role(*permissions))
        if any(role.requires_2fa for role in user_roles) and "totp_enabled" not in fields:
            # Administrator and Privacy officer require two-factor login: such users come enrolled,
            # and the login helper answers the code step.
            fields.update(totp_secret=pyotp.random_base32(), totp_enabled=True)
        user = User(
            username=username or f"user{next(_numbers)}",
            full_name=fields.pop("full_name", "Test User"),
            password_hash=password_hash,
            roles=user_roles,
            **fields,
        )
        db.session.add(user)
        db.session.commit()
        return user

    return factory


@pytest.fixture
def login(client):
    """login(user) logs the test client in through the real login form."""

    def do_login(user, password=TEST_PASSWORD, follow=False):
        client.post("/logout")
        response = client.post(
            "/login", data={"username": user.username, "password": password}, follow_redirects=follow
        )
        # Users with two-factor login get a second step: answer it with a real code.
        if getattr(user, "totp_enabled", False) and "/login/code" in (response.headers.get("Location") or response.request.path):
            _db.session.refresh(user)
            totp = pyotp.TOTP(user.totp_secret)
            step = totp.timecode(clock.utcnow().replace(tzinfo=UTC).timestamp())
            if user.totp_last_step is not None and user.totp_last_step >= step:
                step += 1  # a code is accepted once; the next step's code is within the allowed drift
            if user.totp_last_step is not None and user.totp_last_step >= step:
                user.totp_last_step = None  # a third login within one 30-second step: tests only
                _db.session.commit()
            response = client.post("/login/code", data={"code": totp.generate_otp(step)}, follow_redirects=follow)
        return response

    return do_login


@pytest.fixture
def login_as(client):
    """login_as(user) logs the test client in without the form, for tests that are not about logging in.

    The session is made by `start_session`, the code the login form runs once the password (and
    the second factor, where the user has one) is checked, so every rule about sessions applies.
    The real form is what tests/auth exercises, through `login`.
    """

    def do_login(user, on=None):
        target = on or client
        with target.session_transaction() as before:
            language = before.get("lang")
        with target.application.test_request_context(environ_base=target.environ_base):
            if language:
                flask_session["lang"] = language
            start_session(user, second_factor=bool(user.totp_enabled))
            values = dict(flask_session)
        with target.session_transaction() as sess:
            sess.clear()
            sess.update(values)
        return target

    return do_login


@pytest.fixture
def make_member(db):
    """make_member(**overrides) -> a saved Member with plausible Dutch data."""

    def factory(**overrides):
        fields = {
            "first_name": "Anna",
            "infix": "van der",
            "last_name": "Berg",
            "date_of_birth": date(1990, 5, 17),
            "email": f"anna{next(_numbers)}@example.nl",
            "phone": "+31 6 12345678",
            "street": "Kerkstraat",
            "house_number": "12",
            "postcode": "1234 AB",
            "city": "Utrecht",
            "country": "NL",
            "iban": "NL91ABNA0417164300",
            "joined_on": date(2020, 1, 1),
            "status": "active",
        }
        fields.update(overrides)
        if "member_number" not in fields:
            fields["member_number"] = member_service.next_member_number()
        member = Member(**fields)
        member_service.refresh_search_text(member)
        db.session.add(member)
        db.session.commit()
        return member

    return factory


@pytest.fixture
def make_plan(db):
    """make_plan(name=..., **fields) -> a saved, active catalogue plan (one per name: asked twice, the same plan)."""

    def factory(name="Fitness Onbeperkt", **overrides):
        existing = db.session.scalar(_db.select(Plan).where(Plan.name == name))
        if existing is not None:
            return existing
        fields = {"name": name, "period": "month", "price": Decimal("34.95"), "renews": True, "active": True,
                  "plan_group": "fitness"}
        fields.update(overrides)
        plan = Plan(**fields)
        db.session.add(plan)
        db.session.commit()
        return plan

    return factory


@pytest.fixture
def frozen_clock():
    """frozen_clock(datetime or date) stops the application clock there for this test."""

    def freeze(moment):
        clock.freeze(moment)
        return moment

    yield freeze
    clock.freeze(None)


# --- the run as a whole: workers, browser tests, what was checked ---------------------------

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")  # Debian's; CI and make test install it
BROWSER_MISSING = (
    f"Chromium is not installed ({CHROMIUM}): run `sudo scripts/system-deps.sh test` "
    "or `sudo apt-get install chromium`"
)


@pytest.hookimpl(optionalhook=True)  # known only while pytest-xdist is loaded
def pytest_xdist_auto_num_workers(config):
    """`-n auto`: the cores, or one process where PostgreSQL's user may not create the worker databases."""
    url = os.environ.get("DATABASE_URL")
    if url and not may_create_databases(normalise_database_url(url)):
        sys.stderr.write("tests: this PostgreSQL user may not create databases; running in one process\n")
        return 0
    return int(os.environ.get("TEST_WORKERS") or len(os.sched_getaffinity(0)))


def pytest_configure(config):
    """The collector's thresholds for a test process, which keeps a large heap alive throughout.

    With Python's defaults (700, 10, 10) the collector ran about 2,100 times for 600 tests, and
    its full collections rescan every module, mapper and compiled template: 3.1 s of a 34 s run
    (tests/members, privacy and admin in one process). With the first threshold at 20,000
    allocations it runs about 340 times, for 1.1 s; cycles are still collected, only less often.
    """
    gc.set_threshold(20_000, 20, 20)


def pytest_collection_modifyitems(config, items):
    """Every test that drives a page is a browser test; without Chromium it is skipped, saying why.

    Slow tests (marked ``slow``, and every browser test) run first: the workers take tests in
    order, so a long one left for the end would keep one worker busy while the others wait.
    """
    have_chromium = shutil.which(CHROMIUM) is not None
    for item in items:
        if "page" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
        if not have_chromium and item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.skip(reason=BROWSER_MISSING))
    items.sort(key=lambda item: 0 if item.get_closest_marker("slow") or item.get_closest_marker("browser") else 1)


_skipped_browser_tests: list[str] = []


def pytest_runtest_logreport(report):
    # Reports from xdist workers arrive here on the controller too.
    if report.skipped and "browser" in report.keywords and report.nodeid not in _skipped_browser_tests:
        _skipped_browser_tests.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    """With REQUIRE_BROWSER_TESTS=1 (CI), a skipped browser test fails the run: it checked nothing."""
    if os.environ.get("REQUIRE_BROWSER_TESTS") == "1" and _skipped_browser_tests and not hasattr(session.config, "workerinput"):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Say what was checked: the database, the workers, the count; pytest's own line stays last."""
    if hasattr(config, "workerinput"):
        return
    url = os.environ.get("DATABASE_URL")
    where = f"PostgreSQL ({make_url(normalise_database_url(url)).database})" if url else "SQLite"
    workers = getattr(config.option, "numprocesses", None) or 1
    stats = terminalreporter.stats
    ran = sum(len([r for r in stats.get(key, []) if getattr(r, "when", "call") == "call"])
              for key in ("passed", "failed", "xfailed", "xpassed"))
    terminalreporter.write_line(
        f"Clubhouse: {ran} tests ran on {where} in {workers} process(es); "
        f"{len(stats.get('skipped', []))} skipped (browser tests skipped: {len(_skipped_browser_tests)})")
    if _skipped_browser_tests and os.environ.get("REQUIRE_BROWSER_TESTS") == "1":
        terminalreporter.write_line(
            f"Clubhouse: {len(_skipped_browser_tests)} browser test(s) skipped, which CI does not accept: {BROWSER_MISSING}",
            red=True)


__all__ = ["TEST_PASSWORD", "Decimal"]
