"""Rules the views used to hold, now asked of the services (so the API and the CLI meet them too)."""

import pytest
from sqlalchemy import func, select

from app.models import DataRequest, RateLimitBucket
from app.services import privacy_requests as svc


def test_a_request_needs_a_known_channel(db):
    with pytest.raises(svc.RequestError, match="Unknown channel") as refused:
        svc.register("access", channel="carrier pigeon", requester_name="Ria Rood")
    assert refused.value.field == "channel"
    assert db.session.scalar(select(func.count()).select_from(DataRequest)) == 0


def test_the_intake_limit_counts_attempts_and_refuses_without_counting(db):
    assert svc.intake_allowed("address-hash", 2) and svc.intake_allowed("address-hash", 2)
    assert not svc.intake_allowed("address-hash", 2)
    assert db.session.scalar(select(RateLimitBucket.hits).where(RateLimitBucket.key == "intake:address-hash")) == 2


def test_the_honeypot_is_answered_with_a_spent_reference_and_nothing_stored(db):
    first, _ = svc.intake("access", honeypot=True, requester_name="Bot")
    second, _ = svc.intake("access", honeypot=False, requester_name="Ria Rood")
    assert first.startswith("AVG-") and second != first
    assert list(db.session.scalars(select(DataRequest.reference))) == [second]
