"""The API's endpoints: thin, they parse (schemas), check the scope, call app/services/partner_api."""

import base64
import binascii
from datetime import UTC, datetime
from functools import wraps

from flask import current_app, g, jsonify, request

from app.api import bp
from app.api import schemas as s
from app.api.problems import problem
from app.auth.decorators import declare_access, public
from app.blueprints.web import client_ip
from app.extensions import db
from app.services import api_clients, member_changes, partner_api
from app.services.partner_api import ApiProblem

ALWAYS_PROBLEMS = (400, 401, 403, 429)


def _problems(*statuses):
    """Document the problem responses an endpoint can give (the guard's ones always)."""

    def decorator(view):
        for status in sorted({*ALWAYS_PROBLEMS, *statuses}, reverse=True):
            view = bp.alt_response(status, response=_status_name(status))(view)
        return view

    return decorator


def _status_name(status: int) -> str:
    from http import HTTPStatus

    return HTTPStatus(status).name


def scope(code: str):
    """The view needs this permission code on the client's roles (403 missing-scope otherwise)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            client = g.get("api_client")
            if client is None:  # the guard answered already; only reached by a misconfiguration
                return problem(401, "token-missing")
            if not client.user.has_permission(code):
                return problem(403, "missing-scope", f"This client's token lacks the scope {code}.")
            return view(*args, **kwargs)

        return declare_access(wrapped, "permission", (code,))

    return decorator


@bp.errorhandler(ApiProblem)
def _api_problem(error: ApiProblem):
    db.session.rollback()
    return problem(error.status, error.code, error.detail, title=error.title)


class _BadCursor(ApiProblem):
    def __init__(self):
        super().__init__(400, "invalid-cursor", "Invalid cursor",
                         "The cursor is not one this API gave out; start again without a cursor.")


def _encode_cursor(kind: str, value: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode().rstrip("=")


def _decode_cursor(kind: str, cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _BadCursor() from None
    prefix, _, number = raw.partition(":")
    if prefix != kind or not number.isdecimal() or len(number) > 12:
        raise _BadCursor()
    return int(number)


def _naive_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    try:
        return moment.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # 0001-01-01T00:00+05:00 lies before the first representable UTC time
        raise ApiProblem(400, "bad-request", "Bad Request", "The time is out of range.") from None


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


def _client():
    return g.api_client


@bp.get("/openapi.json")
@public
@bp.doc(security=[], summary="This document (OpenAPI 3.1)", responses={
    "200": {"description": "The OpenAPI document", "content": {"application/json": {"schema": {"type": "object"}}}},
    "403": {"$ref": "#/components/responses/FORBIDDEN"}})
def openapi_json():
    """The OpenAPI document, generated from the schemas the endpoints use."""
    return jsonify(current_app.extensions["clubhouse_api"].spec.to_dict())


@bp.get("/members")
@scope("api.members.read")
@bp.arguments(s.MembersQuery, location="query")
@bp.response(200, s.MemberPage)
@_problems()
def list_members(query):
    """Members the client may receive, with the fields granted to it, in pages (cursor)."""
    client = _client()
    after = _decode_cursor("m", query["cursor"])
    data, ids, next_after = partner_api.members_page(client, limit=query["limit"], after_id=after,
                                                     updated_since=_naive_utc(query["updated_since"]))
    _delivered(client, "GET /api/v1/members", api_clients.granted_fields(client), ids)
    return {"data": data, "next_cursor": _encode_cursor("m", next_after) if next_after else None}


def _delivered(client, endpoint: str, fields, member_ids) -> None:
    """Every answer with member data goes to the transfer log, committed before the answer leaves."""
    partner_api.record(client, endpoint, fields, member_ids)
    db.session.commit()


def _not_found() -> ApiProblem:
    """A member this client may not be served answers exactly as one that does not exist."""
    return ApiProblem(404, "member-not-found", "Member not found", "No member has this member number.")


def _served(member_number: int):
    found = partner_api.member(_client(), member_number)
    if found is None:
        raise _not_found()
    return found


def _served_id(member_number: int) -> int:
    member_id = partner_api.served_member_id(member_number)
    if member_id is None:
        raise _not_found()
    return member_id


@bp.get("/members/<int:member_number>")
@scope("api.members.read")
@bp.response(200, s.MemberSchema)
@_problems(404)
def get_member(member_number: int):
    """One member, with the fields granted to the client."""
    client = _client()
    data, member_id = _served(member_number)
    _delivered(client, "GET /api/v1/members/{member_number}", api_clients.granted_fields(client), [member_id])
    return data


@bp.get("/members/<int:member_number>/subscriptions")
@scope("api.subscriptions.read")
@bp.response(200, s.SubscriptionList)
@_problems(404)
def member_subscriptions(member_number: int):
    """The member's subscriptions (plan, period, status)."""
    client = _client()
    member_id = _served_id(member_number)
    data = partner_api.subscriptions(member_id)
    _delivered(client, "GET /api/v1/members/{member_number}/subscriptions",
               ("member_number", *partner_api.SUBSCRIPTION_FIELDS), [member_id])
    return {"data": data}


@bp.get("/members/<int:member_number>/visits")
@scope("api.visits.read")
@bp.arguments(s.VisitsQuery, location="query")
@bp.response(200, s.VisitPage)
@_problems(404)
def member_visits(query, member_number: int):
    """The member's visits, oldest first, optionally since a time."""
    client = _client()
    member_id = _served_id(member_number)
    after = _decode_cursor("v", query["cursor"])
    data, next_after = partner_api.visits(member_id, since=_naive_utc(query["since"]), limit=query["limit"],
                                          after_id=after)
    _delivered(client, "GET /api/v1/members/{member_number}/visits",
               ("member_number", *partner_api.VISIT_FIELDS), [member_id])
    for row in data:
        row["at"] = _aware(row["at"])
    return {"data": data, "next_cursor": _encode_cursor("v", next_after) if next_after else None}


@bp.post("/checkins")
@scope("api.visits.write")
@bp.arguments(s.CheckinRequest, location="json")
@bp.response(201, s.CheckinResponse)
@bp.alt_response(200, schema=s.CheckinResponse, description="A retry with the same Idempotency-Key: the first answer")
@bp.doc(parameters=[{"in": "header", "name": "Idempotency-Key", "required": False,
                     "schema": {"type": "string", "maxLength": 200},
                     "description": "A key of your own per check-in; a retry with it within 24 hours counts once."}])
@_problems(404, 409, 422)
def checkin(body):
    """Register a visit (an access gate); refused for ended, restricted or unknown members."""
    client = _client()
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 200:
        raise ApiProblem(400, "invalid-idempotency-key", "Invalid Idempotency-Key",
                         "An Idempotency-Key is at most 200 characters.")
    result = partner_api.check_in(client, member_number=body["member_number"], at=_naive_utc(body["at"]),
                                  location=body["location"], idempotency_key=key or None, source_ip=client_ip())
    _delivered(client, "POST /api/v1/checkins", ("member_number",), [result.visit.member_id])
    answer = {"member_number": result.member_number, "at": _aware(result.visit.checked_in_at),
              "location": result.visit.location, "replayed": result.replayed}
    return answer, 200 if result.replayed else 201


@bp.get("/changes")
@scope("api.changes.read")
@bp.arguments(s.PageQuery, location="query")
@bp.response(200, s.ChangePage)
@_problems()
def changes(query):
    """Members this client received that were since rectified, restricted or erased (GDPR Art. 19)."""
    client = _client()
    after = _decode_cursor("c", query["cursor"])
    rows = member_changes.feed(client, after_id=after, limit=query["limit"] + 1)
    more = len(rows) > query["limit"]
    rows = rows[:query["limit"]]
    last = rows[-1].id if rows else after
    data = [{"member_number": r.member_number, "kind": r.kind, "at": _aware(r.at)} for r in rows]
    return {"data": data, "next_cursor": _encode_cursor("c", last), "has_more": more}
