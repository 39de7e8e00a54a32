"""An erasure leaves nothing in the database's files: the raw bytes of SQLite's file and WAL are scanned.

The canary member carries distinct values in every field, a subscription, visits, notes, a
consent, a lifted legal hold and data requests; it is erased through the services (the
wizard's path, both methods), then the bytes on disk are searched for every stored form of
its identifiers. Before secure_delete and the checkpoint, the WAL held dozens of copies.
"""

import sqlite3
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import (
    Consent,
    DataRequest,
    HealthNote,
    Invoice,
    MaintenanceStatus,
    StaffNote,
    Subscription,
    Visit,
)
from app.services import clock, erasure, holds, storage
from app.services import privacy_requests as svc

CANARY = {
    "first_name": "Ysolde",
    "infix": "op den",
    "last_name": "Krabbendijke",
    "email": "ysolde.krabbendijke@kanarie.example",
    "phone": "+31 6 55443322",
    "street": "Kanariepad",
    "house_number": "313",
    "postcode": "4411 YK",
    "city": "Wemeldinge",
    "iban": "NL44ABNA0555666777",
    "date_of_birth": date(1958, 11, 29),
    "gender": "female",
}


def _sqlite_only(db):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the raw-bytes scan reads SQLite's files; PostgreSQL is measured in docs/privacy-requests.md")


def _plan(db, name):
    """A catalogue plan (one per name)."""
    from app.models import Plan

    plan = db.session.scalar(db.select(Plan).where(Plan.name == name))
    if plan is None:
        plan = Plan(name=name, period="month", price=Decimal("39.50"), renews=True, active=True, plan_group="fitness")
        db.session.add(plan)
        db.session.flush()
    return plan


@pytest.fixture
def canary(db, make_member):
    def factory(**overrides):
        member = make_member(**{**CANARY, **overrides})
        address = f"{member.street} {member.house_number}, {member.postcode} {member.city}"
        db.session.add_all([
            Subscription(member_id=member.id, plan=_plan(db, "All-in"), starts_on=date(2019, 1, 1), ends_on=date(2020, 1, 1),
                         monthly_fee=Decimal("39.50"), status="ended"),
            Visit(member_id=member.id, checked_in_at=datetime(2019, 3, 4, 18, 0), location="Main hall"),
            Invoice(member_id=member.id, number=f"OLD-{member.member_number}", issued_on=date(2015, 3, 1),
                    due_on=date(2015, 3, 15), amount=Decimal("39.50"), status="paid",
                    billing_name=member.full_name, billing_address=address),
            Consent(member_id=member.id, purpose="newsletter", given_via="desk"),
            HealthNote(member_id=member.id, body=f"{member.full_name}: knee surgery, born {member.date_of_birth:%d-%m-%Y}"),
            StaffNote(member_id=member.id, body=f"Called {member.full_name} on {member.phone} about {member.iban}"),
            DataRequest(reference=f"AVG-2019-{member.member_number % 10000:04d}", kind="access", channel="desk",
                        status="completed", requester_name=member.full_name, requester_email=member.email,
                        requester_date_of_birth=member.date_of_birth, member_id=member.id,
                        member_number=member.member_number, due_on=clock.today() - timedelta(days=400),
                        closed_at=clock.utcnow(), message=f"Please send my data to {address}"),
        ])
        db.session.commit()
        hold = holds.place_hold(member, f"Dispute with {member.full_name} about {member.iban}", None)
        db.session.commit()
        holds.lift_hold(hold, None)
        db.session.commit()
        # edits leave old row versions behind too
        member.city = "Kattendijke"
        db.session.commit()
        return member

    return factory


def _wizard(db, member, method, actor=None):
    """The erasure wizard's services, step by step, each step committed as the pages do."""
    data_request = svc.register("erasure", channel="desk", requester_name=member.full_name,
                                requester_email=member.email, requester_date_of_birth=member.date_of_birth,
                                requester_member_number=str(member.member_number),
                                message=f"Erase {member.full_name}, {member.street} {member.house_number}")
    db.session.commit()
    svc.verify_identity(data_request, member, "passport shown", actor)
    svc.wizard_start(data_request, actor)
    svc.record_ground(data_request, "no_longer_needed", "", actor)
    svc.record_decision(data_request, "grant", "", actor)
    svc.record_method(data_request, method, actor)
    db.session.commit()
    svc.execute(data_request, str(member.member_number), actor)
    db.session.commit()
    report = svc.report_of(svc.get_by_reference(data_request.reference))
    svc.to_letter(data_request, actor)
    svc.letter_made(data_request, actor)
    db.session.commit()
    return data_request.reference, report


def _copies(identifiers) -> dict:
    patterns = {kind: values for kind, values in identifiers.items() if not kind.startswith("_")}
    found = {}
    for result in storage.scan_files(patterns):
        for value, count in result["values"].items():
            found[f"{result['file']}: {value}"] = count
    return found


@pytest.mark.parametrize("method", ["anonymise", "delete"])
def test_the_wizard_leaves_no_copy_in_the_database_file_or_its_wal(db, canary, method):
    _sqlite_only(db)
    member = canary()
    identifiers = erasure.identifiers_of(member)
    assert {"name", "email", "phone", "address", "iban", "date_of_birth"} <= set(identifiers)
    assert "31655443322" in identifiers["phone"] and "nl44abna0555666777" in identifiers["iban"]
    # the scan is real: right now the database's files hold the canary's values
    before = _copies(identifiers)
    assert sum(before.values()) > 10, before

    reference, report = _wizard(db, member, method)

    assert _copies(identifiers) == {}
    files = report["files"]
    assert files["scanned"] and files["failures"] == 0 and files["ok"]
    names = [item["file"] for item in files["files"]]
    assert storage.database_path().name in names
    # right after the erasure only the request's own requester details remain (until the letter)
    assert files["explained"] == sum(sum(item["hits"].values()) for item in files["files"]) - files["shared"]
    assert report["until_letter"] > 0
    # the stored report names files and counts, never a value
    stored = db.session.scalar(select(DataRequest.verification_report).where(DataRequest.reference == reference))
    assert "krabbendijke" not in stored.lower() and "55443322" not in stored


def test_the_file_scan_finds_what_a_missed_copy_leaves(db, canary, runner):
    """A copy outside the erasure's reach (a text planted in an unrelated row) is found in the raw bytes."""
    _sqlite_only(db)
    member = canary()
    identifiers = erasure.identifiers_of(member)
    from app.models import Counter

    db.session.add(Counter(name=f"left {member.email}"[:60], value=1))
    db.session.commit()
    _reference, report = _wizard(db, member, "anonymise")
    files = erasure.verify_files(identifiers)
    assert files["failures"] >= 1 and not files["ok"]
    assert any(item["hits"].get("email") for item in files["files"])
    assert not report["ok"]  # the rows scan names the table too


def test_the_sweep_and_reapply_checkpoint_after_every_commit(db, canary, monkeypatch):
    """erase_members marks the commit; whoever commits (sweep chunk, reapply, wizard) truncates the WAL."""
    _sqlite_only(db)
    member = canary()
    identifiers = erasure.identifiers_of(member)
    erasure.erase_members([member.id], "delete", None, source="retention")
    db.session.commit()
    assert _copies(identifiers) == {}
    wal = storage.database_path().with_name(storage.database_path().name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0


def test_a_blocked_checkpoint_is_retried_recorded_and_shown_until_one_succeeds(
        db, canary, monkeypatch, client, login, make_user, runner):
    _sqlite_only(db)
    monkeypatch.setattr(storage, "CHECKPOINT_PAUSE", 0)
    monkeypatch.setattr(storage, "CHECKPOINT_BUSY_MS", 50)
    calls = []
    real = storage._checkpoint_once
    monkeypatch.setattr(storage, "_checkpoint_once", lambda engine: calls.append(1) or real(engine))
    member = canary()
    identifiers = erasure.identifiers_of(member)
    officer = make_user("privacy_officer")
    # a reader in the middle of a read transaction keeps the old snapshot (with the canary) alive
    reader = sqlite3.connect(storage.database_path(), isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM members").fetchone()
    try:
        erasure.erase_member(member, "anonymise", None)
        db.session.commit()
        assert len(calls) == storage.CHECKPOINT_ATTEMPTS  # retried, bounded
        failure = db.session.get(MaintenanceStatus, storage.CHECKPOINT)
        assert failure is not None and "4 attempts" in failure.detail
        assert _copies(identifiers) != {}  # the WAL still holds the old pages: never silently skipped
        login(officer)
        page = client.get("/").get_data(as_text=True)
        assert "Erased data may still be in the database files." in page
    finally:
        reader.execute("ROLLBACK")
        reader.close()
    result = runner.invoke(args=["privacy", "checkpoint"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(MaintenanceStatus, storage.CHECKPOINT) is None
    assert _copies(identifiers) == {}
    assert "Erased data may still be in the database files." not in client.get("/").get_data(as_text=True)


def test_database_files_are_the_owners_only(db):
    _sqlite_only(db)
    main = storage.database_path()
    with db.engine.connect() as conn:  # a new connection re-applies the modes
        conn.exec_driver_sql("SELECT 1")
    for path in storage.sqlite_files():
        if path.exists() and path.parent == main.parent:
            assert path.stat().st_mode & 0o077 == 0, path
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1


@pytest.mark.slow
def test_backup_restore_erases_again_by_itself_and_leaves_no_copy(db, canary, runner, app):
    """backup create, erase (both methods), backup restore: the erased are erased again, nothing left on disk."""
    _sqlite_only(db)
    anonymised = canary()
    deleted = canary(first_name="Ottoline", last_name="Zeerobbe", email="ottoline.zeerobbe@kanarie.example",
                     phone="+31 6 10203040", iban="NL55INGB0009988776", street="Robbenkade",
                     date_of_birth=date(1949, 4, 1))
    ids = {**erasure.identifiers_of(anonymised)}
    for kind, values in erasure.identifiers_of(deleted).items():
        ids[kind] = sorted(set(ids.get(kind, [])) | set(values))
    created = runner.invoke(args=["backup", "create"])
    assert created.exit_code == 0, created.output
    backup_file = created.output.split("Backup written: ", 1)[1].split(" (", 1)[0]
    from pathlib import Path

    assert Path(backup_file).parent == Path(app.config["BACKUP_DIR"])
    assert Path(backup_file).stat().st_mode & 0o077 == 0
    numbers = anonymised.member_number, deleted.member_number
    _wizard(db, anonymised, "anonymise")
    _wizard(db, deleted, "delete")
    assert _copies(ids) == {}
    db.session.remove()

    restored = runner.invoke(args=["backup", "restore", backup_file])
    assert restored.exit_code == 0, restored.output
    assert "2 member(s) erased again." in restored.output
    assert "Residual scan of the database files: 0 copies left" in restored.output
    assert _copies(ids) == {}
    db.session.expire_all()
    from app.models import Member

    assert db.session.scalar(select(Member).where(Member.member_number == numbers[1])) is None
    back = db.session.scalar(select(Member).where(Member.member_number == numbers[0]))
    assert back.status == "anonymised" and back.email is None


def test_restore_refuses_while_a_job_holds_its_lock_and_bad_files(db, runner, tmp_path):
    from app.services import jobs

    created = runner.invoke(args=["backup", "create"])
    assert created.exit_code == 0, created.output
    backup_file = created.output.split("Backup written: ", 1)[1].split(" (", 1)[0]
    held = jobs.acquire("retention-sweep")
    try:
        refused = runner.invoke(args=["backup", "restore", backup_file])
        assert refused.exit_code != 0 and "a job holds its lock (retention-sweep)" in refused.output
    finally:
        held.release()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 10)
    refused = runner.invoke(args=["backup", "restore", str(junk)])
    assert refused.exit_code != 0 and "Traceback" not in refused.output
    assert "not" in refused.output
    missing = runner.invoke(args=["backup", "restore", str(tmp_path / "nope.db")])
    assert missing.exit_code != 0 and "is not a file" in missing.output


def test_the_portal_refuses_to_start_with_the_ledger_inside_backup_dir(make_app, instance_dir):
    from app.services.backup import LedgerInBackupDirError

    with pytest.raises(LedgerInBackupDirError, match="BACKUP_DIR"):
        make_app(BACKUP_DIR=str(instance_dir))
    make_app(BACKUP_DIR=str(instance_dir / "backups"))  # beside the ledger, not around it: fine
