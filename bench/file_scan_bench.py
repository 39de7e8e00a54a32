"""The residual scan of the database files: its throughput against `grep -c` of one value.

    PYTHONPATH=. .venv/bin/python bench/file_scan_bench.py 100000 20

Builds a scratch SQLite database under /tmp with N members (distinct names, emails, phones,
IBANs, addresses) and V visits per member, checkpoints it, then times:
- erasure.verify_files(identifiers_of(one member)): every stored form of that member's
  identifiers (about 25 patterns) over the database file and its WAL, case folded;
- the same patterns counted by rawscan.py without ripgrep (a `bytes.count` pass per pattern:
  what the scan did before it used ripgrep, and what it does where ripgrep is not installed);
- `grep -c` and `grep -ci` of one value (the member's email) over the same file.

The three are measured one after the other, best of 3 each; the ratios are what to compare.
"""

import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta

from flask_migrate import upgrade
from sqlalchemy import insert, select

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import Member, Visit
from app.services import erasure, storage

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
VISITS = int(sys.argv[2]) if len(sys.argv) > 2 else 20
SCRATCH = tempfile.mkdtemp(prefix="clubhouse-scan-bench-")
URL = f"sqlite:///{SCRATCH}/bench.db"
Config = type("BenchConfig", (TestConfig,), {
    "SQLALCHEMY_DATABASE_URI": URL, "ERASURE_LEDGER_PATH": f"{SCRATCH}/ledger.jsonl", "INSTANCE_DIR": SCRATCH,
    "BACKUP_DIR": f"{SCRATCH}/backups",
})


def seed():
    started = time.perf_counter()
    for start in range(0, N, 10_000):
        rows = []
        for i in range(start, min(start + 10_000, N)):
            rows.append(dict(
                member_number=10_000 + i, first_name=f"Voornaam{i}", infix="van" if i % 3 == 0 else None,
                last_name=f"Achternaam{i}", email=f"lid{i}@voorbeeld.nl", phone=f"+31 6 {10_000_000 + i}",
                street=f"Straat{i % 5000}", house_number=str(i % 300), postcode="1234 AB", city="Utrecht",
                iban=f"NL91ABNA{4_000_000_000 + i:010d}", date_of_birth=date(1950, 1, 1) + timedelta(days=i % 20_000),
                joined_on=date(2015, 1, 1), status="active", country="NL",
                search_text=f"voornaam{i} achternaam{i} {10_000 + i} | lid{i}@voorbeeld.nl 1234 ab utrecht 1234ab",
                processing_restricted=False))
        db.session.execute(insert(Member), rows)
    db.session.commit()
    ids = list(db.session.scalars(select(Member.id)))
    base = datetime(2024, 1, 1, 8, 0)
    batch = []
    for member_id in ids:
        for v in range(VISITS):
            batch.append({"member_id": member_id, "checked_in_at": base + timedelta(days=v * 7, minutes=member_id % 600),
                          "location": "Main hall", "source": "desk"})
        if len(batch) >= 100_000:
            db.session.execute(insert(Visit), batch)
            batch = []
    if batch:
        db.session.execute(insert(Visit), batch)
    db.session.commit()
    storage.checkpoint()
    return time.perf_counter() - started


def timed(function, repeat=3):
    best = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    return best, result


def block_passes(identifiers, files):
    """rawscan.py in a child process, told not to use ripgrep."""
    needles = [v.encode().hex() for k, values in identifiers.items() if not k.startswith("_") for v in values]
    job = json.dumps({"paths": [str(f) for f in files], "sniff": [], "needles": needles, "rg": ""})
    script = str(__import__("pathlib").Path(storage.__file__).with_name("rawscan.py"))
    return subprocess.run([sys.executable, "-I", script], input=job, capture_output=True, text=True, check=True)


def main():
    app = create_app(Config)
    with app.app_context():
        upgrade()
        seconds = seed()
        member = db.session.scalar(select(Member).where(Member.member_number == 10_000 + N // 2))
        identifiers = erasure.identifiers_of(member)
        patterns = sum(len(v) for k, v in identifiers.items() if not k.startswith("_"))
        path = storage.database_path()
        size = sum(p.stat().st_size for p in storage.sqlite_files())
        scan_seconds, report = timed(lambda: erasure.verify_files(identifiers))
        files = storage.sqlite_files()
        blocks_seconds, _ = timed(lambda: block_passes(identifiers, files))
        grep_seconds, _ = timed(lambda: subprocess.run(["grep", "-c", member.email, str(path)], capture_output=True))
        grepi_seconds, _ = timed(lambda: subprocess.run(["grep", "-ci", member.email, str(path)], capture_output=True))
        copies = sum(sum(f["hits"].values()) for f in report["files"])
        print(f"members {N}, visits {N * VISITS}, seeded in {seconds:.1f} s; files {size / 1e6:.1f} MB")
        print(f"verify_files: {patterns} patterns, {scan_seconds:.2f} s ({size / 1e6 / scan_seconds:.0f} MB/s); "
              f"{copies} copies of the live member found")
        print(f"without ripgrep (a pass per pattern): {blocks_seconds:.2f} s")
        print(f"grep -c one value: {grep_seconds:.2f} s ({size / 1e6 / grep_seconds:.0f} MB/s); "
              f"grep -ci: {grepi_seconds:.2f} s")
        print(f"ratios to grep -c: verify_files {scan_seconds / grep_seconds:.1f}x, "
              f"without ripgrep {blocks_seconds / grep_seconds:.1f}x")
    shutil.rmtree(SCRATCH, ignore_errors=True)


if __name__ == "__main__":
    main()
