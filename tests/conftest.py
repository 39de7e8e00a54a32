"""Shared fixtures: the app on SQLite or PostgreSQL, a clean database per test, factories.

The database comes from DATABASE_URL when it is set (CI's PostgreSQL run), else a fresh
SQLite file. Its schema is built by the Alembic migrations, never by create_all(), so every
test also runs on exactly what `flask db upgrade` produces.
"""

import itertools
import os
from datetime import UTC, date
from decimal import Decimal

import pyotp
import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from app import create_app
from app.config import TestConfig, normalise_database_url
from app.extensions import db as _db
from app.models import Member, Role, User
from app.services import clock, passwords
from app.services import members as member_service
from app.services import roles as role_service

TEST_PASSWORD = "Correct-horse-battery-9"


def _reset_postgres_schema(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = os.environ.get("DATABASE_URL")
    if url:
        url = normalise_database_url(url)
        _reset_postgres_schema(url)
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'clubhouse-test.db'}"


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("instance")


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


@pytest.fixture(autouse=True)
def _clean_state(app, instance_dir):
    """Each test starts with empty tables, a running clock and no ledger file."""
    with app.app_context():
        yield
        _db.session.rollback()
        _db.session.remove()
        with _db.engine.begin() as conn:
            for table in reversed(_db.metadata.sorted_tables):
                conn.execute(table.delete())
    clock.freeze(None)
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
def password_hash():
    """Hashing is slow on purpose; tests share one hash of TEST_PASSWORD."""
    return passwords.hash_password(TEST_PASSWORD)


_numbers = itertools.count(1)


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


@pytest.fixture
def make_user(db, password_hash, make_role):
    """make_user('front_desk') for a default role, or make_user(permissions=[...])."""

    def factory(*role_keys, permissions=None, username=None, **fields):
        role_service.ensure_default_roles()
        user_roles = [role_service.role_by_key(key) for key in role_keys]
        if permissions is not None:
            user_roles.append(make_role(*permissions))
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
            response = client.post("/login/code", data={"code": totp.generate_otp(step)}, follow_redirects=follow)
        return response

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
def frozen_clock():
    """frozen_clock(datetime or date) stops the application clock there for this test."""

    def freeze(moment):
        clock.freeze(moment)
        return moment

    yield freeze
    clock.freeze(None)


__all__ = ["TEST_PASSWORD", "Decimal"]
