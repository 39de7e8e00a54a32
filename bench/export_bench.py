"""Benchmark the member export: PDF and ZIP for a member with 1,000 visits.

    .venv/bin/python bench/export_bench.py [--visits 1000] [--runs 5]

Builds its own SQLite database in a temporary folder (through the migrations), seeds one
member with the given number of visits and a few rows of everything else, then measures
each format in a fresh child process, so one format's memory cannot hide in the other's:
wall time per run (the first run separately: it loads fonts and templates), the peak Python
heap of one extra, untimed run (tracemalloc) and the child's peak resident set size
(getrusage), which includes the interpreter, Flask, WeasyPrint and its fonts.
Nothing is written outside the temporary folder, which is removed afterwards.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LIMITS = {"pdf": (6.0, 400), "zip": (1.0, None)}  # seconds, MB (from issue #5)


def make_app(folder: Path):
    os.environ["CLUBHOUSE_INSTANCE"] = str(folder)
    from app import create_app
    from app.config import TestConfig

    config = type("BenchConfig", (TestConfig,), {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.db'}",
        "ERASURE_LEDGER_PATH": str(folder / "ledger.jsonl"),
        "BABEL_DEFAULT_LOCALE": "nl",
    })
    return create_app(config)


def seed(folder: Path, visits: int) -> None:
    """Schema by migrations, then one member with everything."""
    from flask_migrate import upgrade

    from app.extensions import db
    from app.models import (
        Consent,
        DataRequest,
        HealthNote,
        Invoice,
        Member,
        Plan,
        Role,
        StaffNote,
        Subscription,
        User,
        Visit,
    )

    app = make_app(folder)
    with app.app_context():
        upgrade()
        role = Role(name="Bench exporter")
        role.set_permissions(["members.view", "members.contact", "members.finance", "members.notes",
                              "members.health", "privacy.export"])
        db.session.add(User(username="bench", full_name="Bench", roles=[role]))
        member = Member(member_number=1001, first_name="Sanne", infix="de", last_name="Vries",
                        date_of_birth=date(1988, 4, 2), email="sanne@example.nl", phone="+31 6 11122233",
                        street="Dorpsstraat", house_number="7", postcode="3511 AB", city="Utrecht",
                        iban="NL91ABNA0417164300", joined_on=date(2019, 9, 1))
        db.session.add(member)
        db.session.flush()
        start = datetime(2024, 1, 2, 7, 0)
        db.session.execute(Visit.__table__.insert(), [
            {"member_id": member.id, "checked_in_at": start + timedelta(hours=17 * i), "location": f"Zaal {1 + i % 3}",
             "source": ("gate", "desk", "app")[i % 3]}
            for i in range(visits)
        ])
        for year in (2022, 2024):
            plan = Plan(name=f"Fitness {year}", period="month", price=Decimal("34.95"), plan_group="fitness")
            db.session.add(Subscription(member_id=member.id, plan=plan, starts_on=date(year, 1, 1),
                                        monthly_fee=Decimal("34.95"), status="active"))
        for n in range(24):
            db.session.add(Invoice(member_id=member.id, number=f"F-{n:04d}", issued_on=date(2024 + n // 12, 1 + n % 12, 1),
                                   due_on=date(2024 + n // 12, 1 + n % 12, 15), amount=Decimal("34.95"),
                                   description="Contributie", status="paid", billing_name="Sanne de Vries",
                                   billing_address="Dorpsstraat 7\n3511 AB  Utrecht"))
        for purpose in ("newsletter", "photos", "technogym"):
            db.session.add(Consent(member_id=member.id, purpose=purpose, given_at=datetime(2023, 5, 1, 10, 0)))
        for n in range(5):
            db.session.add(StaffNote(member_id=member.id, body=f"Notitie {n}: wil graag 's ochtends trainen."))
            db.session.add(HealthNote(member_id=member.id, body=f"Gezondheid {n}: let op de rug."))
        db.session.add(DataRequest(reference="AVG-2026-0001", kind="access", member_id=member.id,
                                   member_number=1001, due_on=date(2026, 12, 1)))
        db.session.commit()


def measure(folder: Path, fmt: str, runs: int) -> dict:
    """In a child process: time `runs` exports of one format, and its memory peaks."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Member, User
    from app.services import export as export_service

    app = make_app(folder)
    club = export_service.ClubInfo("Sportclub De Meerkoet", "privacy@example.org")
    times, size = [], 0
    with app.app_context():
        actor = db.session.scalar(select(User).where(User.username == "bench"))
        member = db.session.scalar(select(Member).where(Member.member_number == 1001))
        for _run in range(runs):
            began = time.perf_counter()
            file = export_service.produce(member, actor, fmt, "nl", club)
            times.append(time.perf_counter() - began)
            db.session.rollback()  # the audit rows are not what is measured
            size = len(file.content)
        # One more run under tracemalloc (which slows it down, so it is not timed).
        tracemalloc.start()
        export_service.produce(member, actor, fmt, "nl", club)
        heap_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        db.session.rollback()
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    return {"format": fmt, "times": times, "heap_mb": heap_peak / 2**20, "rss_mb": rss_kb / 1024, "bytes": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", nargs=2, metavar=("FOLDER", "FORMAT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(Path(args.child[0]), args.child[1], max(args.runs, 2))))
        return

    with tempfile.TemporaryDirectory(prefix="clubhouse-bench-") as tmp:
        folder = Path(tmp)
        child_env = {**os.environ, "CLUBHOUSE_INSTANCE": tmp}
        seed(folder, args.visits)
        results = []
        for fmt in ("pdf", "zip"):
            out = subprocess.run(
                [sys.executable, __file__, "--runs", str(args.runs), "--child", tmp, fmt],
                check=True, capture_output=True, text=True, env=child_env,
            )
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))

    sys.stdout.flush()
    print(f"Member export, 1 member with {args.visits} visits, {args.runs} runs per format "
          f"(Python {sys.version.split()[0]}, SQLite)")
    header = f"{'format':<6} {'first run':>10} {'median':>8} {'max':>8} {'heap peak':>10} {'peak RSS':>9} {'size':>9}  limit"
    print(header)
    print("-" * len(header))
    failed = False
    for r in results:
        steady = r["times"][1:]
        limit_s, limit_mb = LIMITS[r["format"]]
        ok = max(r["times"]) <= limit_s and (limit_mb is None or r["rss_mb"] <= limit_mb)
        failed |= not ok
        limit = f"{limit_s:g} s" + (f", {limit_mb} MB" if limit_mb else "")
        print(f"{r['format']:<6} {r['times'][0]:>9.2f}s {statistics.median(steady):>7.2f}s {max(steady):>7.2f}s "
              f"{r['heap_mb']:>8.1f}MB {r['rss_mb']:>7.0f}MB {r['bytes'] / 1024:>7.0f}kB  {limit} {'ok' if ok else 'OVER'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
