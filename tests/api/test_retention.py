"""The partner API's tables under the retention sweep: the transfer log, the changes feed, idempotency keys."""

from datetime import date, datetime

from sqlalchemy import func, select

from app.models import ApiIdempotencyKey, DataTransfer, DataTransferMember, MemberChange
from app.services import clock, retention, transfers
from tests.retention.conftest import policies, sweep  # noqa: F401 - fixtures


def _count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_sweep_deletes_old_transfers_feed_entries_and_keys(db, make_member, make_client, policies, sweep,  # noqa: F811
                                                               frozen_clock):
    client, _token = make_client()
    member = make_member()
    frozen_clock(datetime(2022, 1, 10, 12, 0))
    transfers.record("api_client", str(client.user_id), client.name, "GET /api/v1/members", ["member_number"], [member.id])
    db.session.add(MemberChange(client_id=client.id, member_id=member.id, member_number=member.member_number,
                                kind="rectified", at=clock.utcnow()))
    db.session.add(ApiIdempotencyKey(client_id=client.id, key_hash="a" * 64, request_hash="b" * 64,
                                     created_at=clock.utcnow()))
    frozen_clock(datetime(2026, 6, 1, 12, 0))
    transfers.record("api_client", str(client.user_id), client.name, "GET /api/v1/members", ["member_number"], [member.id])
    db.session.add(MemberChange(client_id=client.id, member_id=member.id, member_number=member.member_number,
                                kind="restricted", at=clock.utcnow()))
    db.session.add(ApiIdempotencyKey(client_id=client.id, key_hash="c" * 64, request_hash="d" * 64,
                                     created_at=clock.utcnow()))
    db.session.commit()

    due = {f.policy.category: f.due for f in retention.forecast(date(2026, 6, 1))}
    assert (due["data_transfers"], due["api_changes"], due["api_idempotency_keys"]) == (1, 1, 1)
    result = sweep(today=date(2026, 6, 1))
    assert result.counts["data_transfers"] == 1 and result.counts["api_idempotency_keys"] == 1
    assert (_count(db, DataTransfer), _count(db, DataTransferMember), _count(db, MemberChange),
            _count(db, ApiIdempotencyKey)) == (1, 1, 1, 1)
    assert db.session.scalar(select(MemberChange.kind)) == "restricted"


def test_the_new_policies_are_on_the_retention_page(db, client, make_user, login_as, policies):  # noqa: F811
    login_as(make_user("privacy_officer"))
    page = client.get("/privacy/retention").text
    for label in ("Transfer log (data sent to partners)", "Changes feed of the API clients", "API idempotency keys"):
        assert label in page
