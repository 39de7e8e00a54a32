"""A loopback server that behaves as eGym's MMS API v2 document says, for the connector tests.

It checks the x-api-key header, validates every request body against the document's
schemas (and records any body that fails), keeps accounts unique by email and membership
id (409 userEmailConflict / membershipExists), spends a token bucket per request (429 when
empty; the test refills it, so no test waits on a clock), and can be switched into an
outage (503) or told to fail the next calls, or to hold its answers for a while.
"""

import json
import os
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

# eGym's published document is read where it lies, in the shared folder beside the checkout (as CI
# lays it out; EGYM_OPENAPI names another copy): it is eGym's text, not copied into this repository.
_BESIDE = Path(__file__).resolve().parents[3] / "shared" / "partners" / "egym-mms-api-v2.openapi.json"
DOCUMENT = Path(os.environ.get("EGYM_OPENAPI") or (_BESIDE if _BESIDE.exists()
                                                   else "/work/shared/partners/egym-mms-api-v2.openapi.json"))
MISSING = None if DOCUMENT.exists() else (
    f"eGym's OpenAPI document is not at {DOCUMENT}: put ../shared/partners/ beside the checkout or set EGYM_OPENAPI")
SPEC = json.loads(DOCUMENT.read_text()) if MISSING is None else {"components": {"schemas": {}}}
REGISTRY = Registry().with_resource("urn:egym", Resource.from_contents(SPEC, default_specification=DRAFT202012))


def _validator(name: str):
    return jsonschema.Draft202012Validator({"$ref": f"urn:egym#/components/schemas/{name}"}, registry=REGISTRY,
                                           format_checker=jsonschema.FormatChecker())


VALIDATORS = {} if MISSING else {name: _validator(name)
                                   for name in ("MemberAccountDTO", "PatchMemberAccountDTO", "ErrorDTO")}


class FakeEgym:
    def __init__(self, api_key: str = "test-key-123", capacity: int = 60):
        self.api_key = api_key
        self.capacity = capacity
        self.tokens = capacity
        self.accounts: dict[str, dict] = {}
        self.requests: list[dict] = []  # method, path, query, body, status
        self.invalid: list[tuple[str, str]] = []  # (schema, message)
        self.down = False
        self.fail_next = 0
        self.deletions: list[str] = []  # account ids really erased
        # Cleared, every call waits (up to 30 s) until it is set again: a test decides when eGym answers.
        self.answering = threading.Event()
        self.answering.set()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def refill(self, tokens: int | None = None):
        with self.lock:
            self.tokens = min(self.capacity, self.tokens + (tokens if tokens is not None else self.capacity))

    def by_membership(self, membership_id: str):
        return next((a for a in self.accounts.values() if a["membership"]["membershipId"] == membership_id), None)

    def calls(self, method: str | None = None, prefix: str = "/api/v2/accounts"):
        return [r for r in self.requests if (method is None or r["method"] == method) and r["path"].startswith(prefix)]

    # --- the handler -----------------------------------------------------------------

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status, body=None, headers=None):
                # Recorded before the answer leaves: a test reading the log right after its call sees the status.
                self.record["status"] = status
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                if body is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return status

            def _error(self, status, code, message, path):
                body = {"status": status, "errorCode": code, "message": message, "path": path,
                        "error": code, "requestId": uuid.uuid4().hex[:10]}
                assert not list(VALIDATORS["ErrorDTO"].iter_errors(body))
                return self._send(status, body)

            def _handle(self, method):
                fake.answering.wait(timeout=30)
                parts = urlsplit(self.path)
                path, query = unquote(parts.path), parse_qs(parts.query)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                record = {"method": method, "path": path, "query": query, "body": body, "status": None}
                self.record = record
                with fake.lock:
                    fake.requests.append(record)
                    self._route(method, path, query, body)

            def _route(self, method, path, query, body):
                if self.headers.get("x-api-key") != fake.api_key:
                    return self._error(401, "unauthorized", "Missing or wrong API key", path)
                if fake.down:
                    return self._error(503, "serviceUnavailable", "Down for maintenance", path)
                if fake.fail_next:
                    fake.fail_next -= 1
                    return self._error(500, "internalError", "Something broke", path)
                if fake.tokens <= 0:
                    return self._send(429, {"status": 429, "errorCode": "tooManyRequests", "message": "Slow down"},
                                      {"X-RateLimit-Remaining": "0", "Retry-After": "1"})
                fake.tokens -= 1
                rate = {"X-RateLimit-Remaining": str(fake.tokens)}
                segments = path.split("/")[3:]  # after /api/v2
                if segments[:1] != ["accounts"]:
                    return self._error(404, "notFound", "No such path", path)
                rest = segments[1:]
                if method == "GET" and not rest:
                    items = list(fake.accounts.values())[: int((query.get("limit") or ["100"])[0])]
                    return self._send(200, {"content": items}, rate)
                if method == "GET" and len(rest) == 2 and rest[0] == "membership":
                    account = fake.by_membership(rest[1])
                    return self._send(200, account, rate) if account else self._error(404, "accountNotFound", "Not found", path)
                if method == "POST" and not rest:
                    return self._create(body, path, rate)
                if len(rest) == 1 and rest[0] in fake.accounts:
                    account_id = rest[0]
                    if method == "PATCH":
                        return self._patch(account_id, body, path)
                    if method == "DELETE":
                        if query.get("eraseMemberData") != ["true"]:
                            return self._error(400, "badRequest", "This test server expects eraseMemberData=true", path)
                        del fake.accounts[account_id]
                        fake.deletions.append(account_id)
                        return self._send(204, None, rate)
                    if method == "GET":
                        return self._send(200, fake.accounts[account_id], rate)
                return self._error(404, "accountNotFound", "Not found", path)

            def _check(self, schema, body, path):
                errors = [e.message for e in VALIDATORS[schema].iter_errors(body)]
                if errors:
                    fake.invalid.extend((schema, message) for message in errors)
                    return self._error(400, "validationError", "; ".join(errors)[:300], path)
                return None

            def _conflict(self, body, own_id=None):
                email = (body.get("email") or "").lower()
                membership = (body.get("membership") or {}).get("membershipId")
                for account_id, account in fake.accounts.items():
                    if account_id == own_id:
                        continue
                    if email and account["email"].lower() == email:
                        return "userEmailConflict"
                    if membership and account["membership"]["membershipId"] == membership:
                        return "membershipExists"
                return None

            def _create(self, body, path, rate):
                problem = self._check("MemberAccountDTO", body, path)
                if problem:
                    return problem
                conflict = self._conflict(body)
                if conflict:
                    return self._error(409, conflict, f"Conflict for {body.get('email')}", path)
                account = dict(body, accountId=uuid.uuid4().hex)
                fake.accounts[account["accountId"]] = account
                return self._send(201, account, rate)

            def _patch(self, account_id, body, path):
                problem = self._check("PatchMemberAccountDTO", body, path)
                if problem:
                    return problem
                conflict = self._conflict(body, own_id=account_id)
                if conflict:
                    return self._error(409, conflict, "Conflict", path)
                account = fake.accounts[account_id]
                for key, value in body.items():
                    if isinstance(value, dict):
                        account.setdefault(key, {}).update(value)
                    else:
                        account[key] = value
                return self._send(204)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def do_PATCH(self):
                self._handle("PATCH")

            def do_DELETE(self):
                self._handle("DELETE")

        return Handler
