"""A bounded load test: gunicorn with two workers, concurrent staff edits, check-ins and intake posts.

For a fixed few seconds, several clients hit a real gunicorn (two worker processes on the test
database, CSRF on, as in production). Afterwards: zero errors, zero lost writes (every accepted
edit, check-in and request is in the database), and the audit chain verifies.
"""

import http.cookiejar
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.models import DataRequest, Member, Visit
from tests.conftest import TEST_PASSWORD

SECONDS = 4
ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(database_url, tmp_path):
    """Two gunicorn workers serving wsgi:app on the test database; yields the base URL."""
    if not GUNICORN.exists() or shutil.which("true") is None:
        pytest.skip("gunicorn is not installed")
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "CLUBHOUSE_INSTANCE": str(tmp_path),
           "SECRET_KEY": "load-test-" + "k" * 32, "ERASURE_LEDGER_KEY": "test-ledger-key",
           "INTAKE_RATE_LIMIT": "1000000", "INTAKE_POST_LIMIT": "1000000", "DEFAULT_LOCALE": "en"}
    env.pop("CLUBHOUSE_ENV", None)
    # Its output goes to a file: gunicorn.conf.py (read from the working directory) writes an access
    # line per request, and an unread pipe fills up and stops both workers.
    output = open(tmp_path / "gunicorn.out", "wb")  # noqa: SIM115 - closed in the finally below
    process = subprocess.Popen([str(GUNICORN), "--workers", "2", "--bind", f"127.0.0.1:{port}", "--log-level",
                                "warning", "wsgi:app"], cwd=ROOT, env=env, stdout=output,
                               stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # wait until both workers can answer
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2).read()
                break
            except OSError:
                if process.poll() is not None:
                    raise AssertionError((tmp_path / "gunicorn.out").read_text()) from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        output.close()


def _form_values(member) -> dict:
    names = ("member_number", "first_name", "infix", "last_name", "email", "phone", "street", "house_number",
             "postcode", "iban")
    return {**{name: str(getattr(member, name)) for name in names}, "date_of_birth": "1990-05-17", "country": "NL"}


class Browser:
    """A cookie-keeping client that reads CSRF tokens from the pages, like a real browser."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.errors = []

    def get(self, path):
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.read().decode()

    def post(self, path, data, token_from):
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', self.get(token_from)).group(1)
        body = urllib.parse.urlencode({**data, "csrf_token": token}).encode()
        try:
            with self.opener.open(self.base + path, body, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


@pytest.mark.slow
def test_two_workers_under_load_lose_nothing(gunicorn, make_user, make_member, db, runner):
    users = [make_user("front_desk").username for _ in range(3)]
    members = [_form_values(make_member(city="Start")) for _ in range(3)]
    arrival_numbers = iter([make_member().member_number for _ in range(60)])
    lock = threading.Lock()
    results = {"edits": {}, "checkins": 0, "requests": 0, "errors": []}
    stop = time.monotonic() + SECONDS

    def staff(username, member):
        browser = Browser(gunicorn)
        browser.post("/login", {"username": username, "password": TEST_PASSWORD}, "/login")
        number, edit = member.pop("member_number"), 0
        while time.monotonic() < stop:
            edit += 1
            status, page = browser.post(f"/members/{number}/edit", {**member, "city": f"Stad {edit}"},
                                        f"/members/{number}/edit")
            if status >= 400 or "The changes have been saved." not in page:
                results["errors"].append(("edit", status))
            else:
                results["edits"][int(number)] = f"Stad {edit}"
            with lock:
                arriving = next(arrival_numbers, None)
            if arriving is not None:
                status, page = browser.post("/members/checkin", {"member_number": str(arriving), "next": "/members"},
                                            "/members")
                if status >= 400 or "Checked in" not in page:
                    results["errors"].append(("checkin", status))
                else:
                    with lock:
                        results["checkins"] += 1

    def visitor():
        browser = Browser(gunicorn)
        while time.monotonic() < stop:
            status, page = browser.post("/request", {"name": "Ria Rood", "email": "ria@example.nl",
                                                     "date_of_birth": "1980-02-03", "kind": "access"}, "/request")
            if status >= 400 or "AVG-" not in page:
                results["errors"].append(("intake", status))
            else:
                with lock:
                    results["requests"] += 1

    threads = [threading.Thread(target=staff, args=pair) for pair in zip(users, members, strict=True)]
    threads += [threading.Thread(target=visitor) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    print(f"load: {sum(int(c.split()[1]) for c in results['edits'].values())} edits, {results['checkins']} check-ins, "
          f"{results['requests']} intake posts in {SECONDS} s")  # shown with pytest -s
    assert results["errors"] == []
    assert results["checkins"] > 0 and results["requests"] > 0 and len(results["edits"]) == 3
    db.session.expire_all()
    for number, city in results["edits"].items():  # the last accepted edit is what is stored
        assert db.session.scalar(select(Member.city).where(Member.member_number == number)) == city
    assert db.session.scalar(select(func.count()).select_from(Visit)) == results["checkins"]
    assert db.session.scalar(select(func.count()).select_from(DataRequest)) == results["requests"]
    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output
