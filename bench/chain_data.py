"""The chain-scale benchmark database: 100,000 members with 7 years of visits, built once and reused.

    .venv/bin/python bench/chain_data.py                      # build (or reuse) the default database
    .venv/bin/python bench/chain_data.py --members 20000 --path /tmp/small.db

The schema comes from the migrations (`flask db upgrade`). Members, subscriptions, consents,
notes and the last year's invoices come from the demo loader (`services/demo.py`, the code
`flask seed-demo` runs), so names, addresses and search texts look like the real thing. The
visits (the big table) are written here with the driver's executemany of tuples and the
visit indexes built afterwards, which is what keeps the build in minutes:

- every member's visits lie within the 7 years and within the membership (joined .. ended);
- a member visits on average VISITS_PER_YEAR times a year (each member's rate drawn from 0.1x to
  1.9x of it), so a typical active member has a few hundred visits and the table about 10 million;
- one member (the "measured member", number recorded in the stamp) has exactly 1,000 visits;
- the visit retention policy is set to 84 months (the chain keeps the 7 years it holds), so
  the dashboard's retention panel shows what a nightly-swept installation shows.

A stamp file beside the database (`<path>.json`) records the parameters; a second run with the
same parameters reuses the database (after `flask db upgrade`, so new migrations still apply).
"""

import argparse
import json
import os
import random
import sqlite3
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_PATH = Path(os.environ.get("CHAIN_DB", "/tmp/clubhouse-chain/chain.db"))
VISITS_PER_YEAR = 50
YEARS = 7
MEASURED_VISITS = 1000
LOCATIONS = ("Hoofdvestiging", "Zwembad", "Sporthal Noord", "Buitenbaan")
VERSION = 1  # bump when the generator changes what it writes


def _app(path: Path):
    # Before the config module is imported: the ledger and secret key live beside the database.
    os.environ.setdefault("CLUBHOUSE_INSTANCE", str(path.parent / "instance"))
    from app import create_app
    from app.config import Config

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{path}"
        SECRET_KEY = "bench-only"  # noqa: S105 - a throwaway database on loopback

    return create_app(BenchConfig)


def build(path: Path, members: int, seed: int = 18) -> dict:
    """Build the database at `path` (replacing it); returns the stamp."""
    from flask_migrate import upgrade

    from app.extensions import db
    from app.services import demo

    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", ".json"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    app = _app(path)
    with app.app_context():
        upgrade()
    chain_policies(app)
    with app.app_context():
        result = demo.load(members=members, years=1, visits_per_year=0, seed=seed)
        db.session.commit()
        numbers = result.member_numbers
    loaded = time.perf_counter() - started

    rng = random.Random(seed)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-512000")
    index_sql = [sql for (sql,) in con.execute(
        "SELECT sql FROM sqlite_master WHERE type='index' AND tbl_name='visits' AND sql IS NOT NULL")]
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='visits' "
                               "AND sql IS NOT NULL").fetchall():
        con.execute(f"DROP INDEX {name}")
    measured_number = numbers[len(numbers) // 2]
    today = datetime.now().replace(hour=5, minute=0, second=0, microsecond=0)
    window_start = today - timedelta(days=round(365.25 * YEARS))
    rows_total = 0
    con.execute("BEGIN")
    cursor = con.execute("SELECT id, member_number, joined_on, ended_on FROM members ORDER BY id")
    batch = []
    random_ = rng.random
    for member_id, number, joined, ended in cursor.fetchall():
        start = max(datetime.fromisoformat(joined), window_start)
        end = datetime.fromisoformat(ended) if ended else today
        days = (end - start).days
        if number == measured_number:
            count, start, days = MEASURED_VISITS, today - timedelta(days=3650 // 4), 3650 // 4
        elif days <= 0:
            continue
        else:
            count = int(VISITS_PER_YEAR * days / 365.25 * (0.1 + 1.8 * random_()))
        for _ in range(count):
            draw = random_()
            at = start + timedelta(days=int(random_() * days), minutes=int(random_() * 960))
            batch.append((member_id, at.isoformat(sep=" "), LOCATIONS[int(draw * 1000) % 4],
                          "gate" if draw < 0.7 else ("desk" if draw < 0.95 else "app")))
        if len(batch) >= 200_000:
            con.executemany("INSERT INTO visits (member_id, checked_in_at, location, source) VALUES (?, ?, ?, ?)", batch)
            rows_total += len(batch)
            batch = []
    con.executemany("INSERT INTO visits (member_id, checked_in_at, location, source) VALUES (?, ?, ?, ?)", batch)
    rows_total += len(batch)
    con.execute("COMMIT")
    for sql in index_sql:
        con.execute(sql)
    con.execute("ANALYZE")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    stamp = {
        "version": VERSION, "members": members, "seed": seed, "visits": rows_total,
        "measured_member_number": measured_number, "built_at": datetime.now().isoformat(timespec="seconds"),
        "build_seconds": round(time.perf_counter() - started, 1), "demo_loader_seconds": round(loaded, 1),
    }
    Path(f"{path}.json").write_text(json.dumps(stamp, indent=2))
    return stamp


def chain_policies(app) -> None:
    """The chain keeps 7 years of visits (the database holds them), so its visit policy says 84 months."""
    from app.extensions import db
    from app.services import retention

    with app.app_context():
        policy = retention.effective_policy("visits")  # the defaults, saved with the chain's period
        policy.period_months = 12 * YEARS
        db.session.add(policy)
        db.session.commit()


def ensure(path: Path = DEFAULT_PATH, members: int = 100_000) -> dict:
    """The stamp of a database with these parameters: reused when there, built when not."""
    stamp_file = Path(f"{path}.json")
    if path.exists() and stamp_file.exists():
        stamp = json.loads(stamp_file.read_text())
        if os.environ.get("CHAIN_NO_UPGRADE"):  # measuring older code, which knows fewer migrations
            return stamp
        if stamp.get("version") == VERSION and stamp.get("members") == members:
            from flask_migrate import upgrade

            app = _app(path)
            with app.app_context():
                upgrade()
            chain_policies(app)
            return stamp
    return build(path, members)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--path", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    stamp = build(args.path, args.members) if args.rebuild else ensure(args.path, args.members)
    print(json.dumps(stamp, indent=2))


if __name__ == "__main__":
    main()
