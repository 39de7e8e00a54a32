"""The restore drill, as an operator runs it: `backup create`, erasures, `backup restore FILE`.

Between the nightly backup and the restore the privacy officer erased two members through the
wizard's pages (one anonymised, one deleted); one member was erased before the backup, one is
kept, one registered after it. The restore must bring back the backup, erase the two again by
itself, say so with its counts, end with a clean residual scan, refuse to start while another
restore runs, and leave an audit log that verifies. On SQLite the raw bytes of the database files
are searched too; on PostgreSQL (DATABASE_URL) the same drill runs through pg_dump/pg_restore.

tests/privacy/test_erasure_files.py covers the services' side (the restore through erasures made
by the services, the job-lock refusal, damaged files); this is the operator's path.
"""

import fcntl
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.models import AuditEvent, HealthNote, Member, StaffNote, Visit
from app.services import backup as backup_service
from app.services import erasure, storage
from tests.privacy.helpers import get_request, register, verify

# Every identifying value distinct from every other member's, so that a hit can only be theirs.
PEOPLE = {
    "early": dict(first_name="Fenneke", last_name="Vroegindeweij", email="fenneke@vroegindeweij.example",
                  phone="+31 6 11122233", street="Dageraadlaan", house_number="4", postcode="2011 FV",
                  city="Haarlem", iban="NL12RABO0111222333", date_of_birth=date(1971, 1, 11)),
    "anonymised": dict(first_name="Gosewijn", last_name="Hazelhoff", email="gosewijn@hazelhoff.example",
                       phone="+31 6 44455566", street="Eekhoornpad", house_number="18a", postcode="6822 GH",
                       city="Arnhem", iban="NL34INGB0444555666", date_of_birth=date(1966, 6, 16)),
    "deleted": dict(first_name="Marijke", infix="van", last_name="Plettenburg", email="marijke@plettenburg.example",
                    phone="+31 6 77788899", street="Slotgracht", house_number="9", postcode="3434 MP",
                    city="Nieuwegein", iban="NL56ABNA0777888999", date_of_birth=date(1983, 8, 23)),
}


def _member(db, make_member, fields):
    member = make_member(**fields)
    db.session.add_all([
        Visit(member_id=member.id, checked_in_at=date(2026, 3, 4), location="Main hall"),
        HealthNote(member_id=member.id, body=f"{member.full_name}: shoulder, born {member.date_of_birth:%d-%m-%Y}"),
        StaffNote(member_id=member.id, body=f"Rang {member.full_name} on {member.phone} about {member.iban}"),
    ])
    db.session.commit()
    return member


def _erase_through_the_wizard(client, db, member, method):
    """The privacy officer's pages, start to letter, as in the runbook of docs/privacy-requests.md."""
    reference = register(client, requester_name=member.full_name, requester_email=member.email)
    verify(client, reference, member)
    base = f"/privacy/requests/{reference}/erasure"
    steps = [("start", {}), ("ground", {"ground": "no_longer_needed"}),
             ("decision", {"decision": "grant", "reason": "Membership ended"}), ("method", {"method": method}),
             ("confirm", {"member_number": str(member.member_number)}), ("result", {}), ("letter", {})]
    for step, data in steps:
        response = client.post(f"{base}/{step}", data=data)
        assert response.status_code in (200, 302), (step, response.status_code)
    assert get_request(db, reference).status == "completed"


def _merged(*identifier_sets):
    merged: dict[str, set[str]] = {}
    for identifiers in identifier_sets:
        for kind, values in identifiers.items():
            if not kind.startswith("_"):
                merged.setdefault(kind, set()).update(values)
    return {kind: sorted(values) for kind, values in merged.items()}


def _copies(patterns, paths=None) -> int:
    return sum(sum(found["hits"].values()) for found in storage.scan_files(patterns, paths))


def _number(db, number):
    db.session.expire_all()
    return db.session.scalar(select(Member).where(Member.member_number == number))


@pytest.mark.slow
def test_the_restore_drill_erases_again_refuses_a_second_restore_and_leaves_a_sound_audit_log(
        app, db, client, runner, make_member, make_user, login_as):
    sqlite = db.engine.dialect.name == "sqlite"
    login_as(make_user("privacy_officer", username="petra"))
    early, anonymised, deleted = (_member(db, make_member, PEOPLE[key]) for key in PEOPLE)
    kept = make_member(first_name="Blijft", last_name="Gewoonlid", email="blijft@gewoonlid.example").member_number
    numbers = {key: member.member_number for key, member in zip(PEOPLE, (early, anonymised, deleted), strict=True)}
    erased_ids = _merged(*(erasure.identifiers_of(member) for member in (early, anonymised, deleted)))
    _erase_through_the_wizard(client, db, early, "delete")  # before the backup: the backup knows it

    # 02:15, the nightly backup
    created = runner.invoke(args=["backup", "create"])
    assert created.exit_code == 0, created.output
    backup_file = Path(created.output.split("Backup written: ", 1)[1].split(" (", 1)[0])
    assert f"({backup_file.stat().st_size} bytes)" in created.output
    assert "The erasure ledger and its key are not in it" in created.output

    # the day after: two erasures through the wizard, and a new member at the desk
    _erase_through_the_wizard(client, db, anonymised, "anonymise")
    _erase_through_the_wizard(client, db, deleted, "delete")
    late = make_member(first_name="Nieuwkomer", last_name="Naderhand", email="nieuw@naderhand.example").member_number
    if sqlite:
        # the backup still holds the two erased since (that is why it is restored through the command)
        assert _copies(erased_ids, [backup_file]) > 10
    db.session.remove()

    # another operator's restore holds the restore lock (a separate process): this one is refused
    holder = subprocess.Popen(  # noqa: S603 - this interpreter, no shell
        [sys.executable, "-c", "import fcntl, sys; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); "
         "print('held', flush=True); sys.stdin.read()", str(backup_service._restore_lock_path())],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        refused = runner.invoke(args=["backup", "restore", str(backup_file)])
    finally:
        holder.stdin.close()
        holder.wait()
    assert refused.exit_code == 1
    assert "Error: another restore is running; wait for it to finish" in refused.output
    assert "Traceback" not in refused.output and "Restored" not in refused.output
    assert _number(db, late) is not None and _number(db, numbers["anonymised"]).status == "anonymised"
    db.session.remove()

    restored = runner.invoke(args=["backup", "restore", str(backup_file)])
    assert restored.exit_code == 0, restored.output
    lines = restored.output.splitlines()
    assert lines[0] == f"Restored {backup_file}."
    assert "Ledger rows put back into the database: 2." in lines  # the two erasures after the backup
    assert "2 member(s) erased again." in lines  # the early one was already gone in the backup
    assert "Residual scan of the rows: 0 failure(s), 0 kept by law." in lines
    if sqlite:
        assert lines[-1] == "Residual scan of the database files: 0 copies left."
        assert f"  {storage.database_path().name} (" in restored.output
    else:
        assert lines[-1].startswith("Database files: not readable by the portal on PostgreSQL")
    assert "WARNING" not in restored.output

    # the backup really came back (the member registered after it is gone), and the erased stay erased
    assert _number(db, late) is None
    assert _number(db, kept).email == "blijft@gewoonlid.example"
    assert _number(db, numbers["early"]) is None and _number(db, numbers["deleted"]) is None
    back = _number(db, numbers["anonymised"])
    assert back.status == "anonymised" and back.email is None and back.last_name != "Hazelhoff"
    assert erasure.members_back() == []
    assert erasure.verify(erased_ids)["failures"] == 0
    db.session.rollback()
    if sqlite:
        assert _copies(erased_ids) == 0  # the database file, its WAL and the instance folder
    lock = os.open(backup_service._restore_lock_path(), os.O_WRONLY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the restore let go of its lock
    finally:
        os.close(lock)

    # what the operator checks afterwards
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "privacy.reapply_erasures"))
    assert event is not None and '"erased": 2' in event.details and '"restored_ledger_rows": 2' in event.details
    audited = " ".join(db.session.scalars(select(func.coalesce(AuditEvent.details, "")))).lower()
    assert not any(value in audited for values in erased_ids.values() for value in values)
    checked = runner.invoke(args=["audit", "verify"])
    assert checked.exit_code == 0, checked.output
    assert checked.output.startswith("Audit log intact: ")
    ledger_check = runner.invoke(args=["privacy", "verify-ledger"])
    assert ledger_check.exit_code == 0, ledger_check.output
