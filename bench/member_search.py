"""Member search at chain scale: load N demo members (once), then time the list queries.

    DATABASE_URL=sqlite:////tmp/bench.db .venv/bin/python bench/member_search.py --members 100000
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench .venv/bin/python bench/member_search.py

Each query runs as the member list runs it (search_statement + paginate: a COUNT and one
page of 25), as a user with and without members.contact; the median of several runs is
printed, with the database's query plan for the searches.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from app import create_app  # noqa: E402
from app.config import Config, normalise_database_url  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Member  # noqa: E402
from app.services import demo  # noqa: E402
from app.services.members import SearchParams, search_statement  # noqa: E402


def actor(contact: bool):
    codes = {"members.view"} | ({"members.contact"} if contact else set())
    return SimpleNamespace(id=None, username="bench", has_permission=lambda code: code in codes)


def timed(fn, runs: int) -> float:
    fn()  # warm up caches
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def explain(stmt) -> str:
    dialect = db.engine.dialect.name
    compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN ANALYZE "
    rows = db.session.execute(text(prefix + str(compiled))).all()
    return "\n".join("    " + " ".join(str(c) for c in row[-1:]) for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--plans", action="store_true", help="print the query plans")
    args = parser.parse_args()
    url = normalise_database_url(os.environ.get("DATABASE_URL", "sqlite:////tmp/clubhouse-bench.db"))
    config = type("BenchConfig", (Config,), {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    app = create_app(config)
    with app.app_context():
        upgrade()
        have = db.session.scalar(select(func.count()).select_from(Member))
        if have < args.members:
            started = time.perf_counter()
            demo.load(members=args.members - have, years=0, visits_per_year=0, seed=42)
            db.session.commit()
            print(f"loaded {args.members - have} members in {time.perf_counter() - started:.1f} s")
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE members"))
        else:
            db.session.execute(text("ANALYZE"))
        db.session.commit()
        sample = db.session.scalar(select(Member).where(Member.postcode.is_not(None)).order_by(Member.id.desc()).limit(1))
        cases = [
            ("list, no search, by name, page 1", SearchParams(), 1),
            ("list, no search, by number, page 1000", SearchParams(sort="number", status="all"), 1000),
            ("common first name 'jan'", SearchParams(query="jan"), 1),
            ("accent-free 'jorg'", SearchParams(query="jorg"), 1),
            ("two words (first + last name)", SearchParams(query=f"{sample.first_name} {sample.last_name}"), 1),
            ("member number", SearchParams(query=str(sample.member_number)), 1),
            ("postcode without space", SearchParams(query=sample.postcode.replace(" ", "")), 1),
            ("email fragment", SearchParams(query="example.nl"), 1),
            ("no match", SearchParams(query="qqxxzz"), 1),
        ]
        print(f"{db.engine.dialect.name}, {db.session.scalar(select(func.count()).select_from(Member))} members, "
              f"median of {args.runs} runs (COUNT + one page of 25)")
        print("| query | with members.contact | names only |\n|---|---:|---:|")
        for label, params, page in cases:
            row = []
            for contact in (True, False):
                stmt = search_statement(params, actor=actor(contact))
                row.append(timed(lambda s=stmt, p=page: db.paginate(s, page=p, per_page=25, error_out=False).items,
                                 args.runs))
            print(f"| {label} | {row[0]:.1f} ms | {row[1]:.1f} ms |")
        if args.plans:
            for label, params in (("'jorg'", SearchParams(query="jorg")),
                                  ("member number", SearchParams(query=str(sample.member_number)))):
                stmt = search_statement(params, actor=actor(True)).limit(25)
                print(f"\nplan for {label}:\n{explain(stmt)}")


if __name__ == "__main__":
    main()
