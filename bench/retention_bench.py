"""Benchmark: the retention sweep's anonymisation of ended memberships vs hand-written SQL.

    .venv/bin/python bench/retention_bench.py                       # SQLite (temp file)
    .venv/bin/python bench/retention_bench.py --pg postgresql://postgres@127.0.0.1:5432/postgres
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/retention_bench.py --pg

The script builds its own databases: a SQLite file in a temporary folder, or scratch
databases on the given PostgreSQL server (127.0.0.1 only), created and dropped again. The
schema comes from the migrations. It seeds N ended memberships (default 100,000), each with
one consent, one staff note and one health note, all long past the retention period, and
then measures on fresh copies of that database (a file copy, or CREATE DATABASE ... TEMPLATE):

  sweep        `retention.run_sweep()`, the code the nightly job runs: job lock, the set-based
               selection (legal holds, open invoices, open requests excluded), health and
               staff notes deleted by their policies, the members anonymised through the
               erasure engine in chunks (one transaction each), the erasure ledger written
               (a table row and a file line, fsynced, per member) and the audit entries;
  hand-written the equivalent data change as plain SQL in one transaction: the same
               selection, DELETE of the members' consents, health notes, staff notes and
               legal holds, the invoice detach/delete and data-request minimisation the engine
               also runs (no rows match in this data set), and one UPDATE of the members
               clearing the same personal columns. It writes no ledger and no audit log.

Each side runs --repeat times, alternating which goes first. Load from other processes only
adds time, so the headline ratio compares the fastest run of each side; the median of the
per-round ratios and the ratio of the medians are printed too.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from app import create_app  # noqa: E402
from app.config import TestConfig, normalise_database_url  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Consent, HealthNote, Member, StaffNote  # noqa: E402
from app.services import clock, retention  # noqa: E402

TODAY = datetime(2026, 6, 15, 3, 0)  # the sweep's "now": every seeded membership is long due

HAND_WRITTEN = [
    # The selection, exactly as the sweep makes it: ended two years ago or more, no active
    # legal hold, no open invoice, no open data request.
    """CREATE TEMPORARY TABLE due_members AS
       SELECT m.id FROM members m
       WHERE m.status = 'ended' AND m.ended_on IS NOT NULL AND m.ended_on <= :cutoff
         AND m.id NOT IN (SELECT member_id FROM legal_holds WHERE lifted_at IS NULL)
         AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.member_id = m.id AND i.status = 'open')
         AND NOT EXISTS (SELECT 1 FROM data_requests r WHERE r.member_id = m.id AND r.closed_at IS NULL)""",
    "UPDATE invoices SET member_id = NULL WHERE member_id IN (SELECT id FROM due_members) "
    "AND (issued_on >= :fiscal_cutoff OR status = 'open')",
    "DELETE FROM invoices WHERE member_id IN (SELECT id FROM due_members)",
    "UPDATE data_requests SET minimised_at = :now WHERE member_id IN (SELECT id FROM due_members) "
    "AND minimised_at IS NULL",
    "UPDATE data_requests SET requester_name = NULL, requester_email = NULL, requester_date_of_birth = NULL, "
    "requester_member_number = NULL, message = NULL, member_id = NULL WHERE member_id IN (SELECT id FROM due_members)",
    "DELETE FROM consents WHERE member_id IN (SELECT id FROM due_members)",
    "DELETE FROM health_notes WHERE member_id IN (SELECT id FROM due_members)",
    "DELETE FROM staff_notes WHERE member_id IN (SELECT id FROM due_members)",
    "DELETE FROM legal_holds WHERE member_id IN (SELECT id FROM due_members)",
    """UPDATE members SET first_name = '', infix = NULL, last_name = '', date_of_birth = NULL, gender = NULL,
       email = NULL, phone = NULL, street = NULL, house_number = NULL, postcode = NULL, city = NULL,
       iban = NULL, search_text = '', processing_restricted = :false, restricted_since = NULL,
       status = 'anonymised', anonymised_at = :now, updated_at = :now
       WHERE id IN (SELECT id FROM due_members)""",
    "DROP TABLE due_members",
]


def bench_config(url: str, workdir: Path):
    return type("BenchConfig", (TestConfig,), {
        "TESTING": False,
        "SQLALCHEMY_DATABASE_URI": url,
        "ERASURE_LEDGER_PATH": str(workdir / f"ledger-{uuid.uuid4().hex[:8]}.jsonl"),
        "ERASURE_LEDGER_KEY": "bench-ledger-key",
    })


def seed(url: str, workdir: Path, members: int) -> None:
    """Schema from the migrations, then N ended members with a consent and two notes each, in bulk."""
    app = create_app(bench_config(url, workdir))
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        batch = 10_000
        for start in range(0, members, batch):
            rows = []
            for n in range(start, min(start + batch, members)):
                ended = date(2019, 1, 1) + timedelta(days=n % 1500)
                rows.append({
                    "id": n + 1, "member_number": 100_001 + n, "first_name": f"Voornaam{n}", "infix": "van",
                    "last_name": f"Achternaam{n}", "date_of_birth": date(1970, 1, 1) + timedelta(days=n % 15000),
                    "gender": None, "email": f"lid{n}@example.nl", "phone": f"+31 6 {n:08d}",
                    "street": "Kerkstraat", "house_number": str(n % 300 + 1), "postcode": "1234 AB",
                    "city": "Utrecht", "country": "NL", "iban": f"NL91ABNA{n:010d}", "joined_on": date(2015, 1, 1),
                    "ended_on": ended, "status": "ended", "processing_restricted": False,
                    "restricted_since": None, "anonymised_at": None,
                    "search_text": f"voornaam{n} van achternaam{n} lid{n}@example.nl 1234ab utrecht {100_001 + n}",
                    "created_at": TODAY, "updated_at": TODAY,
                })
            ids = [row["id"] for row in rows]
            db.session.execute(Member.__table__.insert(), rows)
            db.session.execute(Consent.__table__.insert(), [
                {"member_id": i, "purpose": "newsletter", "given_at": TODAY, "given_via": "desk"} for i in ids])
            db.session.execute(StaffNote.__table__.insert(), [
                {"member_id": i, "body": "prefers the morning classes", "created_at": TODAY} for i in ids])
            db.session.execute(HealthNote.__table__.insert(), [
                {"member_id": i, "body": "knee surgery in 2018", "created_at": TODAY} for i in ids])
            db.session.commit()
        if db.engine.dialect.name == "sqlite":
            db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        print(f"  seeded {members:,} ended members (+ 3 child rows each) in {time.perf_counter() - started:.1f}s")
    with app.app_context():
        db.engine.dispose()


def _checkpoint(engine) -> None:
    """SQLite (WAL): move the committed pages into the database file, on both sides alike.

    The sweep's many commits trigger SQLite's automatic checkpoints along the way; the
    single hand-written transaction would otherwise leave all of that work for later.
    """
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def run_sweep(url: str, workdir: Path, members: int) -> float:
    app = create_app(bench_config(url, workdir))
    with app.app_context():
        clock.freeze(TODAY)
        try:
            db.session.execute(text("SELECT 1"))  # connect before the clock starts, as the hand-written side does
            started = time.perf_counter()
            result = retention.run_sweep(None, commit=db.session.commit, via="bench")
            _checkpoint(db.engine)
            elapsed = time.perf_counter() - started
        finally:
            clock.freeze(None)
        anonymised = db.session.scalar(text("SELECT count(*) FROM members WHERE status = 'anonymised'"))
        ledger_rows = db.session.scalar(text("SELECT count(*) FROM erasure_records"))
        ledger_lines = sum(1 for _ in open(app.config["ERASURE_LEDGER_PATH"]))
        assert result.counts["ended_memberships"] == members == anonymised == ledger_rows == ledger_lines, (
            result.counts, anonymised, ledger_rows, ledger_lines)
        db.session.remove()
        db.engine.dispose()
    return elapsed


def run_hand_written(url: str, workdir: Path, members: int) -> float:
    app = create_app(bench_config(url, workdir))
    with app.app_context():
        params = {"cutoff": clock.add_months(TODAY.date(), -24), "now": TODAY, "false": False,
                  "fiscal_cutoff": date(TODAY.year - 7, 1, 1)}
        with db.engine.connect() as conn:
            if conn.dialect.name == "sqlite":  # the same connection settings the sweep uses
                for pragma in retention.SQLITE_BULK_PRAGMAS:
                    conn.exec_driver_sql(pragma)
            conn.execute(text("SELECT 1"))
            conn.rollback()
            started = time.perf_counter()
            with conn.begin():
                for statement in HAND_WRITTEN:
                    conn.execute(text(statement), params)
            _checkpoint(db.engine)
            elapsed = time.perf_counter() - started
            anonymised = conn.execute(text("SELECT count(*) FROM members WHERE status = 'anonymised'")).scalar()
        assert anonymised == members, anonymised
        db.engine.dispose()
    return elapsed


class SQLiteCopies:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.template = workdir / "template.db"

    def template_url(self) -> str:
        return f"sqlite:///{self.template}"

    def fresh(self) -> str:
        target = self.workdir / f"copy-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(self.template, target)
        return f"sqlite:///{target}"

    def drop(self, url: str) -> None:
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        pass


class PostgresCopies:
    def __init__(self, admin_url: str):
        admin_url = normalise_database_url(admin_url)
        host = urlsplit(admin_url).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("the benchmark only creates scratch databases on 127.0.0.1")
        self.admin_url = admin_url
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.prefix = f"clubhouse_bench_{os.getpid()}"
        self.template = f"{self.prefix}_template"
        self.created = []
        self._create(self.template)

    def _url(self, name: str) -> str:
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path="/" + name))

    def _create(self, name: str, template: str | None = None) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
        self.created.append(name)

    def template_url(self) -> str:
        return self._url(self.template)

    def fresh(self) -> str:
        name = f"{self.prefix}_{uuid.uuid4().hex[:8]}"
        self._create(name, self.template)
        with create_engine(self._url(name), isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text("ANALYZE"))
        return self._url(name)

    def drop(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.created.remove(name)

    def close(self) -> None:
        for name in list(self.created):
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", default=None,
                        help="folder for the SQLite files and ledger files (default: a temp folder; "
                             "/dev/shm takes the disk out of the measurement)")
    parser.add_argument("--pg", nargs="?", const=os.environ.get("DATABASE_URL", ""), default=None,
                        help="PostgreSQL server URL for scratch databases (default: DATABASE_URL)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="clubhouse-bench-", dir=args.workdir))
    if args.pg is not None:
        if not args.pg:
            parser.error("--pg needs a URL or DATABASE_URL")
        copies = PostgresCopies(args.pg)
        label = "PostgreSQL"
    else:
        copies = SQLiteCopies(workdir)
        label = "SQLite"
    try:
        print(f"{label}: seeding the template database")
        seed(copies.template_url(), workdir, args.members)
        sweep_times, hand_times = [], []
        for round_ in range(args.repeat):
            order = [("hand", run_hand_written), ("sweep", run_sweep)]
            if round_ % 2:
                order.reverse()
            for name, runner in order:
                url = copies.fresh()
                try:
                    elapsed = runner(url, workdir, args.members)
                finally:
                    copies.drop(url)
                (sweep_times if name == "sweep" else hand_times).append(elapsed)
                print(f"  round {round_ + 1}: {name:<5} {elapsed:7.2f}s")
        # Other load on the machine only ever adds time, so the fastest run of each side is the
        # least disturbed measurement; the per-round ratios compare runs made back to back.
        best = min(sweep_times) / min(hand_times)
        paired = statistics.median(s / h for s, h in zip(sweep_times, hand_times, strict=True))
        median = statistics.median(sweep_times) / statistics.median(hand_times)
        print(f"{label}, {args.members:,} ended members, {args.repeat} rounds: "
              f"sweep best {min(sweep_times):.2f}s / median {statistics.median(sweep_times):.2f}s, "
              f"hand-written best {min(hand_times):.2f}s / median {statistics.median(hand_times):.2f}s")
        print(f"ratio sweep / hand-written: {best:.2f}x (best runs), {paired:.2f}x (median of per-round ratios), "
              f"{median:.2f}x (medians)")
        return 0 if best <= 2 else 1
    finally:
        copies.close()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
