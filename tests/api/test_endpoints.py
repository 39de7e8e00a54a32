"""The endpoints' behaviour: pages and cursors, who is never served, check-ins, the changes feed."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.models import AuditEvent, DataRequest, DataTransfer, Subscription, Visit
from app.services import erasure, privacy_requests, transfers
from app.services import members as member_service

ALL_SCOPES = ("api.members.read", "api.subscriptions.read", "api.visits.read", "api.visits.write", "api.changes.read")


@pytest.fixture
def partner(make_client):
    return make_client(scopes=ALL_SCOPES, fields=["email", "city"])


def test_pages_follow_the_cursor_to_the_end(https, partner, make_member):
    _client, token = partner
    numbers = [make_member(first_name=f"M{i}").member_number for i in range(5)]
    seen, cursor = [], None
    for _ in range(4):
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        body = https.get("/api/v1/members" + query, token=token).json()
        seen += [m["member_number"] for m in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == numbers and cursor is None


@pytest.mark.parametrize("query", ["limit=101", "limit=0", "limit=x", "cursor=bm90IGEgY3Vyc29y",
                                   "updated_since=yesterday", "updated_since=2026-01-01T10:00:00"])
def test_bad_parameters_are_a_400_problem(https, partner, query):
    response = https.get("/api/v1/members?" + query, token=partner[1])
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 400 and body["detail"]


def test_updated_since_filters(db, https, partner, make_member, frozen_clock):
    frozen_clock(datetime(2026, 3, 1, 12, 0))
    make_member(first_name="Old")
    frozen_clock(datetime(2026, 6, 1, 12, 0))
    new = make_member(first_name="New")
    frozen_clock(None)
    body = https.get("/api/v1/members?updated_since=2026-05-01T00:00:00%2B02:00", token=partner[1]).json()
    assert [m["member_number"] for m in body["data"]] == [new.member_number]


def test_restricted_objecting_and_anonymised_members_are_never_served(db, https, partner, make_member):
    _client, token = partner
    served = make_member(first_name="Served")
    restricted = make_member(first_name="Restricted", processing_restricted=True)
    anonymised = make_member(first_name="", last_name="", status="anonymised")
    objecting = make_member(first_name="Objecting")
    db.session.add(DataRequest(reference="AVG-2026-0009", kind="objection", channel="desk", due_on=date(2026, 12, 31),
                               member_id=objecting.id, member_number=objecting.member_number, status="received"))
    db.session.commit()
    listed = https.get("/api/v1/members", token=token).json()["data"]
    assert [m["member_number"] for m in listed] == [served.member_number]
    unknown = https.get("/api/v1/members/999999", token=token)
    for member in (restricted, anonymised, objecting):
        for path in ("", "/subscriptions", "/visits"):
            response = https.get(f"/api/v1/members/{member.member_number}{path}", token=token)
            assert response.status_code == 404
            assert response.json() == unknown.json()  # exactly as a member that does not exist
        refused = https.post("/api/v1/checkins", token=token, json={"member_number": member.member_number})
        assert refused.status_code == 422 and refused.json()["code"] == "member-not-available"
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 0


def test_subscriptions_and_visits(db, https, partner, make_member, make_plan):
    member = make_member()
    db.session.add(Subscription(member_id=member.id, plan=make_plan("Fitness"), starts_on=date(2026, 1, 1), monthly_fee=30))
    db.session.add(Visit(member_id=member.id, checked_in_at=datetime(2026, 2, 1, 9, 30), location="Hall A"))
    db.session.add(Visit(member_id=member.id, checked_in_at=datetime(2026, 3, 1, 9, 30), location="Hall B"))
    db.session.commit()
    token = partner[1]
    subs = https.get(f"/api/v1/members/{member.member_number}/subscriptions", token=token).json()
    assert subs == {"data": [{"plan": "Fitness", "starts_on": "2026-01-01", "ends_on": None, "status": "active"}]}
    visits = https.get(f"/api/v1/members/{member.member_number}/visits?since=2026-02-15T00:00:00Z", token=token).json()
    assert visits == {"data": [{"at": "2026-03-01T09:30:00+00:00", "location": "Hall B"}], "next_cursor": None}


def test_every_answer_with_member_data_is_in_the_transfer_log(db, https, partner, make_member):
    client, token = partner
    member = make_member()
    https.get("/api/v1/members", token=token)
    https.get(f"/api/v1/members/{member.member_number}", token=token)
    https.get(f"/api/v1/members/{member.member_number}/visits", token=token)
    https.get("/api/v1/members/999999", token=token)  # nothing served, nothing logged
    [received] = transfers.recipients_of(member.id)
    assert received.recipient_kind == "api_client" and received.recipient_key == str(client.user_id)
    assert received.deliveries == 3
    assert set(received.fields) >= {"member_number", "first_name", "infix", "last_name", "email", "city", "visits.at"}
    channels = set(db.session.scalars(select(DataTransfer.channel)))
    assert channels == {"GET /api/v1/members", "GET /api/v1/members/{member_number}",
                        "GET /api/v1/members/{member_number}/visits"}


def test_a_retried_checkin_with_the_same_idempotency_key_counts_once(db, https, partner, make_member):
    client, token = partner
    member = make_member()
    body = {"member_number": member.member_number, "location": "Gate 1"}
    first = https.post("/api/v1/checkins", token=token, json=body, headers={"Idempotency-Key": "gate1-0001"})
    again = https.post("/api/v1/checkins", token=token, json=body, headers={"Idempotency-Key": "gate1-0001"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == {**first.json(), "replayed": True}
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 1
    other = https.post("/api/v1/checkins", token=token, json={**body, "location": "Gate 2"},
                       headers={"Idempotency-Key": "gate1-0001"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency-key-reused"
    # Without a key a second check-in within minutes is a duplicate, refused clearly.
    duplicate = https.post("/api/v1/checkins", token=token, json=body)
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate-checkin"
    # The check-in is audited with the client as the actor.
    actors = set(db.session.scalars(select(AuditEvent.actor_username).where(AuditEvent.action == "member.checkin")))
    assert actors == {client.name}


def test_checkin_at_a_given_time_and_bad_bodies(db, https, partner, make_member):
    token = partner[1]
    member = make_member()
    at = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    ok = https.post("/api/v1/checkins", token=token, json={"member_number": member.member_number, "at": at.isoformat()})
    assert ok.status_code == 201
    assert db.session.scalar(select(Visit.checked_in_at)) == at.replace(tzinfo=None)
    for bad in ({}, {"member_number": "12"}, {"member_number": member.member_number, "at": "tomorrow"},
                {"member_number": member.member_number, "extra": 1}):
        response = https.post("/api/v1/checkins", token=token, json=bad)
        assert response.status_code == 400 and response.json()["errors"], bad
    future = https.post("/api/v1/checkins", token=token, json={
        "member_number": member.member_number, "at": (datetime.now(UTC) + timedelta(days=1)).isoformat()})
    assert future.status_code == 422 and future.json()["code"] == "checkin-in-future"
    unknown = https.post("/api/v1/checkins", token=token, json={"member_number": 987654})
    assert unknown.status_code == 404
    ended = make_member(status="ended", ended_on=date(2025, 1, 1))
    assert https.post("/api/v1/checkins", token=token,
                      json={"member_number": ended.member_number}).json()["code"] == "membership-ended"


def test_the_changes_feed_tells_what_happened_to_received_members(db, https, partner, make_client, make_member):
    client, token = partner
    _other, other_token = make_client(scopes=["api.changes.read"])
    fixed, restricted, erased, never_sent = (make_member(first_name=n) for n in ("Fixed", "Restr", "Erased", "Never"))
    https.get("/api/v1/members?limit=3", token=token)  # the client receives the first three
    member_service.update_member(fixed, {"phone": "+31 6 99999999"}, actor=None)  # not a granted field
    member_service.update_member(fixed, {"email": "new@example.nl"}, actor=None)  # granted: rectified
    member_service.update_member(never_sent, {"email": "x@example.nl"}, actor=None)
    request_row = DataRequest(reference="AVG-2026-0002", kind="restriction", channel="desk",
                              due_on=date(2026, 12, 31), member_id=restricted.id, member_number=restricted.member_number,
                              identity_verified_at=datetime(2026, 1, 1))
    db.session.add(request_row)
    db.session.flush()
    privacy_requests.set_restriction(request_row, True, None)
    erased_number = erased.member_number
    erasure.erase_members([erased.id], "delete", None, source="test")
    db.session.commit()

    body = https.get("/api/v1/changes", token=token).json()
    assert [(c["member_number"], c["kind"]) for c in body["data"]] == [
        (fixed.member_number, "rectified"), (restricted.member_number, "restricted"), (erased_number, "erased")]
    assert body["has_more"] is False
    # Nothing new after the cursor; another client that received nothing hears nothing.
    assert https.get(f"/api/v1/changes?cursor={body['next_cursor']}", token=token).json()["data"] == []
    assert https.get("/api/v1/changes", token=other_token).json()["data"] == []
    # The entries carry no values.
    assert "new@example.nl" not in https.get("/api/v1/changes", token=token).text


def test_unknown_api_paths_and_methods_are_problems(https, partner):
    missing = https.get("/api/v1/nothing-here", token=partner[1])
    assert missing.status_code == 404 and missing.headers["Content-Type"] == "application/problem+json"
    wrong = https.request("DELETE", "/api/v1/members", token=partner[1])
    assert wrong.status_code == 405 and wrong.json()["code"] == "method-not-allowed"


def test_parallel_retries_with_one_key_make_one_visit(db, https, partner, make_member):
    from concurrent.futures import ThreadPoolExecutor

    token = partner[1]
    member = make_member()
    body = {"member_number": member.member_number, "location": "Gate 2"}

    def send(_):
        return https.post("/api/v1/checkins", token=token, json=body, headers={"Idempotency-Key": "burst-1"})

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = sorted(r.status_code for r in pool.map(send, range(4)))
    assert statuses.count(201) == 1 and set(statuses) <= {200, 201, 409}
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 1


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00%2B05:00", "9999-12-31T23:59:59-05:00"])
def test_times_at_the_edge_of_the_calendar_are_a_400_not_a_crash(https, partner, moment, make_member):
    response = https.get(f"/api/v1/members?updated_since={moment}", token=partner[1])
    assert response.status_code == 400 and response.json()["code"] == "bad-request"
    checkin = https.post("/api/v1/checkins", token=partner[1],
                         json={"member_number": make_member().member_number, "at": moment.replace("%2B", "+")})
    assert checkin.status_code == 400


def test_control_characters_in_a_location_are_dropped(db, https, partner, make_member):
    member = make_member()
    response = https.post("/api/v1/checkins", token=partner[1],
                          json={"member_number": member.member_number, "location": "Gate\u0000 1\u0007"})
    assert response.status_code == 201 and response.json()["location"] == "Gate 1"
