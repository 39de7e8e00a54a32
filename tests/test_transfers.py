"""The transfer log: one home for what left the club, read back per member."""

from datetime import datetime

import pytest
from sqlalchemy import func, select

from app.models import DataTransferMember
from app.services import erasure, transfers


def test_recipients_of_a_member_union_their_fields_and_dates(db, make_member, frozen_clock):
    anna, piet = make_member(), make_member(first_name="Piet")
    frozen_clock(datetime(2026, 3, 1, 9, 0))
    transfers.record("api_client", "7", "ClubPlanner", "GET /api/v1/members", ["member_number", "email"], [anna.id, piet.id])
    frozen_clock(datetime(2026, 4, 1, 9, 0))
    transfers.record("api_client", "7", "ClubPlanner", "GET /api/v1/members/{n}", ["member_number", "phone"], [anna.id])
    db.session.commit()

    [received] = transfers.recipients_of(anna.id)
    assert received.recipient_name == "ClubPlanner"
    assert received.fields == ("member_number", "email", "phone")
    assert (received.first_at, received.last_at, received.deliveries) == (
        datetime(2026, 3, 1, 9, 0), datetime(2026, 4, 1, 9, 0), 2)
    assert [r.fields for r in transfers.recipients_of(piet.id)] == [("member_number", "email")]


def test_no_members_no_row_and_unknown_kinds_are_refused(db, make_member):
    assert transfers.record("connector", "egym", "eGym", "sync", ["firstName"], []) is None
    with pytest.raises(ValueError, match="unknown recipient kind"):
        transfers.record("pigeon", "1", "Pigeon", "x", [], [make_member().id])


@pytest.mark.parametrize(("method", "links_left"), [("delete", 0), ("anonymise", 1)])
def test_a_full_erasure_drops_the_member_links_anonymisation_keeps_them(db, make_member, method, links_left):
    member = make_member(status="ended")
    transfers.record("connector", "egym", "eGym", "sync", ["firstName"], [member.id])
    db.session.commit()
    erasure.erase_members([member.id], method, None, source="test")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(DataTransferMember)) == links_left
