"""Personal data never reaches a log record or the audit log, through a whole member's life.

Every log record the application emits (DEBUG and up, SQLAlchemy's own statement logging left
off as it is configured) and every audit row is searched for the distinctive values typed in
along the way: registering, editing, viewing, notes, exports, a refused form, an unknown page,
the public intake form, a desk request and the erasure wizard through to its letter.
"""

import http.cookiejar
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select

from app.auth.decorators import public
from app.auth.permissions import CODES
from app.models import AuditEvent, DataRequest, Member
from app.services import clock

MEMBER = {
    "first_name": "Zephyrine",
    "infix": "van de",
    "last_name": "Quaxelbrink",
    "date_of_birth": "1977-07-07",
    "gender": "female",
    "email": "zephyrine.quaxelbrink@mailbox.example",
    "phone": "06 11223344",
    "street": "Vlinderpad",
    "house_number": "99z",
    "postcode": "8765 QW",
    "city": "Zwammerdam",
    "country": "NL",
    "iban": "NL20INGB0001234567",
    "joined_on": "2025-02-03",
}
EDITED = {"city": "Kraggenburg", "email": "zq.nieuw@postvak.example", "street": "Libellelaan"}
NOTE = "Belde over de Quaxelbrink-regeling"
HEALTH = "Zephyrine heeft een knieblessure"
REQUESTER = {"name": "Tjitske Wolderink", "email": "tjitske.wolderink@inbox.example"}

# What must never appear in a log record or an audit row (case-insensitive).
DISTINCTIVE = [
    "Zephyrine", "Quaxelbrink", "zephyrine.quaxelbrink@mailbox.example", "11223344", "Vlinderpad", "99z",
    "8765 QW", "8765QW", "Zwammerdam", "NL20INGB0001234567", "1977-07-07", "07-07-1977", "Kraggenburg",
    "zq.nieuw@postvak.example", "Libellelaan", "Quaxelbrink-regeling", "knieblessure", "Tjitske", "Wolderink",
    "tjitske.wolderink@inbox.example", "Passport number XK-4411",
]


def _leaks(text: str) -> list[str]:
    lowered = (text or "").lower()
    return [value for value in DISTINCTIVE if value.lower() in lowered]


def _record_text(record: logging.LogRecord) -> str:
    parts = [record.getMessage(), record.name, repr(record.args)]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    return " ".join(parts)


@pytest.fixture
def everything_logged(caplog, app):
    """Capture every record at DEBUG, with SQLAlchemy's statement logging off as configured."""
    assert not app.config.get("SQLALCHEMY_ECHO")  # the app does not turn on statement logging
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.WARNING, logger="sqlalchemy")
    return caplog


def _audit_rows_text(db) -> list[tuple[int, str]]:
    rows = []
    for event in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        rows.append((event.id, " ".join(str(v) for v in (
            event.actor_username, event.action, event.target_type, event.target_id, event.member_number,
            event.source_ip, event.details))))
    return rows


@pytest.mark.slow
def test_a_members_whole_life_leaves_no_personal_data_in_logs_or_the_audit_log(
        app, client, db, make_user, login, everything_logged):
    clock.freeze(datetime(2026, 6, 15, 10, 0))
    staff = make_user(permissions=sorted(CODES), username="allrights")
    login(staff)

    response = client.post("/members/new", data=MEMBER)
    assert response.status_code == 302, response.get_data(as_text=True)
    member = db.session.scalar(select(Member))
    number = member.member_number
    assert client.post(f"/members/{number}/edit", data={**MEMBER, **EDITED}).status_code == 302
    refused = client.post(f"/members/{number}/edit", data={**MEMBER, "email": "not an email Zephyrine"})
    assert refused.status_code == 422
    for tab in ("profile", "subscriptions", "visits", "invoices", "consents", "notes", "health"):
        assert client.get(f"/members/{number}?tab={tab}").status_code == 200
    assert client.post(f"/members/{number}/notes", data={"body": NOTE}).status_code == 302
    assert client.post(f"/members/{number}/health-notes", data={"health-body": HEALTH}).status_code == 302
    assert client.post(f"/members/{number}/consents", data={"purpose": "newsletter", "via": "desk"}).status_code == 302
    assert client.get("/members?q=Quaxelbrink").status_code == 200
    assert client.get("/privacy/requests/zephyrine.quaxelbrink@mailbox.example").status_code == 404
    for fmt in ("pdf", "zip"):
        export = client.get(f"/privacy/members/{number}/export.{fmt}")
        assert export.status_code == 200 and len(export.data) > 500

    guest = app.test_client()
    intake = guest.post("/request", data={**REQUESTER, "date_of_birth": "1977-07-07", "kind": "access",
                                          "message": "Graag mijn gegevens, Tjitske Wolderink"})
    assert intake.status_code == 302, intake.get_data(as_text=True)

    response = client.post("/privacy/requests/new", data={
        "kind": "erasure", "channel": "desk", "requester_name": "Zephyrine Quaxelbrink",
        "requester_email": EDITED["email"], "requester_date_of_birth": "1977-07-07",
        "requester_member_number": str(number), "message": "Verwijder alles over Zephyrine"})
    assert response.status_code == 302
    reference = response.headers["Location"].rsplit("/", 1)[-1]
    base = f"/privacy/requests/{reference}"
    assert client.post(f"{base}/identity/search", data={"q": "Quaxelbrink"}).status_code == 200
    assert client.post(f"{base}/identity/search", data={"q": EDITED["email"]}).status_code == 200
    assert client.post(f"{base}/identity", data={"member_number": str(number),
                                                 "method": "Passport number XK-4411"}).status_code == 302
    assert client.post(f"{base}/erasure/start").status_code == 302
    assert client.post(f"{base}/erasure/ground", data={"ground": "no_longer_needed"}).status_code == 302
    assert client.post(f"{base}/erasure/decision", data={"decision": "grant"}).status_code == 302
    assert client.post(f"{base}/erasure/method", data={"method": "anonymise"}).status_code == 302
    assert client.post(f"{base}/erasure/confirm", data={"member_number": str(number)}).status_code == 302
    assert client.post(f"{base}/erasure/result").status_code == 302  # makes the letter and closes
    letter = client.get(f"/privacy/requests/{reference}/letter.pdf")
    assert letter.mimetype == "application/pdf"
    assert client.post(f"/privacy/requests/{reference}/letter/sent").status_code == 302

    # the journey really happened
    db.session.expire_all()
    assert db.session.scalar(select(Member)).status == "anonymised"
    assert db.session.scalar(select(DataRequest).where(DataRequest.reference == reference)).closed_at is not None
    actions = {event.action for event in db.session.scalars(select(AuditEvent))}
    assert {"member.create", "member.update", "member.view", "privacy.erasure.executed"} <= actions

    leaked_logs = [(r.name, _leaks(_record_text(r))) for r in everything_logged.records if _leaks(_record_text(r))]
    assert leaked_logs == []
    leaked_audit = [(event_id, _leaks(row)) for event_id, row in _audit_rows_text(db) if _leaks(row)]
    assert leaked_audit == []


def test_an_unexpected_error_is_logged_without_its_message(make_app, everything_logged):
    """The capture is real: the error handler's record arrives, but not the exception's text."""
    other = make_app()

    @other.get("/__test_boom")
    @public
    def boom():
        raise RuntimeError("Zephyrine Quaxelbrink, zephyrine.quaxelbrink@mailbox.example")

    response = other.test_client().get("/__test_boom")
    assert response.status_code == 500
    assert _leaks(response.get_data(as_text=True)) == []
    records = [r for r in everything_logged.records if "RuntimeError" in r.getMessage()]
    assert records, "the error handler logs the type of an unexpected error"
    assert all(_leaks(_record_text(r)) == [] for r in records)


# --- the access logs of real server processes ------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Browser:
    """A tiny HTTP client with cookies that posts forms with their CSRF token, as a browser would."""

    def __init__(self, base: str):
        self.base = base
        self.last_url = ""
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.base + path, timeout=30) as response:
                self.last_url = response.geturl()
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def post(self, path: str, form_page: str, data: dict) -> tuple[int, str]:
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form_page) or re.search(
            r'value="([^"]+)"[^>]*name="csrf_token"', form_page)
        body = urllib.parse.urlencode({**data, "csrf_token": token.group(1) if token else ""}).encode()
        try:
            with self.opener.open(self.base + path, data=body, timeout=30) as response:
                self.last_url = response.geturl()
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def _wait_until_up(browser: _Browser, process) -> None:
    for _attempt in range(300):
        if process.poll() is not None:
            raise AssertionError("the server process stopped")
        try:
            if browser.get("/healthz")[0] == 200:
                return
        except OSError:
            pass
        threading.Event().wait(0.1)
    raise AssertionError("the server did not come up")


def _journey(browser: _Browser, username: str) -> None:
    """Log in, register and search a member, file a request and verify the identity by search."""
    status, page = browser.get("/login")
    status, page = browser.post("/login", page, {"username": username, "password": "Correct-horse-battery-9"})
    assert status == 200 and "logout" in page.lower(), page[:500]
    if 'action="/account/two-factor/start"' in page:  # an administrator enrols at the first login
        status, page = browser.post("/account/two-factor/start", page, {})
        secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
        status, page = browser.post("/account/two-factor/confirm", page, {"code": pyotp.TOTP(secret).now()})
        assert status == 200 and "two-factor/start" not in page, page[:500]
    status, page = browser.get("/members/new")
    status, page = browser.post("/members/new", page, MEMBER)
    assert status == 200 and "Quaxelbrink" in page, page[:500]
    number = browser.last_url.rstrip("/").rsplit("/", 1)[-1]
    assert number.isdigit(), browser.last_url
    assert browser.get("/members?q=Quaxelbrink")[0] == 200
    assert browser.get(f"/members?q={urllib.parse.quote(MEMBER['email'])}")[0] == 200
    status, page = browser.get("/privacy/requests/new")
    status, page = browser.post("/privacy/requests/new", page, {
        "kind": "erasure", "channel": "desk", "requester_name": "Tjitske Wolderink",
        "requester_email": REQUESTER["email"], "requester_member_number": number})
    assert status == 200
    reference = browser.last_url.rstrip("/").rsplit("/", 1)[-1]
    assert reference.startswith("AVG-"), browser.last_url
    base = f"/privacy/requests/{reference}/identity"
    status, page = browser.get(base)
    status, found = browser.post(f"{base}/search", page, {"q": MEMBER["email"]})
    assert status == 200 and "Quaxelbrink" in found
    status, page = browser.post(base, found, {"member_number": number, "method": "Passport number XK-4411"})
    assert status == 200 and f"linked to member {number}" in page, page[:800]


def _assert_clean_access_log(text: str) -> None:
    lines = [line for line in text.splitlines() if "HTTP/1" in line]
    assert any("/identity/search" in line for line in lines), text[-2000:]  # the capture is real
    assert any('"GET /members HTTP/1.1" 200' in line for line in lines), text[-2000:]
    assert _leaks(text) == []
    assert [line for line in lines if "?" in line] == []


@pytest.mark.slow
def test_gunicorn_access_log_holds_no_personal_data_or_query_string(database_url, tmp_path):
    """gunicorn with the shipped gunicorn.conf.py, a real process on a free loopback port.

    On SQLite the server gets a database of its own (made by `db upgrade` and `create-admin`, as an
    installation is): sharing the test run's file across processes is not what is tested here.
    """
    port = _free_port()
    access_log = tmp_path / "access.log"
    server_db = database_url if database_url.startswith("postgresql") else f"sqlite:///{tmp_path / 'server.db'}"
    env = {**os.environ, "DATABASE_URL": server_db, "CLUBHOUSE_INSTANCE": str(tmp_path / "instance"),
           "SECRET_KEY": "x" * 40, "ERASURE_LEDGER_KEY": "test-ledger-key", "DEFAULT_LOCALE": "en",
           "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1", "GUNICORN_ACCESS_LOG": str(access_log),
           "BACKUP_DIR": str(tmp_path / "backups"), "ERASURE_LEDGER_PATH": str(tmp_path / "ledger.jsonl")}
    env.pop("CLUBHOUSE_ENV", None)
    commands = (["db", "upgrade"], ["seed-roles"],
                ["create-admin", "--username", "logcheck", "--password", "Correct-horse-battery-9"])
    # The three `flask --app wsgi ...` commands of an installation, run one after the other in one
    # interpreter (each process start imports the whole app); a failing command stops it with its status.
    install = ("import sys\nfrom flask.cli import cli\n"
               f"for command in {commands!r}:\n"
               "    status = cli.main(['--app', 'wsgi', *command], prog_name='flask', standalone_mode=False)\n"
               "    if status:\n        sys.exit(status)\n")
    done = subprocess.run([sys.executable, "-c", install], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "logcheck" in done.stdout + done.stderr  # create-admin ran and said so
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        browser = _Browser(f"http://127.0.0.1:{port}")
        _wait_until_up(browser, server)
        _journey(browser, "logcheck")
    finally:
        server.terminate()
        output = server.communicate(timeout=60)[0].decode()
    _assert_clean_access_log(access_log.read_text())
    assert _leaks(output) == []


def test_development_server_request_log_holds_no_query_string(app, db, make_user, caplog):
    """werkzeug's request log (flask run / make run) with the portal's filter."""
    from werkzeug.serving import make_server

    caplog.set_level(logging.INFO, logger="werkzeug")
    staff = make_user(permissions=sorted(CODES), username="devcheck")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        app.config["WTF_CSRF_ENABLED"] = True
        _journey(_Browser(f"http://127.0.0.1:{server.server_port}"), staff.username)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
        server.shutdown()
        thread.join()
    lines = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    _assert_clean_access_log("\n".join(lines))


def test_the_request_line_filter_handles_coloured_and_error_lines():
    from app.request_log import strip_query

    assert strip_query("\x1b[33mGET /members?q=Quaxelbrink HTTP/1.1\x1b[0m") == "\x1b[33mGET /members HTTP/1.1\x1b[0m"
    assert strip_query("code 400, message Bad request ('GET /x?q=a@b.example HTTP/1.1')") == \
        "code 400, message Bad request ('GET /x HTTP/1.1')"
    assert strip_query("GET /members HTTP/1.1") == "GET /members HTTP/1.1"
