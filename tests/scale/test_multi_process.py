"""A chain on one host: two app processes and two job workers on one PostgreSQL database and Redis.

Two gunicorn processes serve the app over TLS (a trustme certificate), two `flask jobs worker`
processes share a Redis queue (huey), and the nightly sweep is due on both schedulers from the
start. A bounded mixed load runs against both app processes at once: staff add notes and check
members in through the pages, a partner reads members and checks members in through the API, and a
manager starts a full sync with a loopback eGym on both app processes at once, which one worker
runs. Then: every request got the answer it should, every write is there once, the sync ran once
and created every member's eGym account once, the sweep ran exactly once, and the audit chain
verifies.

PostgreSQL only (SQLite is for one host); the short run is part of `make test`, the long one
(`-m long`) of `make test-long`.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests
import trustme
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from app.models import AuditEvent, Consent, JobRun, Member, StaffNote, Subscription, Visit
from app.services import api_clients, audit
from app.services.connectors import settings as connector_settings
from tests.integrations.egym_server import MISSING as EGYM_DOCUMENT_MISSING
from tests.integrations.egym_server import FakeEgym

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(check, what: str, processes, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            assert process.poll() is None, f"{what}: a process stopped early ({process.args[0]})"
        try:
            if check():
                return
        except (requests.ConnectionError, OSError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"{what}: not ready after {timeout} s")


@pytest.fixture
def chain(app, database_url, tmp_path):
    """start() brings up Redis, two gunicorn processes (TLS) and two job workers; returns their addresses."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the multi-process test needs PostgreSQL (DATABASE_URL=postgresql://...): SQLite is for one host")
    for tool in ("redis-server", str(BIN / "gunicorn")):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (scripts/system-deps.sh test installs redis-server)")
    processes, logs = [], []
    yield lambda: _start(app, database_url, tmp_path, processes, logs)
    for process in processes:
        # gunicorn: INT is its quick shutdown (TERM waits for the graceful timeout); huey: TERM stops at once.
        process.send_signal(signal.SIGTERM if "worker" in process.args else signal.SIGINT)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    for log in logs:
        log.close()


def _start(app, database_url, tmp_path, processes, logs) -> dict:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o700)
    redis_port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url, "SECRET_KEY": app.config["SECRET_KEY"], "CLUBHOUSE_INSTANCE": str(instance),
        "ERASURE_LEDGER_PATH": app.config["ERASURE_LEDGER_PATH"], "ERASURE_LEDGER_KEY": app.config["ERASURE_LEDGER_KEY"],
        "JOBS_URL": f"redis://127.0.0.1:{redis_port}/0", "REDIS_URL": f"redis://127.0.0.1:{redis_port}/1",
        "RETENTION_SWEEP_AT": "00:00", "GUNICORN_ACCESS_LOG": "/dev/null", "PYTHONPATH": str(ROOT),
        "API_RATE_LIMIT": "100000",
        # Longer than the loopback eGym holds its answers (30 s): under load the second start may take
        # seconds to be answered, and a run whose eGym call timed out first would rightly end early.
        "CONNECTOR_TIMEOUT_SECONDS": "45",
        # The key that sealed the eGym API key in the test's own process opens it in the workers too.
        "CONNECTOR_SECRET_KEY": app.config["CONNECTOR_SECRET_KEY"],
    }

    def start(name, argv):
        log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed by the fixture
        logs.append(log)
        processes.append(subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))

    start("redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
    ports = [_free_port(), _free_port()]
    for i, port in enumerate(ports):
        start(f"app{i}", [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
                          "--workers", "1", "--graceful-timeout", "2", "--certfile", str(tmp_path / "cert.pem"),
                          "--keyfile", str(tmp_path / "key.pem"), "wsgi:app"])
    for i in range(2):
        start(f"worker{i}", [str(BIN / "flask"), "--app", "wsgi", "jobs", "worker"])
    bases = [f"https://127.0.0.1:{port}" for port in ports]
    for base in bases:
        _wait(lambda base=base: requests.get(f"{base}/healthz", verify=str(tmp_path / "ca.pem"), timeout=5).ok,
              "the app processes", processes)
    return {"bases": bases, "ca": str(tmp_path / "ca.pem"), "logs": tmp_path, "processes": processes}


AGENT = "clubhouse-load-test"  # the session is bound to the address and the user agent


class _Staff:
    """A staff member's browser: the session cookie and CSRF token the login form would give."""

    def __init__(self, app, user, ca):
        from flask import session as flask_session
        from flask_wtf.csrf import generate_csrf

        from app.blueprints.auth.routes import start_session

        # An app context of its own: flask-wtf caches the CSRF token in `g`, which would carry it over
        # from the previous login into this one.
        with app.app_context(), app.test_request_context(
                environ_base={"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": AGENT}):
            start_session(user)
            self.csrf = generate_csrf()
            value = app.session_interface.get_signing_serializer(app).dumps(dict(flask_session))
        self.cookie = f"{app.config['SESSION_COOKIE_NAME']}={value}"
        self.http = requests.Session()
        self.http.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment would win over verify
        self.http.verify = ca

    def request(self, method, url, referrer=None, **kwargs):
        self.http.cookies.clear()  # the one cookie of the login, sent as it is
        headers = {"Cookie": self.cookie, "User-Agent": AGENT}
        if referrer:  # over HTTPS a form's POST must come from a page of the same host (CSRF check)
            headers["Referer"] = referrer
        return self.http.request(method, url, headers=headers, allow_redirects=False, timeout=30, **kwargs)


def _load(app, chain, staff, manager, token, numbers, desk_pool, seconds: float, egym) -> dict:
    """Staff, partner and manager threads against both app processes until `seconds` have passed."""
    deadline = time.monotonic() + seconds
    started = datetime.now(UTC)
    outcome = {"notes": [], "desk_checkins": 0, "api_checkins": [], "api_reads": 0, "syncs": [], "sync_seconds": [], "errors": []}
    guard = threading.Lock()
    both_ready = threading.Barrier(2)
    # eGym holds its answers until both starts have been answered, so the first run cannot be over
    # (and a second one rightly started) before the second start arrives, however busy the machine is.
    starts_answered: list[int] = []
    egym.answering.clear()
    # The logins are made here, one after the other: each writes its audit event through this thread's
    # database session, which the load threads may not share.
    desks = [_Staff(app, staff, chain["ca"]) for _t in range(2)]
    managers = [_Staff(app, manager, chain["ca"]) for _t in range(2)]

    def manager_thread(t):
        """The full sync started on each app process at the same moment: one run, the other refused."""
        try:
            base = chain["bases"][t]
            web = managers[t]
            both_ready.wait(timeout=30)
            asked = time.monotonic()
            answer = web.request("POST", f"{base}/integrations/egym/sync", referrer=f"{base}/integrations",
                                 data={"csrf_token": web.csrf})
            with guard:
                outcome["sync_seconds"].append(round(time.monotonic() - asked, 2))
                if answer.status_code == 302 and "/integrations/" in answer.headers.get("Location", ""):
                    outcome["syncs"].append(answer.headers["Location"].split("/integrations", 1)[1])
                else:
                    outcome["errors"].append(f"full sync {answer.status_code}")
        finally:
            with guard:
                starts_answered.append(t)
                if len(starts_answered) == 2:  # both starts are in: now the run may reach eGym and finish
                    egym.answering.set()

    def staff_thread(t):
        base = chain["bases"][t % 2]
        web = desks[t]
        k = 0
        while time.monotonic() < deadline:
            number = numbers[(t + k) % len(numbers)]
            page = web.request("GET", f"{base}/members/{number}")
            if page.status_code != 200 or str(number) not in page.text:
                with guard:
                    outcome["errors"].append(f"member page {page.status_code}")
                return
            body = f"Load note {t}-{k}"
            answer = web.request("POST", f"{base}/members/{number}/notes", referrer=page.url,
                                 data={"csrf_token": web.csrf, "body": body})
            with guard:
                arriving = desk_pool.pop() if desk_pool else None  # one check-in per member: no double clicks
            checkin = arriving and web.request("POST", f"{base}/members/checkin", referrer=page.url,
                                               data={"csrf_token": web.csrf, "member_number": str(arriving)})
            with guard:
                if answer.status_code == 302:
                    outcome["notes"].append(body)
                else:
                    outcome["errors"].append(f"note {answer.status_code}")
                if checkin is not None and checkin.status_code == 302:
                    outcome["desk_checkins"] += 1
                elif checkin is not None:
                    outcome["errors"].append(f"desk check-in {checkin.status_code}")
            k += 1

    def partner_thread(t):
        base = chain["bases"][(t + 1) % 2]
        api = requests.Session()
        api.trust_env = False
        api.verify = chain["ca"]
        api.headers["Authorization"] = f"Bearer {token}"
        k = 0
        while time.monotonic() < deadline:
            number = numbers[(t * 7 + k) % len(numbers)]
            read = api.get(f"{base}/api/v1/members/{number}", timeout=30)
            key = f"gate-{t}-{k}"
            at = started - timedelta(minutes=11 * (k * 4 + t))  # apart by more than the double-click window
            checkin = api.post(f"{base}/api/v1/checkins", timeout=30, headers={"Idempotency-Key": key},
                               json={"member_number": number, "location": f"Poort {t}", "at": at.isoformat()})
            with guard:
                if read.status_code == 200 and read.json()["member_number"] == number:
                    outcome["api_reads"] += 1
                else:
                    outcome["errors"].append(f"API read {read.status_code}")
                if checkin.status_code == 201:
                    outcome["api_checkins"].append(key)
                else:
                    outcome["errors"].append(f"API check-in {checkin.status_code} {checkin.text[:200]}")
            k += 1

    def guarded(target, t):
        try:
            target(t)
        except Exception as error:  # noqa: BLE001 - a failed request is a finding of the test, reported below
            with guard:
                outcome["errors"].append(f"{target.__name__}: {type(error).__name__}: {error}")

    threads = [threading.Thread(target=guarded, args=(staff_thread, t)) for t in range(2)]
    threads += [threading.Thread(target=guarded, args=(partner_thread, t)) for t in range(2)]
    threads += [threading.Thread(target=guarded, args=(manager_thread, t)) for t in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome


def _members_for_the_desk(db, count: int) -> list[int]:
    """Members who each arrive once at the desk during the load (inserted in one statement)."""
    from sqlalchemy import insert

    first = 900_000  # far above the counter: the load creates no members of its own
    db.session.execute(insert(Member), [
        {"member_number": first + i, "first_name": "Balie", "last_name": f"Bezoeker{i}", "status": "active",
         "joined_on": date(2024, 1, 1), "country": "NL", "processing_restricted": False,
         "search_text": f"balie bezoeker{i} {first + i}"} for i in range(count)])
    db.session.commit()
    return list(range(first, first + count))


def _egym_members(db, make_member, make_plan, count: int) -> list[int]:
    """Members with a subscription and consent for eGym: what a full sync sends."""
    plan = make_plan("Fitness onbeperkt", plan_group="fitness")
    ids = []
    for i in range(count):
        member = make_member(last_name=f"Sporter{i}", gender="female", email=f"sporter{i}@example.nl")
        db.session.add(Subscription(member_id=member.id, plan=plan, starts_on=date(2024, 1, 1),
                                    monthly_fee=Decimal("39.50"), status="active"))
        db.session.add(Consent(member_id=member.id, purpose="egym", given_via="desk"))
        ids.append(member.id)
    db.session.commit()
    return ids


def _run(app, db, make_member, make_plan, make_user, start_chain, seconds: float) -> None:
    if EGYM_DOCUMENT_MISSING:
        pytest.skip(EGYM_DOCUMENT_MISSING)
    numbers = [make_member(last_name=f"Keten{i}").member_number for i in range(6)]
    sporters = _egym_members(db, make_member, make_plan, 8)
    egym = FakeEgym(api_key="chain-key").start()
    app.config["CONNECTOR_SECRET_KEY"] = Fernet.generate_key().decode()
    connector_settings.configure("egym", actor=None, url=egym.url, api_key="chain-key", basis="consent",
                                 enabled=True)
    db.session.commit()
    manager = make_user(permissions=["integrations.view", "integrations.manage"])
    desk_pool = _members_for_the_desk(db, 300 if seconds < 10 else 3000)
    ended = [make_member(last_name=f"Oudlid{i}", status="ended", joined_on=date(2015, 1, 1),
                         ended_on=date(2020, 6, 30)).id for i in range(5)]
    staff = make_user(permissions=["members.view", "members.contact", "members.notes", "members.checkin"])
    _client, token = api_clients.create_client(None, name="poortsysteem", fields=(),
                                               scopes=("api.members.read", "api.visits.write"))
    db.session.commit()
    visits_before = db.session.scalar(select(func.count()).select_from(Visit))
    chain_fixture = start_chain()  # its schedulers find the sweep due (RETENTION_SWEEP_AT 00:00) at once

    try:
        outcome = _load(app, chain_fixture, staff, manager, token, numbers, desk_pool, seconds, egym)
        assert outcome["errors"] == []
        _assert_one_sync_sent_everyone_once(db, egym, outcome, len(sporters))
    finally:
        egym.stop()

    assert outcome["errors"] == []
    assert outcome["notes"] and outcome["api_checkins"] and outcome["api_reads"] and outcome["desk_checkins"]
    db.session.rollback()
    stored = list(db.session.scalars(select(StaffNote.body).where(StaffNote.body.like("Load note %"))))
    assert sorted(stored) == sorted(outcome["notes"])  # every note once: none lost, none doubled
    visits = db.session.scalar(select(func.count()).select_from(Visit)) - visits_before
    assert visits == outcome["desk_checkins"] + len(outcome["api_checkins"])

    # The sweep was due on both schedulers from the start: exactly one of them ran it.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        db.session.rollback()
        sweeps = list(db.session.scalars(select(AuditEvent.details).where(AuditEvent.action == "retention.sweep")))
        if sweeps:
            break
        time.sleep(0.3)
    time.sleep(1.5)  # time for a second scheduler to have run it too, were the lock to let it
    db.session.rollback()
    sweeps = list(db.session.scalars(select(AuditEvent.details).where(AuditEvent.action == "retention.sweep")))
    assert len(sweeps) == 1 and '"via": "scheduler"' in sweeps[0]
    statuses = set(db.session.scalars(select(Member.status).where(Member.id.in_(ended))))
    assert statuses == {"anonymised"}

    for process in chain_fixture["processes"]:
        assert process.poll() is None, f"{process.args[0]} stopped during the load"
    logs = "\n".join(path.read_text(errors="replace") for path in sorted(chain_fixture["logs"].glob("*.log")))
    assert "Traceback" not in logs and "[ERROR]" not in logs
    assert audit.verify().ok


def _assert_one_sync_sent_everyone_once(db, egym, outcome, members: int) -> None:
    """Both starts land on the same run (the second is refused as already running), which one worker
    carries out: every member's account is created once at eGym, and the run says so."""
    if not (len(outcome["syncs"]) == 2 and len(set(outcome["syncs"])) == 1):
        db.session.rollback()
        runs = [(r.id, r.state, r.created_at, r.finished_at, r.outcome)
                for r in db.session.scalars(select(JobRun).where(JobRun.kind == "full_sync:egym"))]
        raise AssertionError(f"two starts, two runs: {outcome['syncs']} {runs} {outcome['sync_seconds']}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        db.session.rollback()
        runs = list(db.session.scalars(select(JobRun).where(JobRun.kind == "full_sync:egym")))
        if runs and runs[0].state in ("done", "failed"):
            break
        time.sleep(0.3)
    assert len(runs) == 1 and runs[0].state == "done", [(r.state, r.outcome) for r in runs]
    created = [r for r in egym.calls("POST") if r["status"] == 201]
    assert len(created) == members == len(egym.accounts)  # each member sent once, by one worker
    assert egym.invalid == []  # every body the contract's schema allows
    # The run queued everyone; which worker delivered each row (the run, or the other worker's drain
    # woken by the same commit) does not matter, as long as none was sent twice.
    assert f'"queued": {members}' in runs[0].outcome


def test_two_app_processes_and_two_workers_share_one_database(app, db, make_member, make_plan, make_user, chain):
    _run(app, db, make_member, make_plan, make_user, chain, seconds=3)


@pytest.mark.long
def test_two_app_processes_and_two_workers_under_a_longer_load(app, db, make_member, make_plan, make_user, chain):
    _run(app, db, make_member, make_plan, make_user, chain, seconds=45)
