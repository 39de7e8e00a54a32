"""Bad input never breaks a page: every route, every method, hostile values, two kinds of visitor.

The walk is derived from app.url_map, so a route added later is covered without touching this
file. Each route is tried as a staff user holding every permission code and as a guest, with real
objects seeded so that URL arguments resolve (a member with children, a data request of each kind
and one at each step of the erasure wizard, a user, a role, a retention policy, a legal hold).

For every response: never a 500, never a traceback, an error page never repeats a personal value
that was sent (a planted email address), a redirect never carries it into a URL, and a refused
request (4xx) changed nothing in the database.
"""

import copy
from datetime import date, datetime, timedelta
from decimal import Decimal
from urllib.parse import quote, urlencode

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import delete, select, update
from werkzeug.routing.converters import AnyConverter, IntegerConverter
from wtforms.fields.core import UnboundField

from app import create_app
from app.auth.decorators import public
from app.auth.permissions import CODES
from app.config import TestConfig
from app.extensions import db as _db
from app.models import (
    Consent,
    DataRequest,
    HealthNote,
    Invoice,
    LegalHold,
    MemberImport,
    Role,
    StaffNote,
    Subscription,
    User,
    Visit,
)
from app.models.privacy import REQUEST_KINDS
from app.services import clock
from app.services.privacy_requests import WIZARD_STEPS

PLANTED = "planted.person@example.nl"

# Hostile values, sent in every form field, in the query string and in URL arguments.
HOSTILE = {
    "abc": "abc",
    "huge": str(2**70),
    "negative": "-1",
    "zero_date": "0000-00-00",
    "far_date": "9999-12-31",
    "long": "x" * 100_000,
    "nul": f"a\x00b {PLANTED}",
    "control": "\x01\x07\x08\x1b[31m\x7f\x85\u2028",
    "rtl": "\u202eevil\u200f\u200e",
    "emoji": "😀👍🏽🇳🇱",
    "combining": "e\u0301\u0327a\u0308o\u0336",
    "sql": "1' OR '1'='1'; DROP TABLE members; --",
    "html": '<script>alert(1)</script>"><img src=x onerror=alert(1)>',
    "planted": PLANTED,
    "unicode_digit": "²",
    "arabic_digits": "١٢٣",
    "whitespace": " \t\r\n ",
}

QUERY_PARAMS = ("page", "sort", "dir", "status", "filter", "kind", "q", "tab", "lang", "actor", "action",
                "member_number", "date_from", "date_to", "next")
ODD_QUERIES = [
    {"page": "-1"}, {"page": "abc"}, {"page": "0"}, {"page": str(2**70)}, {"page": "²"}, {"page": "１"},
    {"sort": "drop"}, {"dir": "sideways"}, {"status": "nonsense"}, {"filter": "nonsense"}, {"kind": "nonsense"},
    {"tab": "nonsense"}, {"lang": "xx"}, {"member_number": str(2**70)}, {"member_number": "-5"},
    {"date_from": "0000-00-00", "date_to": "9999-12-31"}, {"date_from": "9999-12-31", "date_to": "0001-01-01"},
]
UNKNOWN_INTS = (0, 999_999, 2**31, 2**63, 2**70)
UNKNOWN_STRINGS = ("AVG-9999-9999", f"a\x00b{PLANTED}", "x" * 5000, "<script>", "' OR 1=1 --", "😀", "%00", "..")
WRONG_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ERROR_STATUSES = (400, 403, 404, 405, 413, 429, 500)
SKIP_ENDPOINTS = {"static"}

# Tables whose content a refused request must leave alone (the audit log, rate-limit buckets,
# counters and login bookkeeping legitimately move on any request).
WATCHED_TABLES = (
    "members", "subscriptions", "plans", "visits", "invoices", "consents", "health_notes", "staff_notes",
    "data_requests", "request_events", "legal_holds", "erasure_records", "retention_policies",
    "roles", "role_permissions", "user_roles",
)
USER_COLUMNS = "id, username, full_name, email, active, password_hash, must_change_password, locale"


def _all_form_fields() -> list[str]:
    """Every field name of every form in the app (with the prefixes the views use)."""
    seen, stack, names = set(), [FlaskForm], {"next", "lang", "health-body"}
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                stack.append(sub)
    for cls in seen:
        if not cls.__module__.startswith("app."):
            continue
        for name in dir(cls):
            if isinstance(getattr(cls, name, None), UnboundField):
                names.add(name)
    return sorted(names)


def _rules():
    """The routes as (id, endpoint, rule) from an app built only to read its url_map."""
    app = create_app(type("ListConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": "sqlite://"}))
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if rule.endpoint not in SKIP_ENDPOINTS:
            found.append(pytest.param(rule.endpoint, rule.rule, id=f"{rule.endpoint}:{rule.rule}"))
    return found


RULES = _rules()  # builds an app, which imports every form module
FORM_FIELDS = _all_form_fields()


# The walk renders the PDF templates (their HTML) but not WeasyPrint's layout: one case took 11 s.
pytestmark = pytest.mark.usefixtures("html_instead_of_pdf")


# The world is built once per test process through the real factories and services, then
# each test gets the same rows back by plain inserts (the factories took a quarter of the walk).
_TEMPLATE: dict = {}


def _rows_of(conn, table) -> list[dict]:
    """A table's rows in key order: PostgreSQL returns an updated row elsewhere in an unordered scan."""
    return [dict(row._mapping) for row in conn.execute(table.select().order_by(*table.primary_key.columns))]


@pytest.fixture
def world(db, make_member, make_user, make_role, make_plan):
    """Real objects for every URL argument; returns the values by argument name."""
    clock.freeze(datetime(2026, 6, 15, 10, 0))
    if _TEMPLATE.get("url") == str(db.engine.url):
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                _copy_in(conn, _TEMPLATE["copies"])
            else:
                for table, rows in _restored(_TEMPLATE["rows"]):
                    conn.execute(table.insert(), rows)
        return copy.deepcopy(_TEMPLATE["world"])
    values = _build_world(db, make_member, make_user, make_role, make_plan)
    with db.engine.connect() as conn:
        rows = [(table, _rows_of(conn, table)) for table in db.metadata.sorted_tables]
        rows = [(t, r) for t, r in rows if r]
        copies = _copy_out(conn, _restored(rows)) if conn.dialect.name == "postgresql" else []
    _TEMPLATE.update(url=str(db.engine.url), rows=rows, copies=copies, world=copy.deepcopy(values))
    return values


def _restored(rows):
    """The tables a copy of the world fills: the member counts are rebuilt by inserting the members."""
    return [(table, r) for table, r in rows if not table.info.get("kept_by_triggers")]


def _copy_out(conn, rows) -> list[tuple[str, bytes]]:
    """Each table's rows in COPY's text format: one statement per table to put them back on PostgreSQL.

    psycopg's executemany sends one statement per row: 177,000 of the walk's statements were
    the world's rows going back in. The text is the database's own, so no value is converted.
    """
    cursor = conn.connection.driver_connection.cursor()
    copies = []
    for table, _ in rows:
        columns = ", ".join(f'"{column.name}"' for column in table.columns)
        data = bytearray()
        with cursor.copy(f'COPY "{table.name}" ({columns}) TO STDOUT') as out:  # noqa: S608 - model names
            for block in out:
                data += block
        copies.append((f'COPY "{table.name}" ({columns}) FROM STDIN', bytes(data)))  # noqa: S608
    cursor.close()
    return copies


def _copy_in(conn, copies) -> None:
    """The world's rows back into the emptied tables (parents first, as recorded)."""
    cursor = conn.connection.driver_connection.cursor()
    for statement, data in copies:
        with cursor.copy(statement) as into:
            into.write(data)
    cursor.close()


def test_the_world_comes_back_the_same_for_every_test(db, world):
    """The copied world holds exactly the rows the factories made (this test runs after the first)."""
    assert _TEMPLATE, "the first use of the world fixture records it"
    with db.engine.connect() as conn:
        now = [(table, _rows_of(conn, table)) for table in db.metadata.sorted_tables]
    assert [(t.name, r) for t, r in now if r] == [(t.name, r) for t, r in _TEMPLATE["rows"]]
    assert world == _TEMPLATE["world"]


def _build_world(db, make_member, make_user, make_role, make_plan):
    member = make_member(first_name="Ottoline", last_name="Vreeswijk", email="ottoline@vreeswijk.example")
    other = make_member(first_name="Berend", last_name="Hoekstra", email="berend@hoekstra.example")
    today = clock.today()
    subscription = Subscription(member_id=member.id, plan=make_plan("All-in"), starts_on=date(2026, 1, 1),
                                monthly_fee=Decimal("39.50"), status="active")
    consent = Consent(member_id=member.id, purpose="newsletter", given_via="desk")
    db.session.add_all([
        subscription, consent,
        Visit(member_id=member.id, checked_in_at=datetime(2026, 3, 4, 18, 0), location="Main hall"),
        Invoice(member_id=member.id, number="INV-1", issued_on=date(2026, 2, 1), due_on=date(2026, 2, 15),
                amount=Decimal("39.50"), status="paid", billing_name=member.full_name, billing_address="Street 1"),
        StaffNote(member_id=member.id, body="Prefers mornings"),
        HealthNote(member_id=member.id, body="Knee"),
    ])
    staff = make_user(username="target")
    # The visitor of the privileged walks: part of the world, so each case copies it with the rest.
    walker = make_user(permissions=sorted(CODES), username="walker")
    role = make_role("members.view", name="Spare role")
    hold = LegalHold(member_id=other.id, reason="Dispute about an invoice", placed_at=clock.utcnow())
    db.session.add(hold)
    references = {}
    rows = {}
    number = 0

    def add_request(kind, key, **fields):
        nonlocal number
        number += 1
        row = DataRequest(reference=f"AVG-2025-{number:04d}", kind=kind, channel="desk", status="in_progress",
                          requester_name="Ottoline Vreeswijk", requester_email=member.email,
                          due_on=today + timedelta(days=20), member_id=member.id,
                          member_number=member.member_number, identity_verified_at=clock.utcnow(),
                          identity_method="Passport", **fields)
        db.session.add(row)
        references[key] = row.reference
        rows[key] = row

    for kind in REQUEST_KINDS:
        add_request(kind, kind)
    for step in WIZARD_STEPS:
        extra = {"erasure_method": "anonymise"} if step in ("confirm", "result", "letter") else {}
        if step == "decision":
            extra["ground"] = "no_longer_needed"
        add_request("erasure", f"step:{step}", wizard_step=step, **extra)
    from app.services import api_clients

    partner, _token = api_clients.create_client(None, name="Walk partner", scopes=["api.members.read"])
    member_import = MemberImport(token="walk-import", headers='["Klantnummer", "Voornaam"]',
                                 mapping='{"Klantnummer": "member_number"}')  # its file is gone: each step says so
    db.session.add(member_import)
    # Art. 19 and the long jobs (issue 15): a recipient registered by hand, its notice on the
    # request the recipient routes get (see _reference_for), a finished sweep.
    from app.models import JobRun, ManualRecipient, RecipientNotice

    accountant = ManualRecipient(name="Walk accountant", role="accountant", address="Postbus 1", categories="name")
    run = JobRun(kind="retention_sweep", state="done", processed=0, errors=0, outcome="{}")
    db.session.add_all([accountant, run])
    db.session.flush()
    notice = RecipientNotice(request_id=rows["access"].id, action="rectified", recipient_kind="manual",
                             recipient_key=accountant.key, recipient_name=accountant.name, fields="name")
    db.session.add(notice)
    db.session.commit()
    return {
        "recipient_id": accountant.id, "run_id": run.id, "notice_id": notice.id,
        "member_number": member.member_number, "subscription_id": subscription.id, "consent_id": consent.id,
        "plan_id": subscription.plan_id,
        "user_id": staff.id, "role_id": role.id, "hold_id": hold.id, "api_client_id": partner.id,
        "import_id": member_import.id, "walker_id": walker.id,
        "category": "visits", "action": "set", "references": references,
    }


def _walker(db, world) -> User:
    """The world's user holding every permission code."""
    user = db.session.get(User, world["walker_id"])
    assert user.username == "walker" and user.permission_codes() >= set(CODES)
    return user


def _reference_for(endpoint: str, references: dict) -> str:
    """The request whose state lets this endpoint's view do its work."""
    step = endpoint.removeprefix("privacy.erasure_")
    if step in ("execute", "back"):
        step = "confirm"
    if f"step:{step}" in references:
        return references[f"step:{step}"]
    for kind in ("restriction", "objection", "rectification", "erasure"):
        if kind in endpoint or (endpoint == "privacy.erasure_start" and kind == "erasure"):
            return references[kind]
    return references["access"]


def _build(rule, world, overrides=None) -> str:
    values = {}
    for name in rule.arguments:
        converter = rule._converters.get(name)
        if overrides and name in overrides:
            values[name] = overrides[name]
        elif name == "reference":
            values[name] = _reference_for(rule.endpoint, world["references"])
        elif name in world:
            values[name] = world[name]
        elif isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)[0]
        else:
            raise AssertionError(f"no object for {name} in {rule.rule}")
    return rule.build(values, append_unknown=False)[1]


# What a refused request must not change is watched by triggers that the walk adds to its own
# database for as long as its tests run: every insert or delete in a watched table, and every
# update that changes a value (for users, one of USER_COLUMNS), appends a row to CHANGES. A request
# changed the watched data when the highest row number moved. This is stricter than comparing the
# tables' contents (a value changed and changed back counts too) and one indexed read instead of
# reading every watched table twice per request (a fifth of the walk on PostgreSQL). Appending,
# not counting in one row: concurrent writers never wait for each other's lock on it.
CHANGES = "walk_watch_changes"


def _watch_statements(dialect: str, columns: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    """(statements that add the watch, statements that remove it), from the fixed names above only."""
    user_columns = [c.strip() for c in USER_COLUMNS.split(",")]
    add, remove = [], []
    if dialect == "postgresql":
        add += [f"CREATE TABLE {CHANGES} (id bigserial PRIMARY KEY)",
                "CREATE FUNCTION walk_watch_note() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN INSERT INTO {CHANGES} DEFAULT VALUES; RETURN NULL; END $$"]
        for table in (*WATCHED_TABLES, "users"):
            if table == "users":
                changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in user_columns)
            else:
                changed = "OLD.* IS DISTINCT FROM NEW.*"
            add += [f"CREATE TRIGGER walk_watch_w AFTER INSERT OR DELETE ON {table} FOR EACH ROW "
                    "EXECUTE FUNCTION walk_watch_note()",
                    f"CREATE TRIGGER walk_watch_u AFTER UPDATE ON {table} FOR EACH ROW WHEN ({changed}) "
                    "EXECUTE FUNCTION walk_watch_note()",
                    f"CREATE TRIGGER walk_watch_t AFTER TRUNCATE ON {table} FOR EACH STATEMENT "
                    "EXECUTE FUNCTION walk_watch_note()"]
        remove += [f"DROP TABLE IF EXISTS {CHANGES}", "DROP FUNCTION IF EXISTS walk_watch_note() CASCADE"]
        return add, remove
    add.append(f"CREATE TABLE {CHANGES} (id INTEGER PRIMARY KEY)")
    note = f"BEGIN INSERT INTO {CHANGES} (id) VALUES (NULL); END"  # noqa: S608 - a fixed name
    for table in (*WATCHED_TABLES, "users"):
        watched = user_columns if table == "users" else columns[table]
        changed = " OR ".join(f'OLD."{c}" IS NOT NEW."{c}"' for c in watched)
        add += [f"CREATE TRIGGER walk_watch_{table}_i AFTER INSERT ON {table} {note}",
                f"CREATE TRIGGER walk_watch_{table}_d AFTER DELETE ON {table} {note}",
                f"CREATE TRIGGER walk_watch_{table}_u AFTER UPDATE ON {table} WHEN {changed} {note}"]
        remove += [f"DROP TRIGGER IF EXISTS walk_watch_{table}_{kind}" for kind in "idu"]
    remove.append(f"DROP TABLE IF EXISTS {CHANGES}")
    return add, remove


# The connection that reads the watch while it is in place: outside the pool, so a read is one round
# trip (a pooled one added the pool's liveness ping and, on PostgreSQL, switching to autocommit).
_READER: dict = {}


@pytest.fixture(scope="module", autouse=True)
def watched_changes(app):
    """The watch, on this worker's database while this module's tests run (others never see it)."""
    def run(statements):
        with app.app_context(), _db.engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)

    with app.app_context():
        columns = {t.name: [c.name for c in t.columns] for t in _db.metadata.sorted_tables}
        dialect = _db.engine.dialect.name
        add, remove = _watch_statements(dialect, columns)
        reader = _db.engine.raw_connection()
    driver = reader.driver_connection
    reader.detach()  # closing it closes it, instead of handing a changed connection back to the pool
    if dialect == "postgresql":
        driver.autocommit = True  # no BEGIN and ROLLBACK around each read
    # SQLite's driver opens no transaction for a SELECT: each read sees what was committed last.
    try:
        run(remove + add)
        _READER.update(cursor=driver.cursor(), dialect=dialect)
        yield
    finally:  # SQLite commits each DDL statement: a half-made watch goes too
        _READER.clear()
        reader.close()
        run(remove)


def _fingerprint() -> int:
    """How many changes to the watched data there have been (committed ones: what others can see)."""
    cursor = _READER["cursor"]
    cursor.execute(f"SELECT coalesce(max(id), 0) FROM {CHANGES}")  # noqa: S608 - a fixed name
    return cursor.fetchone()[0]


# The form bodies that put one hostile value into every field, encoded once per process: the
# 100,000-character value in each of the fields is a body of several megabytes, and encoding it
# again for every route was about 7% of the walk. The bytes are what the test client makes of the
# same dict.
_HOSTILE_BODIES: dict[str, bytes] = {}


def _hostile_body(key: str) -> bytes:
    if key not in _HOSTILE_BODIES:
        _HOSTILE_BODIES[key] = urlencode(dict.fromkeys(FORM_FIELDS, HOSTILE[key])).encode()
    return _HOSTILE_BODIES[key]


class Walk:
    """Sends requests and collects what went wrong, so one run reports every defect at once."""

    def __init__(self, client):
        self.client, self.problems, self.sent = client, [], 0
        # The fingerprint after a refused request is the one before the next: nothing else writes
        # between two requests of a walk, so it is not read twice.
        self._known: int | None = None

    def send(self, method: str, url: str, data=None, label: str = ""):
        before = _fingerprint() if self._known is None else self._known
        self._known = None
        if isinstance(data, bytes):
            response = self.client.open(url, method=method, data=data,
                                        content_type="application/x-www-form-urlencoded")
        else:
            response = self.client.open(url, method=method, data=data)
        self.sent += 1
        body = response.get_data(as_text=True) if response.mimetype.startswith(("text/", "application/json")) else ""
        status = response.status_code
        where = f"{method} {url[:120]!r} [{label}] -> {status}"
        if status >= 500:
            self.problems.append(f"{where}: server error")
        if "Traceback" in body or 'File "/' in body:
            self.problems.append(f"{where}: traceback in the body")
        if status in ERROR_STATUSES and f"Error {status}" in body and PLANTED in body:
            self.problems.append(f"{where}: the error page repeats the planted personal value")
        location = response.headers.get("Location", "")
        if PLANTED in location or quote(PLANTED) in location:
            if PLANTED not in url and quote(PLANTED) not in url:
                self.problems.append(f"{where}: a personal value put into the redirect URL")
        if 400 <= status < 500:
            self._known = _fingerprint()
            if self._known != before:
                self.problems.append(f"{where}: refused, yet the database changed")
        return response


def _walk_route(app, client, world, endpoint, rule_text):
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint and r.rule == rule_text)
    walk = Walk(client)
    url = _build(rule, world)
    methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
    for method in methods:
        if method == "GET":
            walk.send("GET", url, label="plain")
            for query in ODD_QUERIES:
                walk.send("GET", f"{url}?{urlencode(query)}", label=f"query {query}")
            for key, value in HOSTILE.items():
                if key == "long":
                    value = value[:8000]  # a URL, not a body: proxies cut far earlier
                walk.send("GET", f"{url}?{urlencode(dict.fromkeys(QUERY_PARAMS, value))}", label=f"query {key}")
        else:
            walk.send(method, url, data={}, label="missing fields")
            for key in HOSTILE:
                walk.send(method, url, data=_hostile_body(key), label=f"fields {key}")
    for method in WRONG_METHODS:
        if method not in rule.methods:
            walk.send(method, url, data={"x": PLANTED}, label="wrong method")
    for name in rule.arguments:
        converter = rule._converters.get(name)
        if isinstance(converter, AnyConverter):
            candidates = ("exe", "PDF", "pdf.zip")
        elif isinstance(converter, IntegerConverter):
            candidates = UNKNOWN_INTS
        else:
            candidates = UNKNOWN_STRINGS
        for candidate in candidates:
            if isinstance(converter, AnyConverter):  # its builder refuses other values: swap the suffix
                valid = sorted(converter.items)[0]
                target = _build(rule, world).replace(f".{valid}", f".{candidate}")
            else:
                target = _build(rule, world, {name: candidate})
            walk.send(methods[0], target, data={}, label=f"unknown {name}")
    return walk


@pytest.mark.parametrize(("endpoint", "rule_text"), RULES)
def test_every_route_survives_bad_input_as_a_fully_privileged_user(app, client, db, world, login_as,
                                                                   endpoint, rule_text):
    login_as(_walker(db, world))
    if endpoint == "auth.logout":
        pytest.skip("logging out ends the walk; the guest walk covers it")
    walk = _walk_route(app, client, world, endpoint, rule_text)
    assert not walk.problems, "\n".join(walk.problems)
    assert walk.sent >= 5
    assert client.get("/account").status_code == 200  # still logged in: no input ended the session


@pytest.mark.parametrize(("endpoint", "rule_text"), RULES)
def test_every_route_survives_bad_input_as_a_guest(app, client, world, endpoint, rule_text):
    walk = _walk_route(app, client, world, endpoint, rule_text)
    assert not walk.problems, "\n".join(walk.problems)
    assert walk.sent >= 5


def test_the_walk_reaches_every_kind_of_view(app):
    """Guard against a walk that silently skips: every form-bearing route is in the list."""
    endpoints = {param.values[0] for param in RULES}
    assert {"members.create", "privacy.register_request", "intake.form", "admin.user_new",
            "privacy.retention_edit", "privacy.legal_hold_place", "privacy.erasure_execute"} <= endpoints
    assert {"email", "first_name", "requester_name", "reason", "period_months", "member_number"} <= set(FORM_FIELDS)


def test_the_detector_notices_a_server_error_and_a_change_on_refusal(make_app):
    """The walk's checks are real: a failing view and a refusal that wrote are both reported."""
    other = make_app()

    @other.get("/__test_boom")
    @public
    def boom():
        raise RuntimeError(PLANTED)

    @other.post("/__test_refuse_after_writing")
    @public
    def refuse_after_writing():
        _db.session.add(Role(name="written by a refusal"))
        _db.session.commit()
        return "no", 422

    @other.post("/__test_refuse_after_renaming")
    @public
    def refuse_after_renaming():
        role = _db.session.scalars(select(Role).where(Role.name == "written by a refusal")).one()
        role.name = "renamed by a refusal"
        _db.session.commit()
        return "no", 409

    @other.post("/__test_refuse_after_deleting")
    @public
    def refuse_after_deleting():
        _db.session.execute(delete(Role).where(Role.name == "renamed by a refusal"))
        _db.session.commit()
        return "no", 410

    @other.post("/__test_refuse_after_bookkeeping")
    @public
    def refuse_after_bookkeeping():
        _db.session.execute(update(User).values(failed_login_count=User.failed_login_count + 1))  # not watched: moves on logins
        _db.session.execute(update(Role).values(name=Role.name))  # writes, yet changes no value
        _db.session.execute(delete(Role).where(Role.id < 0))  # deletes, yet removes no row
        _db.session.commit()
        return "no", 429

    walk = Walk(other.test_client())
    page = walk.send("GET", "/__test_boom")
    walk.send("POST", "/__test_refuse_after_writing")
    assert PLANTED not in page.get_data(as_text=True)  # the exception text never reaches the page
    assert any("server error" in problem for problem in walk.problems)
    assert [p for p in walk.problems if "database changed" in p] == [
        "POST '/__test_refuse_after_writing' [] -> 422: refused, yet the database changed"]
    walk.send("POST", "/__test_refuse_after_renaming")
    assert "POST '/__test_refuse_after_renaming' [] -> 409: refused, yet the database changed" in walk.problems
    walk.send("POST", "/__test_refuse_after_deleting")
    assert "POST '/__test_refuse_after_deleting' [] -> 410: refused, yet the database changed" in walk.problems
    problems = len(walk.problems)
    walk.send("POST", "/__test_refuse_after_bookkeeping")
    assert len(walk.problems) == problems


# --- one field at a time: a valid form with a single hostile value -----------------------------

# A valid submission per form; each field in turn is replaced by a hostile value, so a value
# reaches the service and the database instead of being stopped by another field's check.
VALID_FORMS = {
    "members.create": {"first_name": "Jörg", "last_name": "Müller", "date_of_birth": "1985-04-12", "gender": "male",
                       "email": "jorg@example.de", "phone": "0612345678", "street": "Oudegracht",
                       "house_number": "12a", "postcode": "3511ab", "city": "Utrecht", "country": "NL",
                       "iban": "NL91 ABNA 0417 1643 00", "joined_on": "2026-01-05"},
    "members.edit": {"first_name": "Ottoline", "infix": "van", "last_name": "Vreeswijk", "date_of_birth": "1980-02-02",
                     "email": "ottoline@vreeswijk.example", "city": "Utrecht", "country": "NL", "postcode": "3511 AB"},
    "members.end": {"ended_on": "2026-06-01"},
    "members.add_subscription": {"plan_id": "{plan_id}", "starts_on": "2026-06-01", "ends_on": "2026-12-31",
                                 "monthly_fee": "29.95"},
    "plans.new": {"name": "Zwemmen 10-rittenkaart", "name_en": "Swimming ten-ride card", "plan_group": "swimming",
                  "period": "ten_ride", "price": "45.00", "egym_membership_type": ""},
    "plans.edit": {"name": "All-in", "name_en": "All inclusive", "plan_group": "fitness", "period": "month",
                   "price": "39.50", "renews": "y", "egym_membership_type": "PREMIUM"},
    "members.add_consent": {"purpose": "photos", "via": "desk"},
    "members.withdraw_consent": {"via": "email"},
    "members.add_note": {"body": "Asked about the sauna"},
    "members.add_health_note": {"health-body": "Sore shoulder"},
    "members.checkin": {"member_number": "1001", "next": "/members"},
    "privacy.register_request": {"kind": "access", "channel": "desk", "received_on": "2026-06-10",
                                 "requester_name": "Ottoline Vreeswijk", "requester_email": "o@vreeswijk.example",
                                 "requester_date_of_birth": "1980-02-02", "requester_member_number": "1001",
                                 "message": "Please send my data"},
    "privacy.extend": {"new_due_on": "2026-08-01", "reason": "Many records to collect"},
    "privacy.identity": {"member_number": "1001", "method": "Passport at the desk"},
    "privacy.rectification": {"note": "Corrected the street"},
    "privacy.close": {"status": "refused", "outcome": "Not a member"},
    "privacy.objection": {"consents": "1"},
    "privacy.erasure_ground": {"ground": "none", "reason": "Invoices still open"},
    "privacy.erasure_decision": {"decision": "refuse", "reason": "Dispute pending"},
    "privacy.erasure_method": {"method": "anonymise"},
    "privacy.erasure_execute": {"member_number": "1001"},
    "privacy.request_export_handed_over": {"method": "desk"},
    "privacy.retention_edit": {"period_months": "12", "counted_from": "visit", "action": "delete",
                               "basis": "Only needed for a year.", "enabled": "y"},
    "privacy.legal_hold_place": {"reason": "Claim about an injury"},
    "intake.form": {"name": "Ottoline Vreeswijk", "email": "o@vreeswijk.example", "member_number": "1001",
                    "date_of_birth": "1980-02-02", "kind": "access", "message": "My data please"},
    "admin.user_new": {"full_name": "New Coach", "username": "coach2", "email": "coach@club.example",
                       "temporary_password": "Tulip-window-bicycle-7"},
    "admin.user_edit": {"full_name": "Target User", "username": "target", "email": "target@club.example"},
    "admin.user_reset_password": {"temporary_password": "Tulip-window-bicycle-8"},
    "admin.role_new": {"name": "Helpers", "description": "Helps out", "permissions": "members.view"},
    "admin.role_edit": {"name": "Spare role", "description": "Spare", "permissions": "members.view"},
    "auth.login": {"username": "someone", "password": "whatever"},
    "auth.change_password": {"current_password": "x", "new_password": "Tulip-window-bicycle-9",
                             "confirm": "Tulip-window-bicycle-9"},
    "core.set_language": {"lang": "en", "next": "/members"},
    # GET forms: the values go into the query string
    "admin.audit": {"actor": "target", "action": "member.view", "member_number": "1001",
                    "date_from": "2026-01-01", "date_to": "2026-12-31"},
    "members.index": {"q": "Ottoline", "status": "all", "sort": "number", "dir": "desc", "page": "1"},
    "privacy.requests": {"filter": "all", "kind": "access", "status": "received", "page": "1"},
}
GET_FORMS = {"admin.audit", "members.index", "privacy.requests"}


def _rule_of(app, endpoint):
    return next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint and
                ("GET" in r.methods if endpoint in GET_FORMS else "POST" in r.methods))


def _nul_in_database() -> list[str]:
    """The watched tables with a NUL byte in a text value, once per such row, as committed.

    Read through the watch's own connection, on PostgreSQL in one round trip for all the tables.
    """
    tables = (*WATCHED_TABLES, "users")
    cursor = _READER["cursor"]
    if _READER["dialect"] == "sqlite":
        results = [cursor.execute(f"SELECT * FROM {table}").fetchall() for table in tables]  # noqa: S608 - fixed names
    else:
        cursor.execute("; ".join(f"SELECT * FROM {table}" for table in tables))  # noqa: S608 - fixed names
        results = [cursor.fetchall()]
        while cursor.nextset():
            results.append(cursor.fetchall())
    return [table for table, rows in zip(tables, results, strict=True) for row in rows
            if any(isinstance(value, str) and "\x00" in value for value in row)]


@pytest.mark.parametrize("hostile", sorted(HOSTILE))
@pytest.mark.parametrize("endpoint", sorted(VALID_FORMS))
def test_each_form_field_alone_survives_a_hostile_value(app, client, db, world, login_as, endpoint, hostile):
    login_as(_walker(db, world))
    rule = _rule_of(app, endpoint)
    url = _build(rule, world)
    walk = Walk(client)
    # "{name}" stands for an object's id in this test's world (ids differ per database).
    valid = {key: str(world[value[1:-1]]) if value.startswith("{") else value
             for key, value in VALID_FORMS[endpoint].items()}
    for field in valid:
        data = {**valid, field: HOSTILE[hostile]}
        if endpoint in GET_FORMS:
            walk.send("GET", f"{url}?{urlencode(data)}", label=f"{field}={hostile}")
        else:
            walk.send("POST", url, data=data, label=f"{field}={hostile}")
    assert not walk.problems, "\n".join(walk.problems)
    assert _nul_in_database() == []  # a NUL byte is never stored (PostgreSQL could not even take it)
