"""TechnoGym (Mywellness cloud, server to server): the field declaration and the HTTP client.

TechnoGym gives its API documentation to partners only. Every fact this module relies on
comes from integrators' public descriptions (see ../shared/partners/README.md) and is
*unverified*; that is why all of them live here, in one small module, easy to correct:

- the facility gets a facility URL, an application id, an API key and an integration user;
- `POST {facility URL}/application/{applicationId}/AccessIntegration` with the headers
  `X-MWAPPS-CLIENT: thirdParties` and `X-MWAPPS-APIKEY` and a body holding the key, the
  user name and the password answers a token (valid about 30 minutes) and the facility id;
- `.../core/facility/{facilityId}/CreateFacilityUserFromThirdParty` answers `Created`,
  `MatchFound` or `UserEmailAndDataMatchFound` (with candidates: a case for staff);
- `.../core/facility/{facilityId}/GetFacilityUserFromExternalId` finds a user by our id;
- `.../core/facilityuser/{userId}/Update`, `.../SaveMembership` (operation Subscribe, Renew,
  UnSubscribe, Update, Froze, UnFroze) and `.../Delete`;
- errors come back in an `errors` list in the body (also with HTTP 200).

Assumptions of ours (marked where used): the token travels as `Authorization: Bearer`,
answers carry their values in `data` (a bare object is read too), a look-up of an unknown
external id answers an error code containing "NotFound".
"""

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from flask_babel import lazy_gettext as _l

from app.services.connectors import plans
from app.services.connectors.declaration import Declaration, Field
from app.services.connectors.egym import PartnerError

GENDERS = {"male": "M", "female": "F"}  # TechnoGym knows M and F only (as integrators describe it)
TIMEOUT_DEFAULT = 10.0
TOKEN_SECONDS = 25 * 60  # the token lives about 30 minutes; we renew it a little before
CLIENT_HEADER = ("X-MWAPPS-CLIENT", "thirdParties")
CHANNEL = "Mywellness server-to-server"

# SaveMembership operations, and what we remember having told TechnoGym (ConnectorMember.partner_state).
SUBSCRIBED, FROZEN, UNSUBSCRIBED = "subscribed", "frozen", "unsubscribed"
MATCH_RESULTS = {"MatchFound": "matchFound", "UserEmailAndDataMatchFound": "userEmailAndDataMatchFound"}


def _date(value):
    return value.isoformat() if value else None


def _expiry(member):
    if member.ended_on:
        return member.ended_on.isoformat()
    subscription = plans.current_subscription(member)
    return _date(subscription.ends_on) if subscription is not None else None


def _start(member):
    subscription = plans.current_subscription(member)
    return _date(subscription.starts_on if subscription is not None else member.joined_on)


def _last_name(member):
    return " ".join(part for part in (member.infix, member.last_name) if part) or None


def _address(member):
    return " ".join(part for part in (member.street, member.house_number) if part) or None


# The personal fields go to CreateFacilityUserFromThirdParty and Update; `membership.*` to SaveMembership.
DECLARATION = Declaration(
    key="technogym",
    display_name="TechnoGym",
    consent_purpose="technogym",
    channel=CHANNEL,
    fields=(
        Field("firstName", _l("First name"), lambda m: m.first_name or None, required=True),
        Field("lastName", _l("Last name (with infix)"), _last_name, required=True),
        Field("email", _l("Email address"), lambda m: (m.email or "").strip() or None, required=True),
        Field("dateOfBirth", _l("Date of birth"), lambda m: _date(m.date_of_birth), required=True),
        Field("gender", _l("Gender (M or F)"), lambda m: GENDERS.get(m.gender or ""), required=True),
        Field("externalId", _l("Member number (as external id)"), lambda m: str(m.member_number), required=True),
        Field("membership.memberSince", _l("Member since"), lambda m: _date(m.joined_on), required=True),
        Field("membership.startDate", _l("Membership start date"), _start, required=True),
        Field("membership.expiryDate", _l("Membership end date"), _expiry),
        Field("address", _l("Street and house number"), _address, optional=True),
        Field("zipCode", _l("Postcode"), lambda m: m.postcode or None, optional=True),
        Field("city", _l("City"), lambda m: m.city or None, optional=True),
        Field("mobilePhoneNumber", _l("Phone number"), lambda m: m.phone or None, optional=True),
    ),
)

IDENTITY = ("firstName", "lastName", "email", "dateOfBirth", "gender", "externalId")


class CandidatesError(PartnerError):
    """TechnoGym found people who may be this member: staff choose one (or resolve it in Mywellness)."""

    def __init__(self, code: str, candidates: list[str]):
        super().__init__(200, code, False)
        self.candidates = candidates


def membership_operation(previous: str | None, member, same_subscription: bool) -> tuple[str, str]:
    """SaveMembership's operation for this member now, and the state it leaves at TechnoGym."""
    subscription = plans.current_subscription(member)
    if member.status != "active" or subscription is None or subscription.status == "ended":
        return "UnSubscribe", UNSUBSCRIBED
    if subscription.status == "frozen":
        return ("Update" if previous == FROZEN else "Froze"), FROZEN
    if previous == FROZEN:
        return "UnFroze", SUBSCRIBED
    if previous == SUBSCRIBED:
        return ("Update" if same_subscription else "Renew"), SUBSCRIBED
    return "Subscribe", SUBSCRIBED


_TOKENS: dict[tuple, tuple[str, str, float]] = {}  # (url, app, user) -> (token, facility id, expires); memory only
_TOKENS_LOCK = threading.Lock()


def forget_tokens() -> None:
    with _TOKENS_LOCK:
        _TOKENS.clear()


class TechnogymClient:
    """The few Mywellness calls the connector makes. Bodies never reach a log."""

    def __init__(self, base_url: str, application_id: str, api_key: str, username: str, password: str,
                 timeout: float = TIMEOUT_DEFAULT):
        self.base_url = base_url.rstrip("/")
        self.application_id = application_id
        self.api_key = api_key
        self.username = username
        self.password = password
        self.timeout = timeout

    # --- transport ---------------------------------------------------------------------

    def _post(self, path: str, body: dict, token: str | None) -> dict:
        url = self.base_url + path
        if not url.startswith(("https://", "http://")):  # settings.clean_base_url allows nothing else
            raise PartnerError(0, "badUrl", False)
        request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")  # noqa: S310
        request.add_header(*CLIENT_HEADER)
        request.add_header("X-MWAPPS-APIKEY", self.api_key)
        request.add_header("Content-Type", "application/json")
        request.add_header("Accept", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")  # our assumption (unverified)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310  # nosec B310 - scheme checked above
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
            if status == 429 or status >= 500:
                retry_after = error.headers.get("Retry-After")
                try:
                    wait = float(retry_after) if retry_after else None
                except ValueError:
                    wait = None
                raise PartnerError(status, f"http{status}", True, wait) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError):
            raise PartnerError(0, "unreachable", True) from None
        try:
            answer = json.loads(raw) if raw else {}
        except ValueError:
            raise PartnerError(status, "badResponse", False) from None
        if not isinstance(answer, dict):
            raise PartnerError(status, "badResponse", False)
        errors = answer.get("errors") or []
        if errors:
            first = errors[0] if isinstance(errors[0], dict) else {"errorMessage": str(errors[0])}
            # Only a code of theirs, never their message (it may quote the member's data).
            code = str(first.get("errorCode") or first.get("code") or first.get("field") or "error")[:60]
            raise PartnerError(status, code, False)
        if status == 401:
            raise PartnerError(401, "unauthorized", False)
        if status >= 400:
            raise PartnerError(status, f"http{status}", False)
        data = answer.get("data", answer)
        return data if isinstance(data, dict) else {}

    def _session(self, renew: bool = False) -> tuple[str, str]:
        key = (self.base_url, self.application_id, self.username)
        with _TOKENS_LOCK:
            cached = _TOKENS.get(key)
        if cached and not renew and cached[2] > time.monotonic():
            return cached[0], cached[1]
        data = self._post(f"/application/{urllib.parse.quote(self.application_id, safe='')}/AccessIntegration",
                          {"apiKey": self.api_key, "username": self.username, "password": self.password}, None)
        token, facility = data.get("token"), data.get("facilityId")
        if not token or not facility:
            raise PartnerError(200, "noToken", False)
        with _TOKENS_LOCK:
            _TOKENS[key] = (str(token), str(facility), time.monotonic() + TOKEN_SECONDS)
        return str(token), str(facility)

    def _call(self, path_of, body: dict) -> dict:
        """A call with the session's token; a token refused (expired early) is renewed once."""
        token, facility = self._session()
        try:
            return self._post(path_of(facility), body, token)
        except PartnerError as error:
            if error.status != 401 and error.code not in ("TokenExpired", "InvalidToken"):
                raise
        token, facility = self._session(renew=True)
        return self._post(path_of(facility), body, token)

    @staticmethod
    def _user_path(user_id: str, action: str) -> str:
        return f"/core/facilityuser/{urllib.parse.quote(user_id, safe='')}/{action}"

    # --- the calls ---------------------------------------------------------------------

    def find_by_external_id(self, external_id: str) -> str | None:
        try:
            data = self._call(lambda f: f"/core/facility/{urllib.parse.quote(f, safe='')}/GetFacilityUserFromExternalId",
                              {"externalId": external_id})
        except PartnerError as error:
            if "notfound" in error.code.lower() or error.status == 404:
                return None
            raise
        user_id = data.get("userId") or data.get("id")
        return str(user_id) if user_id else None

    def create(self, identity: dict) -> str:
        data = self._call(
            lambda f: f"/core/facility/{urllib.parse.quote(f, safe='')}/CreateFacilityUserFromThirdParty", identity)
        result = data.get("result")
        if result in MATCH_RESULTS:
            candidates = [str(c.get("userId") or c.get("id")) for c in data.get("matchedUsers") or data.get("users") or []
                          if isinstance(c, dict) and (c.get("userId") or c.get("id"))]
            raise CandidatesError(MATCH_RESULTS[result], candidates[:20])
        user_id = data.get("userId") or data.get("id")
        if result != "Created" or not user_id:
            raise PartnerError(200, "noUserId", True)
        return str(user_id)

    def update(self, user_id: str, body: dict) -> None:
        self._call(lambda _f: self._user_path(user_id, "Update"), body)

    def save_membership(self, user_id: str, operation: str, membership: dict) -> None:
        self._call(lambda _f: self._user_path(user_id, "SaveMembership"), dict(membership, operation=operation))

    def delete(self, user_id: str) -> bool:
        """Delete the facility user; False when TechnoGym no longer has them."""
        try:
            self._call(lambda _f: self._user_path(user_id, "Delete"), {})
        except PartnerError as error:
            if "notfound" in error.code.lower() or error.status == 404:
                return False
            raise
        return True

    def test(self) -> None:
        """The access call itself: PartnerError when the URL, application id, key or user is wrong."""
        self._session(renew=True)

    def upsert(self, link, payload: dict, member) -> str:
        """Create or update the facility user and save the membership; returns the user id.

        `link.partner_state` remembers what TechnoGym was told ("subscribed:<our subscription id>",
        "frozen:...", "unsubscribed:..."), so the next call knows Subscribe from Renew or UnFroze.
        """
        previous, _, subscription_ref = (link.partner_state or "").partition(":")
        previous = previous or None
        membership = payload.get("membership") or {}
        personal = {k: v for k, v in payload.items() if k != "membership"}
        user_id = link.account_id or self.find_by_external_id(personal["externalId"])
        if user_id:
            try:
                self.update(user_id, personal)
            except PartnerError as error:
                if "notfound" not in error.code.lower() and error.status != 404:
                    raise
                user_id, previous = None, None  # removed at TechnoGym meanwhile: create again
        if not user_id:
            user_id = self.create({k: personal[k] for k in IDENTITY if k in personal})
            link.account_id = user_id  # known from now on, even when a later call fails
            if set(personal) - set(IDENTITY):
                self.update(user_id, personal)
            previous = None
        subscription = plans.current_subscription(member)
        ref = str(subscription.id) if subscription is not None else ""
        operation, state = membership_operation(previous, member, same_subscription=ref == subscription_ref)
        if not (operation == "UnSubscribe" and previous in (None, UNSUBSCRIBED)):
            self.save_membership(user_id, operation, membership)
        link.partner_state = f"{state}:{ref}"[:40]
        return user_id


ERROR_TEXTS = {
    "matchFound": _l("TechnoGym already has a person who may be this member. Choose the right TechnoGym user "
                     "below, or resolve it in Mywellness and retry."),
    "userEmailAndDataMatchFound": _l("TechnoGym has a person with this email address and the same details. Choose "
                                     "the right TechnoGym user below, or resolve it in Mywellness and retry."),
    "unauthorized": _l("TechnoGym refused the key or the integration user. Enter them again on the settings page."),
    "noToken": _l("TechnoGym's access call gave no token: check the facility URL, application id and integration user."),
    "badResponse": _l("The partner answered with something that is not the Mywellness API (check the facility URL)."),
    "unreachable": _l("TechnoGym could not be reached."),
    "keyUnreadable": _l("The stored API key cannot be decrypted with this installation's key file. Enter the key again."),
}
