"""Ended memberships go through the erasure engine: anonymised or deleted, and in the ledger."""

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from app.models import AuditEvent, DataRequest, ErasureRecord, Invoice, Member, Visit
from app.services import holds, ledger, retention
from tests.retention.conftest import at


def _ledger_keys_in_file():
    return [entry.member_key for entry in ledger.read_file()]


def _ended(make_member, ended_on, **fields):
    return make_member(status="ended", ended_on=ended_on, first_name="Jorien", last_name="Uitschrijver",
                       email=f"jorien{ended_on.isoformat()}{fields.pop('tag', '')}@example.nl", **fields)


def test_ended_memberships_are_anonymised_through_the_erasure_engine(db, make_member, policies, sweep,
                                                                    frozen_clock):
    due_yesterday = _ended(make_member, date(2024, 6, 14))
    due_tomorrow = _ended(make_member, date(2024, 6, 16))
    active = make_member(first_name="Actief")
    db.session.add(Visit(member_id=due_yesterday.id, checked_in_at=at(2024, 6, 1)))
    db.session.commit()
    numbers = {m.id: m.member_number for m in (due_yesterday, due_tomorrow, active)}

    frozen_clock(at(2026, 6, 15))
    forecast = {f.policy.category: f for f in retention.forecast()}["ended_memberships"]
    assert (forecast.due, forecast.sample) == (1, [numbers[due_yesterday.id]])
    result = sweep()

    assert result.counts["ended_memberships"] == 1
    gone = db.session.get(Member, due_yesterday.id)
    assert gone.status == "anonymised" and gone.first_name == "" and gone.email is None and gone.search_text == ""
    assert gone.member_number == numbers[due_yesterday.id]  # the number stays, never reused
    assert db.session.get(Member, due_tomorrow.id).first_name == "Jorien"
    assert db.session.get(Member, active.id).status == "active"
    # The erasure ledger has it, in the table and in the file, marked as coming from retention.
    record = db.session.scalar(select(ErasureRecord))
    assert (record.method, record.source) == ("anonymise", "retention")
    assert record.member_key == ledger.member_key(numbers[due_yesterday.id])
    assert _ledger_keys_in_file() == [record.member_key]
    assert ledger.verify_chain(ledger.read_file()) == []


def test_a_delete_policy_deletes_the_member_and_records_it(db, make_member, make_user, policies, sweep,
                                                          frozen_clock, in_request):
    member = _ended(make_member, date(2020, 1, 1))
    number = member.member_number
    retention.update_policy(policies["ended_memberships"], make_user("privacy_officer"), period_months=24,
                            counted_from="membership_end", action="delete", basis="", enabled=True)
    db.session.commit()
    frozen_clock(at(2026, 6, 15))
    sweep()
    assert db.session.scalar(select(func.count()).select_from(Member)) == 0
    record = db.session.scalar(select(ErasureRecord))
    assert (record.method, record.source, record.member_key) == ("delete", "retention", ledger.member_key(number))
    assert _ledger_keys_in_file() == [record.member_key]


def test_held_members_and_open_claims_are_kept_back(db, make_member, make_user, policies, sweep, frozen_clock):
    held = _ended(make_member, date(2020, 1, 1), tag="held")
    unpaid = _ended(make_member, date(2020, 1, 1), tag="unpaid")
    asking = _ended(make_member, date(2020, 1, 1), tag="asking")
    free = _ended(make_member, date(2020, 1, 1), tag="free")
    db.session.add(Invoice(member_id=unpaid.id, number="2019-0042", issued_on=date(2019, 12, 1),
                           due_on=date(2019, 12, 15), amount=25, status="open", billing_name="J. U.",
                           billing_address=""))
    db.session.add(DataRequest(reference="AVG-2026-0001", kind="access", due_on=date(2026, 7, 1),
                               member_id=asking.id, member_number=asking.member_number))
    db.session.commit()
    frozen_clock(at(2026, 6, 15))
    holds.place_hold(held, "court case", make_user("privacy_officer"))
    db.session.commit()

    forecast = {f.policy.category: f for f in retention.forecast()}["ended_memberships"]
    assert (forecast.due, forecast.held_back) == (1, 3)
    sweep()
    statuses = {m.id: m.status for m in db.session.scalars(select(Member))}
    assert statuses == {held.id: "ended", unpaid.id: "ended", asking.id: "ended", free.id: "anonymised"}
    assert db.session.scalar(select(func.count()).select_from(ErasureRecord)) == 1


def test_a_second_run_finds_nothing(db, make_member, policies, sweep, frozen_clock):
    for _ in range(5):
        _ended(make_member, date(2020, 1, 1), tag=str(_))
    frozen_clock(at(2026, 6, 15))
    assert sweep().counts["ended_memberships"] == 5
    second = sweep()
    assert second.total == 0
    assert all(f.due == 0 for f in retention.forecast())
    assert db.session.scalar(select(func.count()).select_from(ErasureRecord)) == 5
    assert len(_ledger_keys_in_file()) == 5


def test_a_crash_leaves_each_member_fully_erased_or_untouched(db, make_member, policies, frozen_clock):
    members = [_ended(make_member, date(2020, 1, 1), tag=str(i)) for i in range(5)]
    ids = [m.id for m in members]
    numbers = {m.id: m.member_number for m in members}
    frozen_clock(at(2026, 6, 15))
    calls = []

    def crash_on_second_chunk():
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the database host went away")
        db.session.commit()

    with pytest.raises(RuntimeError):
        retention.run_sweep(None, commit=crash_on_second_chunk, member_chunk=2)

    db.session.expire_all()
    by_id = {m.id: m for m in db.session.scalars(select(Member))}
    erased = [i for i in ids if by_id[i].status == "anonymised"]
    untouched = [i for i in ids if by_id[i].status == "ended"]
    assert erased == ids[:2] and untouched == ids[2:]
    for i in erased:
        assert by_id[i].first_name == "" and by_id[i].email is None
    for i in untouched:
        assert by_id[i].first_name == "Jorien" and by_id[i].email and by_id[i].search_text
    # Exactly the erased members are in the ledger, table and file alike.
    expected = sorted(ledger.member_key(numbers[i]) for i in erased)
    assert sorted(db.session.scalars(select(ErasureRecord.member_key))) == expected
    assert sorted(_ledger_keys_in_file()) == expected

    result = retention.run_sweep(None, commit=db.session.commit, member_chunk=2)
    assert result.counts["ended_memberships"] == 3
    assert sorted(_ledger_keys_in_file()) == sorted(ledger.member_key(n) for n in numbers.values())
    assert ledger.verify_chain(ledger.read_file()) == []


def test_every_chunk_is_audited_and_the_run_summarised(db, make_member, policies, frozen_clock):
    for i in range(5):
        _ended(make_member, date(2020, 1, 1), tag=str(i))
    frozen_clock(at(2026, 6, 15))
    retention.run_sweep(None, commit=db.session.commit, member_chunk=2)
    applied = [json.loads(e.details) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "retention.applied").order_by(AuditEvent.id))]
    assert [a["count"] for a in applied if a["category"] == "ended_memberships"] == [2, 2, 1]
    summary = json.loads(retention.last_sweep().details)
    assert summary["counts"]["ended_memberships"] == 5
    assert summary["actions"]["ended_memberships"] == "anonymise"
    # Member numbers of erased members do not go into the sweep's own audit entries.
    assert all("member" not in key for a in applied for key in a)


def test_the_dashboard_counts_follow_a_policy_change_the_next_day_and_new_data(db, make_member, policies,
                                                                               frozen_clock):
    """The counts statement is kept per day and set of policies: each of those, and the data, still count."""
    def due():
        return {f.policy.category: f for f in retention.forecast(sample_size=0)}["ended_memberships"].due

    _ended(make_member, date(2024, 6, 14))
    _ended(make_member, date(2024, 6, 16), tag="b")
    db.session.commit()
    frozen_clock(at(2026, 6, 15))
    assert due() == 1
    frozen_clock(at(2026, 6, 17))  # a day on which the second one is due too
    assert due() == 2
    policies["ended_memberships"].period_months = 12 * 5  # a longer period: neither is due
    db.session.commit()
    assert due() == 0
    policies["ended_memberships"].period_months = 24
    db.session.commit()
    _ended(make_member, date(2024, 1, 1), tag="c")  # new data under a statement already kept
    db.session.commit()
    assert due() == 3
    policies["ended_memberships"].enabled = False
    db.session.commit()
    assert due() == 0
