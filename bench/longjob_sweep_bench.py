"""Benchmark: a retention sweep of 100,000 ended members started from the page, on the job queue.

    .venv/bin/python bench/longjob_sweep_bench.py [--members 100000] [--workdir /dev/shm]

It seeds a SQLite database as bench/retention_bench.py does (N ended members, long past the
retention period), logs a privacy officer in, and then:
  1. posts the page's "Run the sweep now" form and times that request: it only records the
     run and puts its id on the job queue (huey, SQLite storage), so it must return at once;
  2. works the queue in a thread, as `flask jobs worker` does, while the main thread reads the
     run's page every half second and prints the progress it shows (processed / total);
  3. prints the outcome and checks every member was anonymised.
Exit 1 when the request did the work itself (the run was not queued when it returned) or the
page never showed progress between 0 and the total.
"""

import argparse
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import pyotp  # noqa: E402
from flask import session as flask_session  # noqa: E402
from retention_bench import bench_config, seed  # noqa: E402
from sqlalchemy import text  # noqa: E402

from app import create_app  # noqa: E402
from app.blueprints.auth.routes import start_session  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import User  # noqa: E402
from app.services import jobqueue  # noqa: E402
from app.services import roles as role_service  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="clubhouse-longjob-", dir=args.workdir))
    url = f"sqlite:///{workdir / 'bench.db'}"
    try:
        seed(url, workdir, args.members)
        config = type("LongJobBench", (bench_config(url, workdir),), {"JOBS_URL": f"sqlite:///{workdir / 'jobs.db'}"})
        app = create_app(config)
        client = app.test_client()
        with app.app_context():
            role_service.ensure_default_roles()
            user = User(username="olga", full_name="Olga", password_hash="x",
                        roles=[role_service.role_by_key("privacy_officer")], totp_secret=pyotp.random_base32(),
                        totp_enabled=True)
            db.session.add(user)
            db.session.commit()
            with app.test_request_context(environ_base=client.environ_base):  # the same address and agent
                start_session(user, second_factor=True)
                values = dict(flask_session)
            with client.session_transaction() as sess:
                sess.update(values)
            response = client.get("/privacy/retention/preview")
            preview = response.get_data(as_text=True)
            if response.status_code != 200:
                print(f"the preview answered {response.status_code}: {preview[:300]}")
                return 1
            fingerprint = re.search(r'name="fingerprint" type="hidden" value="([0-9a-f]+)"', preview).group(1)
            started = time.perf_counter()
            response = client.post("/privacy/retention/sweep", data={"fingerprint": fingerprint})
            request_seconds = time.perf_counter() - started
            run_page = response.headers["Location"]
            queued = db.session.scalar(text("SELECT state FROM job_runs")) == "queued"
            print(f"the page's request returned in {request_seconds * 1000:.0f} ms (its preview check counts what is "
                  f"due) -> {run_page}; the run is {'still queued' if queued else 'NOT queued'}")

            huey = jobqueue.get(app)
            done = threading.Event()

            def worker():
                with app.app_context():
                    while (task := huey.dequeue()) is not None:
                        huey.execute(task)
                done.set()

            thread = threading.Thread(target=worker)
            work_started = time.perf_counter()
            thread.start()
            seen = []
            while not done.wait(0.5):
                page = client.get(run_page).get_data(as_text=True)
                shown = re.search(r'class="job-progress">([^<]*)<', page).group(1).strip()
                seen.append(shown)
                print(f"  {time.perf_counter() - work_started:6.1f}s  {shown}")
            thread.join()
            page = client.get(run_page).get_data(as_text=True)
            final = re.search(r'class="job-progress">([^<]*)<', page).group(1).strip()
            anonymised = db.session.scalar(text("SELECT count(*) FROM members WHERE status = 'anonymised'"))
            print(f"finished in {time.perf_counter() - work_started:.1f}s: {final}; {anonymised:,} anonymised")
            in_between = [s for s in seen if s.split(" ")[0].isdigit() and 0 < int(s.split(" ")[0]) < args.members]
            ok = queued and anonymised == args.members and in_between and "Finished." in page
            print("OK" if ok else "FAILED: the request held the sweep, or no progress was shown")
            return 0 if ok else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
