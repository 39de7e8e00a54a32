"""GET /api/v1/members?limit=100 on many members: p50/p95 against the raw query plus json.dumps.

    PYTHONPATH=. .venv/bin/python bench/api_members_bench.py --members 100000 --requests 300
    BENCH_URL=postgresql+psycopg://postgres@127.0.0.1:5432/SCRATCH_DB PYTHONPATH=. .venv/bin/python bench/api_members_bench.py

Uses a scratch database (default: a SQLite file under /tmp; a PostgreSQL URL is WIPED). A
client with every member field reads pages at random cursors; each request is measured three
ways: the raw query plus json.dumps of the same rows (the floor), the whole Flask stack in
process (guard with the token check and the rate-limit write, the served-members rule,
marshmallow, the transfer log write), and the same over real TLS on loopback (werkzeug's
server with a trustme certificate, one kept-alive connection).
"""

import argparse
import base64
import json
import os
import random
import ssl
import statistics
import tempfile
import threading
import time
from datetime import date

import requests
import trustme
from flask_migrate import upgrade
from sqlalchemy import insert, select, text
from werkzeug.serving import WSGIRequestHandler, make_server

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import Member
from app.services import api_clients
from app.services.privacy_requests import partner_processing_clause

SCRATCH = tempfile.mkdtemp(prefix="clubhouse-bench-")
URL = os.environ.get("BENCH_URL", f"sqlite:///{SCRATCH}/bench.db")


class Quiet(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_request(self, *args, **kwargs):
        pass


def seed(n: int) -> None:
    rows = [dict(member_number=10_000 + i, first_name=f"Voornaam{i}", infix="van" if i % 5 == 0 else None,
                 last_name=f"Achternaam{i}", email=f"lid{i}@example.nl", phone="0612345678", street="Kerkstraat",
                 house_number=str(i % 200), postcode="1234 AB", city="Utrecht", date_of_birth=date(1980, 1, 1),
                 gender="female", joined_on=date(2015, 1, 1), status="active", country="NL", search_text="x",
                 processing_restricted=False) for i in range(n)]
    for start in range(0, n, 10_000):
        db.session.execute(insert(Member), rows[start:start + 10_000])
    db.session.commit()


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


def cursor_for(after_id: int) -> str:
    return base64.urlsafe_b64encode(f"m:{after_id}".encode()).decode().rstrip("=")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    config = type("BenchConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": URL, "API_RATE_LIMIT": 10**9,
                                                  "ERASURE_LEDGER_PATH": f"{SCRATCH}/ledger.jsonl"})
    app = create_app(config)
    with app.app_context():
        if URL.startswith("postgresql"):
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade()
        seed(args.members)
        _client, token = api_clients.create_client(None, name="Bench", scopes=["api.members.read"],
                                                   fields=api_clients.API_FIELDS)
        db.session.commit()
        rng = random.Random(7)
        afters = [rng.randrange(0, max(args.members - 100, 1)) for _ in range(args.requests)]
        fields = api_clients.API_FIELDS

        raw = []
        for after in afters:
            started = time.perf_counter()
            rows = db.session.execute(
                select(*(getattr(Member, f) for f in fields)).where(partner_processing_clause(), Member.id > after)
                .order_by(Member.id).limit(100)).all()
            json.dumps({"data": [dict(zip(fields, row, strict=True)) for row in rows]}, default=str)
            raw.append(time.perf_counter() - started)
        db.session.rollback()

    headers = {"Authorization": f"Bearer {token}"}
    flask_client = app.test_client()
    stack = []
    for after in afters:
        started = time.perf_counter()
        response = flask_client.get(f"/api/v1/members?limit=100&cursor={cursor_for(after)}", headers=headers,
                                    base_url="https://localhost")
        stack.append(time.perf_counter() - started)
        assert response.status_code == 200 and len(response.json["data"]) == 100, response.status_code

    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = f"{SCRATCH}/ca.pem"
    ca.cert_pem.write_to_path(ca_file)
    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=context, request_handler=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    session = requests.Session()
    tls = []
    try:
        for after in afters:
            started = time.perf_counter()
            response = session.get(f"https://127.0.0.1:{server.server_port}/api/v1/members?limit=100"
                                   f"&cursor={cursor_for(after)}", headers=headers, verify=ca_file, timeout=30)
            tls.append(time.perf_counter() - started)
            assert response.status_code == 200
    finally:
        server.shutdown()

    print(f"database: {URL.split(':')[0]}, members: {args.members}, requests per row: {args.requests}")
    for label, values in (("raw query + json.dumps", raw), ("API in process (Flask stack)", stack),
                          ("API over TLS on loopback", tls)):
        print(f"{label:32} p50 {percentile(values, 50):7.1f} ms   p95 {percentile(values, 95):7.1f} ms   "
              f"mean {statistics.mean(values) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
