"""The member import on a 100,000-row export: parse and check, then write, as the job worker does.

    PYTHONPATH=. .venv/bin/python bench/import_bench.py --rows 100000
    BENCH_URL=postgresql+psycopg://postgres@127.0.0.1:5432/SCRATCH_DB PYTHONPATH=. .venv/bin/python bench/import_bench.py

Uses a scratch database (default: a SQLite file under /tmp; a PostgreSQL URL is WIPED). The file
is Windows-1252 with ';' separators, Dutch dates and comma amounts, like a spreadsheet export;
1% of the rows are bad (email, postcode, IBAN) and 100 were erased earlier. It times the
preview (every row checked, nothing written), the import itself (`importer.run_all`, one
transaction per 1,000 rows) and a second import of the same file (everything unchanged).
One partner connector is enabled, so the import also queues each new member's delivery (one
outbox row per member, written in bulk with each chunk), as it does in a club with a partner;
`--without-partner` leaves it out, for a baseline measured the same way.
"""

import argparse
import os
import random
import tempfile
import time
from decimal import Decimal

from flask_migrate import upgrade
from schwifty import IBAN
from sqlalchemy import text

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import Connector, OutboxEvent, Plan
from app.services import clock, importer, ledger

SCRATCH = tempfile.mkdtemp(prefix="clubhouse-bench-")
URL = os.environ.get("BENCH_URL", f"sqlite:///{SCRATCH}/bench.db")
HEADER = "Klantnummer;Voornaam;Tussenvoegsel;Achternaam;Geboortedatum;E-mail;Telefoon;Postcode;Plaats;IBAN;" \
         "Lid sinds;Abonnement;Maandbedrag;Toestemming nieuwsbrief"
FIRST = ["Anna", "Jörg", "Eva", "Sem", "Noah", "Fenna", "Daan", "Lotte", "Bram", "Zoë"]
LAST = ["Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Bos", "Kovács"]


def make_file(rows: int) -> bytes:
    rng = random.Random(19)
    lines = [HEADER]
    for n in range(1, rows + 1):
        email, postcode = f"lid{n}@example.nl", f"{rng.randint(1000, 9999)} {rng.choice(['AB', 'CD', 'XY'])}"
        iban = str(IBAN.generate("NL", bank_code="ABNA", account_code=f"{n:010d}"))  # every one different
        if n % 100 == 0:
            email, postcode, iban = [("kapot", postcode, iban), (email, "99", iban), (email, postcode, "NL00X")][n % 3]
        lines.append(";".join([
            str(n), rng.choice(FIRST), "", rng.choice(LAST), f"{rng.randint(1, 28):02d}-{rng.randint(1, 12):02d}-"
            f"{rng.randint(1950, 2010)}", email, f"06{rng.randint(10000000, 59999999)}", postcode, "Utrecht", iban,
            "01-02-2020", "Fitness Onbeperkt" if n % 2 else "", "34,95" if n % 2 else "", "ja" if n % 3 else "",
        ]))
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--without-partner", action="store_true", help="no connector enabled (the baseline)")
    args = parser.parse_args()
    config = type("BenchConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": URL, "INSTANCE_DIR": SCRATCH,
                                                  "ERASURE_LEDGER_PATH": f"{SCRATCH}/ledger.jsonl",
                                                  "ERASURE_LEDGER_KEY": "bench-key",
                                                  "JOBS_URL": f"sqlite:///{SCRATCH}/jobs.sqlite3"})
    app = create_app(config)
    with app.app_context():
        if URL.startswith("postgresql"):
            db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
        upgrade()
        db.session.add(Plan(name="Fitness Onbeperkt", period="month", price=Decimal("34.95"), renews=True,
                            active=True, plan_group="fitness"))
        if not args.without_partner:
            db.session.add(Connector(name="egym", enabled=True, base_url="http://127.0.0.1:9"))  # never called here
        # 100 members erased before the import (numbers 500, 1500, ...): the ledger refuses them.
        ledger.record([n for n in range(500, args.rows, 1000)], "delete", source="bench", request_reference=None,
                      erased_at=clock.utcnow())
        db.session.commit()
        raw = make_file(args.rows)
        print(f"{args.rows} rows, {len(raw) / 1e6:.1f} MB, {URL.split(':')[0]}")
        mapping = importer.guess_mapping(HEADER.split(";"))
        for label in ("first import", "same file again"):
            started, cpu_started = time.perf_counter(), time.process_time()
            imp = importer.receive(raw, actor=None, locale="en")
            importer.set_mapping(imp, mapping, actor=None)
            db.session.commit()
            preview = importer.preview(imp)
            checked, cpu_checked = time.perf_counter(), time.process_time()
            importer.run_all(imp, actor=None, commit=db.session.commit)
            done, cpu_done = time.perf_counter(), time.process_time()
            # CPU seconds of this process beside the wall clock: on a shared, busy machine the wall
            # clock mostly measures the other processes.
            print(f"{label}: preview {checked - started:.1f} s wall / {cpu_checked - cpu_started:.1f} s CPU "
                  f"({preview.counts}), import {done - checked:.1f} s wall / {cpu_done - cpu_checked:.1f} s CPU; "
                  f"created {imp.created_count}, unchanged {imp.unchanged_count}, refused {imp.refused_count}, "
                  f"partner deliveries queued {db.session.scalar(db.select(db.func.count(OutboxEvent.id)))}; "
                  f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
