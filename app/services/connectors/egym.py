"""eGym, member-management API v2: the field declaration and the HTTP client.

Facts from eGym's published OpenAPI document (MMS API v2): the `x-api-key` header is the
gym's scope; an account is found by our membership id before one is created (eGym has no
idempotency key, so a retried create must look again first); PATCH changes an account;
DELETE with eraseMemberData=true removes everything the gym holds there.
"""

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from app.services.connectors import plans
from app.services.connectors.declaration import Declaration, Field

GENDERS = {"male": "MALE", "female": "FEMALE", "other": "NON_BINARY"}
API = "/api/v2"
TIMEOUT_DEFAULT = 10.0


def _date(value):
    return value.isoformat() if value else None


def _end_of_contract(member):
    if member.ended_on:
        return member.ended_on.isoformat()
    subscription = plans.current_subscription(member)
    return _date(subscription.ends_on) if subscription is not None else None


def _last_name(member):
    return " ".join(part for part in (member.infix, member.last_name) if part) or None


DECLARATION = Declaration(
    key="egym",
    display_name="eGym",
    consent_purpose="egym",
    channel="MMS API v2",
    fields=(
        Field("email", _l("Email address"), lambda m: (m.email or "").strip() or None, required=True),
        Field("firstName", _l("First name"), lambda m: m.first_name or None, required=True),
        Field("lastName", _l("Last name (with infix)"), _last_name, required=True),
        Field("gender", _l("Gender"), lambda m: GENDERS.get(m.gender or ""), required=True),
        Field("membership.membershipId", _l("Member number (as membership id)"),
              lambda m: str(m.member_number), required=True),
        Field("membership.membershipType", _l("Membership type (from the plan)"), plans.membership_type, required=True),
        Field("membership.startOfContract", _l("Membership start date"), lambda m: _date(m.joined_on), required=True),
        Field("membership.endOfContract", _l("Membership end date"), _end_of_contract),
        Field("dateOfBirth", _l("Date of birth"), lambda m: _date(m.date_of_birth), optional=True),
        Field("contact.phone", _l("Phone number"), lambda m: m.phone or None, optional=True),
        Field("contact.street", _l("Street"), lambda m: m.street or None, optional=True),
        Field("contact.streetNumber", _l("House number"), lambda m: m.house_number or None, optional=True),
        Field("contact.zipCode", _l("Postcode"), lambda m: m.postcode or None, optional=True),
        Field("contact.city", _l("City"), lambda m: m.city or None, optional=True),
        Field("contact.country", _l("Country"), lambda m: m.country or None, optional=True),
    ),
)


@dataclass
class PartnerError(Exception):
    """A call that did not succeed: HTTP status (0: no answer), eGym's errorCode, whether a retry may help."""

    status: int
    code: str
    retryable: bool
    retry_after: float | None = None

    def __str__(self) -> str:
        return f"{self.status} {self.code}"


class EgymClient:
    """The few MMS API v2 calls the connector makes. Bodies never reach a log."""

    def __init__(self, base_url: str, api_key: str, timeout: float = TIMEOUT_DEFAULT):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict | None = None, query: dict | None = None):
        url = self.base_url + API + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = json.dumps(body).encode() if body is not None else None
        if not url.startswith(("https://", "http://")):  # settings.clean_base_url allows nothing else
            raise PartnerError(0, "badUrl", False)
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - scheme checked above
        request.add_header("x-api-key", self.api_key)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310  # nosec B310 - scheme checked above
                raw = response.read()
                try:
                    answer = json.loads(raw) if raw else None
                except ValueError:  # an HTML page or other non-JSON: most likely a wrong base URL
                    raise PartnerError(response.status, "badResponse", False) from None
                if answer is not None and not isinstance(answer, dict | list):
                    raise PartnerError(response.status, "badResponse", False)
                return response.status, answer
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                problem = json.loads(raw) if raw else {}
            except ValueError:
                problem = {}
            if not isinstance(problem, dict):
                problem = {}
            code = str(problem.get("errorCode") or problem.get("error") or f"http{error.code}")[:60]
            retry_after = error.headers.get("Retry-After")
            try:
                retry_after = float(retry_after) if retry_after else None
            except ValueError:
                retry_after = None
            raise PartnerError(error.code, code, error.code == 429 or error.code >= 500, retry_after) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError):
            raise PartnerError(0, "unreachable", True) from None

    def find_by_membership(self, membership_id: str) -> str | None:
        """The eGym account id for our membership id, or None."""
        try:
            _status, account = self._call("GET", "/accounts/membership/" + urllib.parse.quote(membership_id, safe=""))
        except PartnerError as error:
            if error.status == 404:
                return None
            raise
        return account.get("accountId") if isinstance(account, dict) else None

    def create(self, body: dict) -> str:
        _status, account = self._call("POST", "/accounts", body)
        account_id = account.get("accountId") if isinstance(account, dict) else None
        if not account_id:
            raise PartnerError(201, "noAccountId", True)
        return account_id

    def patch(self, account_id: str, body: dict) -> None:
        self._call("PATCH", "/accounts/" + urllib.parse.quote(account_id, safe=""), body)

    def delete(self, account_id: str) -> bool:
        """Erase the account with all the gym's data; False when eGym no longer has it (already deleted)."""
        try:
            self._call("DELETE", "/accounts/" + urllib.parse.quote(account_id, safe=""), query={"eraseMemberData": "true"})
        except PartnerError as error:
            if error.status == 404:
                return False
            raise
        return True

    def upsert(self, link, payload: dict, _member) -> str:
        """PATCH the account we know (or find by membership id), else create it; returns the account id."""
        account_id = link.account_id or self.find_by_membership(payload["membership"]["membershipId"])
        if account_id:
            try:
                self.patch(account_id, payload)
            except PartnerError as error:
                if error.status != 404:
                    raise
                account_id = None  # removed at eGym meanwhile: create it again
        return account_id or self.create(payload)

    def test(self) -> None:
        """A harmless authenticated call; PartnerError when the key or the address is wrong."""
        self._call("GET", "/accounts", query={"limit": 1, "offset": 0})


# What staff read for eGym's error codes (shown on the overview, never eGym's own message,
# which may quote the member's email address).
ERROR_TEXTS = {
    "badResponse": _l("The partner answered with something that is not eGym's API (check the base URL)."),
    "userEmailConflict": _l(
        "eGym already has an account with this email address. Check the email address or merge the accounts in eGym."),
    "userEmailUsedByAnotherAccountConflict": _l(
        "The email address is used by another eGym account (a family sharing one address?). "
        "Give the member their own address."),
    "membershipExists": _l("eGym already has this membership id on another account. Resolve the duplicate in eGym."),
    "forbiddenAccountMerge": _l("eGym refuses to merge this member with an existing account. Resolve it in eGym."),
    "generalConflict": _l("eGym reports a conflict with an existing account."),
    "missingPermission": _l("The API key lacks a permission for this call. Ask eGym to extend the key."),
    "unreachable": _l("eGym could not be reached."),
    "unauthorized": _l("eGym refused the API key. Enter the key again on the settings page."),
    "keyUnreadable": _l("The stored API key cannot be decrypted with this installation's key file. Enter the key again."),
}
