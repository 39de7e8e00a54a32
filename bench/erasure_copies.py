"""How many copies of an erased member's values the database files keep, before and after the clean-up.

    PYTHONPATH=. .venv/bin/python bench/erasure_copies.py                      # SQLite in a scratch folder
    BENCH_URL=postgresql+psycopg://postgres@127.0.0.1:5432/SCRATCH_DB PYTHONPATH=. .venv/bin/python bench/erasure_copies.py

SQLite: the database file, its WAL and the other files of the scratch instance folder, without and
then with the checkpoint the commit now runs.

The database at BENCH_URL is WIPED. Needs read access to the server's data directory (run on the
database host as root or postgres). A canary member with a distinct value in every field, a
subscription, visits, notes, a consent, a lifted hold and a data request is erased through the
wizard's services (anonymise); the database's own files (heap, indexes, TOAST, free space map)
are searched at each step, and the cluster's WAL is counted separately.
"""

import os
import shutil
import tempfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import text

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import Consent, DataRequest, HealthNote, Member, Plan, StaffNote, Subscription, Visit
from app.services import erasure, holds, storage
from app.services import members as member_service
from app.services import privacy_requests as svc

SCRATCH = tempfile.mkdtemp(prefix="clubhouse-copies-")
URL = os.environ.get("BENCH_URL") or f"sqlite:///{SCRATCH}/clubhouse.db"
Config = type("BenchConfig", (TestConfig,), {
    "SQLALCHEMY_DATABASE_URI": URL, "ERASURE_LEDGER_PATH": f"{SCRATCH}/ledger.jsonl",
    "INSTANCE_DIR": SCRATCH, "BACKUP_DIR": f"{SCRATCH}/backups"})
POSTGRES = URL.startswith("postgresql")
VALUES = ["Ysoldina", "Krabbendijkstra", "ysoldina.krabbendijkstra@kanarie.example", "55443399",
          "Kanarieplein", "NL44ABNA0555666999"]


def count(paths) -> int:
    total = 0
    needles = [value.lower().encode() for value in VALUES]
    for path in paths:
        try:
            data = path.read_bytes().lower()
        except OSError:
            continue
        total += sum(data.count(needle) for needle in needles)
    return total


def files():
    with db.engine.connect() as conn:
        directory = Path(conn.execute(text("SHOW data_directory")).scalar())
        oid = conn.execute(text("SELECT oid FROM pg_database WHERE datname = current_database()")).scalar()
    return list((directory / "base" / str(oid)).iterdir()), list((directory / "pg_wal").glob("0*"))


def checkpoint():
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("CHECKPOINT")


def report(label):
    if not POSTGRES:
        found = {path.name: count([path]) for path in Path(SCRATCH).iterdir() if path.is_file()}
        print(f"{label:<48} " + ", ".join(f"{name} {n}" for name, n in sorted(found.items())))
        return
    checkpoint()
    data, wal = files()
    print(f"{label:<48} database files {count(data):>4}   cluster WAL {count(wal):>4}")
    with db.engine.connect() as conn:
        names = dict(conn.execute(text("SELECT pg_relation_filenode(oid)::text, relname FROM pg_class "
                                       "WHERE pg_relation_filenode(oid) IS NOT NULL")).all())
    where = {}
    for path in data:
        n = count([path])
        if n:
            name = names.get(path.name.split("_")[0].split(".")[0], path.name)
            where[name] = where.get(name, 0) + n
    print("    " + ", ".join(f"{name} {n}" for name, n in sorted(where.items(), key=lambda item: -item[1])))


def main():
    app = create_app(Config)
    with app.app_context():
        if POSTGRES:
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade()
        member = member_service.create_member({
            "first_name": "Ysoldina", "last_name": "Krabbendijkstra", "email": "ysoldina.krabbendijkstra@kanarie.example",
            "phone": "+31 6 55443399", "street": "Kanarieplein", "house_number": "3", "postcode": "4411 YK",
            "city": "Wemeldinge", "iban": "NL44ABNA0555666999", "date_of_birth": date(1958, 11, 29)}, actor=None)
        plan = Plan(name="All-in", period="month", price=Decimal("39.50"), renews=True, active=True, plan_group="fitness")
        db.session.add_all([
            Subscription(member_id=member.id, plan=plan, starts_on=date(2019, 1, 1), ends_on=date(2020, 1, 1),
                         monthly_fee=Decimal("39.50"), status="ended"),
            Visit(member_id=member.id, checked_in_at=datetime(2019, 3, 4, 18, 0), location="Main hall"),
            Consent(member_id=member.id, purpose="newsletter", given_via="desk"),
            HealthNote(member_id=member.id, body="Ysoldina Krabbendijkstra: knee"),
            StaffNote(member_id=member.id, body="Called Krabbendijkstra on 06 55443399 about NL44ABNA0555666999"),
            DataRequest(reference="AVG-2019-0001", kind="access", channel="desk", status="completed",
                        requester_name="Ysoldina Krabbendijkstra", requester_email=member.email, member_id=member.id,
                        member_number=member.member_number, due_on=date.today() - timedelta(days=400),
                        closed_at=datetime(2024, 1, 1)),
        ])
        db.session.commit()
        hold = holds.place_hold(member, "Dispute with Krabbendijkstra", None)
        db.session.commit()
        holds.lift_hold(hold, None)
        db.session.commit()
        report("before the erasure")
        # the wizard's services, without the VACUUM, then the VACUUM on its own
        request = svc.register("erasure", channel="desk", requester_name="Ysoldina Krabbendijkstra",
                               requester_email=member.email, requester_member_number=str(member.member_number))
        svc.verify_identity(request, member, "passport", None)
        svc.wizard_start(request, None)
        svc.record_ground(request, "no_longer_needed", "", None)
        svc.record_decision(request, "grant", "", None)
        svc.record_method(request, "anonymise", None)
        db.session.commit()
        tables = {t.name for t in db.metadata.sorted_tables}
        skip = storage.cleanup
        storage.cleanup = lambda *a, **k: True
        svc.execute(request, str(member.member_number), None)
        svc.to_letter(request, None)
        svc.letter_made(request, None)
        db.session.commit()
        storage.cleanup = skip
        report("erased, letter made, without the clean-up")
        storage.cleanup(tables)
        report("after the clean-up the commit now runs")
        if POSTGRES:
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM FULL")
            report("after VACUUM FULL of every table (not done)")
        assert db.session.get(Member, member.id).status == "anonymised"
        assert erasure.verify({"name": ["krabbendijkstra"]})["ok"]


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)
