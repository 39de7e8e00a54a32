"""A loopback server that behaves as integrators describe TechnoGym's Mywellness server-to-server API.

(TechnoGym documents it for partners only: see ../shared/partners/README.md.) It checks the
`X-MWAPPS-CLIENT: thirdParties` and `X-MWAPPS-APIKEY` headers on every call, answers the
access call with a token and the facility id, refuses calls without a valid token (a test can
expire them all), keeps facility users unique by external id, answers `MatchFound` (same
email) or `UserEmailAndDataMatchFound` (same email, name and birth date) with candidates
instead of creating a duplicate, checks that SaveMembership operations follow each other in
a possible order, reports errors in an `errors` list in the body, and can be taken down (503).
"""

import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

IDENTITY = {"firstName", "lastName", "email", "dateOfBirth", "gender", "externalId"}
UPDATABLE = IDENTITY | {"address", "zipCode", "city", "mobilePhoneNumber"}
MEMBERSHIP = {"operation", "memberSince", "startDate", "expiryDate"}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# operation -> the membership states it may follow (None: no membership yet)
ALLOWED_AFTER = {
    "Subscribe": {None, "unsubscribed"},
    "Renew": {"subscribed"},
    "Update": {"subscribed", "frozen"},
    "Froze": {"subscribed"},
    "UnFroze": {"frozen"},
    "UnSubscribe": {"subscribed", "frozen"},
}
STATE_AFTER = {"Subscribe": "subscribed", "Renew": "subscribed", "Froze": "frozen", "UnFroze": "subscribed",
               "UnSubscribe": "unsubscribed"}


class FakeTechnogym:
    def __init__(self, api_key="tg-key-456", application_id="clubhouse-app", username="integration@club",
                 password="s3cret-pass", facility_id="fac-0001"):  # noqa: S107 - the test server's own credentials
        self.api_key, self.application_id = api_key, application_id
        self.username, self.password, self.facility_id = username, password, facility_id
        self.tokens: set[str] = set()
        self.users: dict[str, dict] = {}
        self.requests: list[dict] = []  # action, path, body, headers, answer
        self.invalid: list[str] = []  # what a body did wrong
        self.deletions: list[str] = []
        self.down = False
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        """The facility URL TechnoGym gives the club."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/clubhouse-test"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def expire_tokens(self):
        with self.lock:
            self.tokens.clear()

    def add_user(self, **fields) -> str:
        """A person already in Mywellness (made at the club's desk, or by another system)."""
        user_id = uuid.uuid4().hex[:12]
        self.users[user_id] = dict(fields, userId=user_id, membership=None, membershipState=None)
        return user_id

    def by_external_id(self, external_id):
        return next((u for u in self.users.values() if u.get("externalId") == external_id), None)

    def calls(self, action=None):
        return [r for r in self.requests if action is None or r["action"] == action]

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                path = unquote(urlsplit(self.path).path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = None
                action = path.rsplit("/", 1)[-1]
                record = {"action": action, "path": path, "body": body,
                          "headers": {k.lower(): v for k, v in self.headers.items()}}
                with fake.lock:
                    fake.requests.append(record)
                    status, answer = self._route(path, action, body)
                    record["answer"] = answer
                self._send(status, answer)

            @staticmethod
            def _errors(code, message="", status=200):
                return status, {"data": None, "errors": [{"errorCode": code, "errorMessage": message}]}

            @staticmethod
            def _ok(data):
                return 200, {"data": data, "errors": []}

            def _route(self, path, action, body):
                if fake.down:
                    return self._errors("ServiceUnavailable", "down for maintenance", 503)
                if (self.headers.get("X-MWAPPS-CLIENT") != "thirdParties"
                        or self.headers.get("X-MWAPPS-APIKEY") != fake.api_key):
                    return self._errors("unauthorized", "missing or wrong application headers", 401)
                if not isinstance(body, dict):
                    fake.invalid.append(f"{action}: the body is not a JSON object")
                    return self._errors("BadRequest", "body", 400)
                prefix = urlsplit(fake.url).path
                if not path.startswith(prefix + "/"):
                    return self._errors("NotFound", "no such facility", 404)
                parts = path[len(prefix) + 1:].split("/")
                if parts == ["application", fake.application_id, "AccessIntegration"]:
                    if (body.get("apiKey"), body.get("username"), body.get("password")) != (
                            fake.api_key, fake.username, fake.password):
                        return self._errors("unauthorized", "wrong integration user", 401)
                    token = uuid.uuid4().hex
                    fake.tokens.add(token)
                    return self._ok({"token": token, "facilityId": fake.facility_id})
                auth = self.headers.get("Authorization") or ""
                if not auth.startswith("Bearer ") or auth[len("Bearer "):] not in fake.tokens:
                    return self._errors("TokenExpired", "the token is not valid", 401)
                if parts[:3] == ["core", "facility", fake.facility_id] and len(parts) == 4:
                    if action == "CreateFacilityUserFromThirdParty":
                        return self._create(body)
                    if action == "GetFacilityUserFromExternalId":
                        user = fake.by_external_id(body.get("externalId"))
                        return self._ok({"userId": user["userId"]}) if user else self._errors("FacilityUserNotFound")
                if parts[:2] == ["core", "facilityuser"] and len(parts) == 4:
                    user = fake.users.get(parts[2])
                    if user is None:
                        return self._errors("FacilityUserNotFound")
                    if action == "Update":
                        return self._update(user, body)
                    if action == "SaveMembership":
                        return self._membership(user, body)
                    if action == "Delete":
                        del fake.users[user["userId"]]
                        fake.deletions.append(user["userId"])
                        return self._ok({"result": "Deleted"})
                return self._errors("NotFound", "no such call", 404)

            def _check_identity(self, body, required):
                problems = [f"unknown field {k}" for k in body if k not in UPDATABLE]
                problems += [f"missing {k}" for k in required if not body.get(k)]
                if "gender" in body and body["gender"] not in ("M", "F"):
                    problems.append("gender must be M or F")
                if body.get("dateOfBirth") and not DATE.match(body["dateOfBirth"]):
                    problems.append("dateOfBirth must be yyyy-MM-dd")
                return problems

            def _create(self, body):
                problems = self._check_identity(body, IDENTITY)
                problems += [f"{k} is not for this call" for k in body if k not in IDENTITY]
                if problems:
                    fake.invalid.extend(problems)
                    return self._errors("ValidationError", "; ".join(problems))
                if fake.by_external_id(body["externalId"]):
                    return self._errors("ExternalIdAlreadyUsed")
                same_email = [u for u in fake.users.values() if (u.get("email") or "").lower() == body["email"].lower()]
                if same_email:
                    same_data = [u for u in same_email
                                 if all(u.get(k) == body[k] for k in ("firstName", "lastName", "dateOfBirth"))]
                    result = "UserEmailAndDataMatchFound" if same_data else "MatchFound"
                    return self._ok({"result": result, "matchedUsers": [
                        {"userId": u["userId"], "firstName": u.get("firstName"), "lastName": u.get("lastName")}
                        for u in (same_data or same_email)]})
                user_id = fake.add_user(**body)
                return self._ok({"result": "Created", "userId": user_id})

            def _update(self, user, body):
                problems = self._check_identity(body, ())
                if problems:
                    fake.invalid.extend(problems)
                    return self._errors("ValidationError", "; ".join(problems))
                user.update(body)
                return self._ok({"result": "Updated"})

            def _membership(self, user, body):
                problems = [f"unknown field {k}" for k in body if k not in MEMBERSHIP]
                operation = body.get("operation")
                if operation not in ALLOWED_AFTER:
                    problems.append(f"unknown operation {operation!r}")
                for key in ("memberSince", "startDate", "expiryDate"):
                    if body.get(key) and not DATE.match(body[key]):
                        problems.append(f"{key} must be yyyy-MM-dd")
                if problems:
                    fake.invalid.extend(problems)
                    return self._errors("ValidationError", "; ".join(problems))
                if user["membershipState"] not in ALLOWED_AFTER[operation]:
                    fake.invalid.append(f"{operation} after {user['membershipState']}")
                    return self._errors("InvalidMembershipOperation")
                user["membership"] = {k: v for k, v in body.items() if k != "operation"}
                user["membershipState"] = STATE_AFTER.get(operation, user["membershipState"])
                user.setdefault("operations", []).append(operation)
                return self._ok({"result": "Saved"})

        return Handler
