"""Full eGym sync throughput: N members sent to the loopback MMS API v2 server of the tests.

    DATABASE_URL=sqlite:////tmp/clubhouse-connector-bench.db .venv/bin/python bench/connector_sync.py --members 1000

Builds a fresh database (the migrations), N members with consent, enables eGym against the
test server (token bucket large enough not to throttle), then times: queuing the full sync
(set-based), delivering everything (lookup + create per member), and a second full sync
(lookup skipped: the account id is known, so one PATCH per member).
"""

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("CLUBHOUSE_INSTANCE", tempfile.mkdtemp(prefix="clubhouse-bench-"))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Consent, Member  # noqa: E402
from app.services.connectors import delivery, outbox, settings  # noqa: E402
from tests.integrations.egym_server import FakeEgym  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1000)
    args = parser.parse_args()
    server = FakeEgym(api_key="bench-key", capacity=10 * args.members + 10).start()
    app = create_app()
    with app.app_context():
        upgrade()
        start = 500000
        db.session.execute(insert(Member), [
            {"member_number": start + i, "first_name": f"Lid{i}", "last_name": "Bench", "email": f"lid{i}@bench.example",
             "gender": "female" if i % 2 else "male", "joined_on": date(2024, 1, 1), "status": "active",
             "country": "NL", "search_text": ""} for i in range(args.members)])
        ids = [row[0] for row in db.session.execute(db.select(Member.id).where(Member.member_number >= start))]
        db.session.execute(insert(Consent), [{"member_id": i, "purpose": "egym", "given_via": "desk"} for i in ids])
        db.session.commit()
        row = settings.configure("egym", actor=None, url=server.url, api_key="bench-key", basis="consent", enabled=True)
        db.session.commit()
        for label in ("first full sync (lookup + create)", "second full sync (PATCH)"):
            t0 = time.perf_counter()
            queued = outbox.enqueue_full_sync(row)
            db.session.commit()
            t1 = time.perf_counter()
            result = delivery.run_pending("egym")
            t2 = time.perf_counter()
            print(f"{label}: queued {queued} in {t1 - t0:.2f} s; delivered {result.delivered} in {t2 - t1:.2f} s "
                  f"({result.delivered / (t2 - t1):.0f} members/s)")
    server.stop()


if __name__ == "__main__":
    main()
