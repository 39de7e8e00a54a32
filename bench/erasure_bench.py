"""Anonymise N ended members with the erasure engine and compare with one plain SQL UPDATE.

    PYTHONPATH=. .venv/bin/python bench/erasure_bench.py 100000
    BENCH_URL=postgresql+psycopg://postgres@127.0.0.1:5432/SCRATCH_DB PYTHONPATH=. .venv/bin/python bench/erasure_bench.py

Uses a scratch database (default: a SQLite file under /tmp; a PostgreSQL URL is WIPED).
"""

import os
import sys
import tempfile
import time
from datetime import date

from flask_migrate import upgrade
from sqlalchemy import insert, select, text, update

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import Member
from app.services import erasure

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
SCRATCH = tempfile.mkdtemp(prefix="clubhouse-bench-")
URL = os.environ.get("BENCH_URL", f"sqlite:///{SCRATCH}/bench.db")
Config = type("BenchConfig", (TestConfig,), {
    "SQLALCHEMY_DATABASE_URI": URL, "ERASURE_LEDGER_PATH": f"{SCRATCH}/ledger.jsonl",
})


def seed():
    db.session.execute(text("DELETE FROM erasure_records"))
    db.session.execute(text("DELETE FROM members"))
    rows = [dict(member_number=10_000 + i, first_name=f"First{i}", last_name=f"Last{i}", email=f"m{i}@example.nl",
                 phone="0612345678", street="Street", house_number=str(i), postcode="1234AB", city="Town",
                 iban="NL91ABNA0417164300", date_of_birth=date(1980, 1, 1), joined_on=date(2010, 1, 1),
                 ended_on=date(2015, 1, 1), status="ended", country="NL", search_text="first last",
                 processing_restricted=False) for i in range(N)]
    for start in range(0, N, 10_000):
        db.session.execute(insert(Member), rows[start:start + 10_000])
    db.session.commit()


def main():
    app = create_app(Config)
    with app.app_context():
        if URL.startswith("postgresql"):
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade()
        seed()
        started = time.perf_counter()
        db.session.execute(update(Member).where(Member.status == "ended")
                           .values(**erasure.ANONYMISED_VALUES, status="anonymised"))
        db.session.commit()
        plain = time.perf_counter() - started
        seed()
        ids = list(db.session.scalars(select(Member.id)))
        started = time.perf_counter()
        count = erasure.erase_members(ids, "anonymise", None, source="retention")
        db.session.commit()
        engine = time.perf_counter() - started
        print(f"{db.engine.dialect.name} N={N}: plain UPDATE {plain:.2f}s, erase_members {engine:.2f}s "
              f"({engine / plain:.1f}x), erased {count}, ledger lines {sum(1 for _ in open(Config.ERASURE_LEDGER_PATH))}")


if __name__ == "__main__":
    main()
