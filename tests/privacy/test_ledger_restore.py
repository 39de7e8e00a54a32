"""The backup trap, for real: back up the database, erase, restore the backup, reapply the ledger."""

import os
import shutil
import sqlite3
import subprocess
from types import SimpleNamespace
from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select

from app.auth.permissions import DEFAULT_ROLES
from app.models import ErasureRecord, Member
from app.services import erasure


def _seed(make_member):
    gone = make_member(first_name="Gerrit", last_name="Weggaan", email="gerrit.weggaan@example.nl")
    anon = make_member(first_name="Aaltje", last_name="Anoniem", email="aaltje.anoniem@example.nl")
    stays = make_member(first_name="Blijft", last_name="Gewoon", email="blijft@example.nl")
    return gone, anon, stays


def _erase(db, gone, anon):
    erasure.erase_member(gone, "delete", None, request_reference="AVG-2026-0001")
    erasure.erase_member(anon, "anonymise", None, request_reference="AVG-2026-0002")
    db.session.commit()


# The privacy officer's permissions on a role without two-factor: the restored database forgets a code step.
OFFICER_CODES = sorted(DEFAULT_ROLES["privacy_officer"]["codes"])


def _dashboard(client, login, officer):
    login(officer)
    return client.get("/").get_data(as_text=True)


def _check_reapplied(db, runner, numbers, client=None, login=None, officer=None):
    gone_number, anon_number, stays_number = numbers
    warning = "Erased members are back."
    assert warning in _dashboard(client, login, officer)
    assert "2 erased members are present again" in _dashboard(client, login, officer)
    # after the restore the erased members are back, and the ledger table forgot them
    assert db.session.scalar(select(Member).where(Member.member_number == gone_number)) is not None
    back = db.session.scalar(select(Member).where(Member.member_number == anon_number))
    assert back.last_name == "Anoniem"
    assert db.session.scalar(select(func.count()).select_from(ErasureRecord)) == 0
    db.session.rollback()

    dry = runner.invoke(args=["privacy", "reapply-erasures", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "2 member(s) would be erased again" in dry.output
    assert f"member {gone_number}: delete (AVG-2026-0001)" in dry.output
    assert db.session.scalar(select(Member).where(Member.member_number == gone_number)) is not None

    result = runner.invoke(args=["privacy", "reapply-erasures"])
    assert result.exit_code == 0, result.output
    assert "2 member(s) erased again" in result.output
    db.session.expire_all()
    assert db.session.scalar(select(Member).where(Member.member_number == gone_number)) is None
    anon = db.session.scalar(select(Member).where(Member.member_number == anon_number))
    assert anon.status == "anonymised" and anon.last_name == "" and anon.email is None
    assert db.session.scalar(select(Member).where(Member.member_number == stays_number)).last_name == "Gewoon"
    # the two original rows came back from the file, plus the two new re-erasure entries
    assert db.session.scalar(select(func.count()).select_from(ErasureRecord)) == 4
    assert warning not in _dashboard(client, login, officer)
    again = runner.invoke(args=["privacy", "reapply-erasures"])
    assert "0 member(s) erased again" in again.output
    verify = runner.invoke(args=["privacy", "verify-ledger"])
    assert verify.exit_code == 0 and "intact" in verify.output


def test_restore_of_a_sqlite_copy_then_reapply(app, db, make_member, runner, tmp_path, client, login, make_user):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite variant; the PostgreSQL run uses pg_dump/pg_restore")
    officer = SimpleNamespace(username=make_user(permissions=OFFICER_CODES).username)  # no 2FA: the restore drops it
    gone, anon, stays = _seed(make_member)
    numbers = (gone.member_number, anon.member_number, stays.member_number)
    live = db.engine.url.database
    backup = tmp_path / "backup.db"
    db.session.remove()
    with sqlite3.connect(live) as source, sqlite3.connect(backup) as target:
        source.backup(target)  # the club's nightly backup

    _erase(db, gone, anon)
    db.session.remove()
    db.engine.dispose()
    with sqlite3.connect(backup) as source, sqlite3.connect(live) as target:
        source.backup(target)  # restoring it puts the old file back
    _check_reapplied(db, runner, numbers, client, login, officer)


def _pg_env(url):
    parts = urlparse(url.replace("postgresql+psycopg://", "postgresql://"))
    env = dict(os.environ)
    env.update(PGHOST=parts.hostname or "127.0.0.1", PGPORT=str(parts.port or 5432),
               PGUSER=parts.username or "postgres", PGDATABASE=parts.path.lstrip("/"))
    if parts.password:
        env["PGPASSWORD"] = parts.password
    return env


def test_restore_of_a_postgres_dump_then_reapply(app, db, make_member, runner, tmp_path, client, login, make_user):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL variant; the SQLite run copies the database file")
    if not shutil.which("pg_dump") or not shutil.which("pg_restore"):
        pytest.skip("pg_dump/pg_restore not installed")
    officer = SimpleNamespace(username=make_user(permissions=OFFICER_CODES).username)  # no 2FA: the restore drops it
    gone, anon, stays = _seed(make_member)
    numbers = (gone.member_number, anon.member_number, stays.member_number)
    env = _pg_env(db.engine.url.render_as_string(hide_password=False))
    dump = tmp_path / "backup.dump"
    db.session.remove()
    subprocess.run(["pg_dump", "--format=custom", "--file", str(dump)], check=True, env=env)

    _erase(db, gone, anon)
    db.session.remove()
    db.engine.dispose()
    subprocess.run(["pg_restore", "--clean", "--if-exists", "--single-transaction", "--dbname",
                    env["PGDATABASE"], str(dump)], check=True, env=env)
    _check_reapplied(db, runner, numbers, client, login, officer)
