"""The erasure engine: delete and anonymise leave no identifiers behind, atomically, with a ledger."""

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from app.models import (
    AuditEvent,
    Consent,
    DataRequest,
    ErasureRecord,
    HealthNote,
    Invoice,
    LegalHold,
    Member,
    StaffNote,
    Subscription,
    Visit,
)
from app.services import erasure, holds, ledger, signals
from app.services import members as member_service
from tests.privacy.conftest import FULL_NAME


def count(db, model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def snapshot(db):
    """Every row of every member-related table, to compare before and after a failed erasure."""
    tables = {}
    for model in (Member, Subscription, Visit, Invoice, Consent, HealthNote, StaffNote, DataRequest,
                  LegalHold, ErasureRecord):
        rows = db.session.execute(select(model.__table__)).all()
        tables[model.__tablename__] = sorted(tuple(map(str, row)) for row in rows)
    return tables


def ledger_lines(app):
    from pathlib import Path

    path = Path(app.config["ERASURE_LEDGER_PATH"])
    return path.read_text().splitlines() if path.exists() else []


def test_scan_finds_the_seeded_identifiers_before_erasure(db, seeded_member):
    member = seeded_member()
    report = erasure.verify(erasure.identifiers_of(member))
    kinds = {hit["kind"] for hit in report["hits"]}
    tables = {hit["table"] for hit in report["hits"]}
    assert kinds == {"name", "email", "phone", "address", "iban", "date_of_birth"}
    assert {"members", "invoices", "health_notes", "staff_notes", "data_requests", "consents"} <= tables
    assert not report["ok"]
    second_note = [h for h in report["hits"] if h["table"] == "staff_notes" and h["row_id"] == max(
        x["row_id"] for x in report["hits"] if x["table"] == "staff_notes")]
    assert {h["kind"] for h in second_note} == {"name", "phone", "iban"}  # spellings other than the stored ones
    # the stored report never holds the values themselves
    assert "quastenbroek" not in json.dumps(report).lower()


def test_anonymise_keeps_statistics_and_removes_every_identifier(app, db, seeded_member):
    member = seeded_member()
    other = seeded_member(first_name="Other", last_name="Person", email="other@example.nl", member_number=50001,
                          phone="020 1111111", street="Dorpsweg", iban="NL20INGB0001234567",
                          date_of_birth=date(1999, 9, 9))
    identifiers = erasure.identifiers_of(member)
    member_id, number = member.id, member.member_number

    assert erasure.erase_member(member, "anonymise", None) == 1
    db.session.commit()

    row = db.session.get(Member, member_id)
    assert row.status == "anonymised" and row.anonymised_at is not None
    assert row.member_number == number and row.joined_on == date(2020, 1, 1)
    assert row.first_name == "" and row.email is None and row.iban is None and row.date_of_birth is None
    assert row.search_text == ""
    assert count(db, Visit, Visit.member_id == member_id) == 2
    assert count(db, Subscription, Subscription.member_id == member_id) == 1
    for model in (Consent, HealthNote, StaffNote):
        assert count(db, model, model.member_id == member_id) == 0
    # the other member is untouched
    assert db.session.get(Member, other.id).first_name == "Other"
    assert count(db, HealthNote, HealthNote.member_id == other.id) == 1

    report = erasure.verify(identifiers)
    assert report["failures"] == 0, report["hits"]
    kept = [hit for hit in report["hits"] if hit["status"] == "kept_by_law"]
    assert kept and {hit["table"] for hit in kept} == {"invoices"}
    recent = db.session.scalar(select(Invoice).where(Invoice.number == f"NEW-{number}"))
    assert recent.member_id is None and FULL_NAME in recent.billing_name
    assert db.session.scalar(select(Invoice).where(Invoice.number == f"OLD-{number}")) is None

    lines = ledger_lines(app)
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["method"] == "anonymise" and entry["member_key"] == ledger.member_key(number)
    assert str(number) not in lines[0] and "Quastenbroek" not in lines[0]
    assert count(db, ErasureRecord) == 1
    audit_row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "privacy.erasure"))
    assert audit_row.member_number == number and "anonymise" in audit_row.details
    assert "Quastenbroek" not in audit_row.details


def test_delete_removes_everything_but_invoices_kept_by_law(db, seeded_member):
    member = seeded_member()
    identifiers = erasure.identifiers_of(member)
    member_id, number = member.id, member.member_number

    assert erasure.erase_member(member, "delete", None) == 1
    db.session.commit()

    assert db.session.get(Member, member_id) is None
    for model in (Visit, Subscription, Consent, HealthNote, StaffNote):
        assert count(db, model, model.member_id == member_id) == 0
    kept = db.session.scalars(select(Invoice)).all()
    assert [inv.number for inv in kept] == [f"NEW-{number}"] and kept[0].member_id is None
    old_request = db.session.scalar(select(DataRequest))
    assert old_request.requester_name is None and old_request.requester_email is None
    assert old_request.message is None and old_request.minimised_at is not None
    assert old_request.member_number == number  # the register stays readable

    report = erasure.verify(identifiers)
    assert report["failures"] == 0, report["hits"]
    assert report["kept_by_law"] >= 1
    assert all(hit["until"] == date(date.today().year + 6, 12, 31).isoformat()
               for hit in report["hits"] if hit["status"] == "kept_by_law")


def test_an_active_legal_hold_refuses_the_whole_batch(db, seeded_member):
    held = seeded_member(member_number=60001)
    free = seeded_member(member_number=60002)
    db.session.add(LegalHold(member_id=held.id, reason="Dispute about unpaid fees"))
    db.session.commit()
    before = snapshot(db)
    with pytest.raises(erasure.LegalHoldError) as info:
        erasure.erase_members([held.id, free.id], "delete", None, source="retention")
    db.session.rollback()
    assert info.value.member_numbers == [60001]
    assert snapshot(db) == before
    assert holds.held_among([held.id, free.id]) == {held.id}


def test_a_failure_halfway_leaves_everything_as_before(app, db, seeded_member, monkeypatch):
    member = seeded_member()
    before = snapshot(db)
    statements = []
    from app.services.erasure import engine  # the engine module holds the batch statements

    original = engine._erase_batch

    def chunk_then_fail(*args, **kwargs):
        original(*args, **kwargs)
        statements.append("ran")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(engine, "_erase_batch", chunk_then_fail)
    with pytest.raises(RuntimeError):
        erasure.erase_member(member, "delete", None)
    db.session.rollback()
    assert statements == ["ran"]  # the deletes really ran before the failure
    assert snapshot(db) == before
    assert ledger_lines(app) == []


def test_a_failure_in_the_ledger_leaves_everything_as_before(app, db, seeded_member, monkeypatch):
    member = seeded_member()
    before = snapshot(db)

    def broken(*args, **kwargs):
        raise OSError("ledger volume not mounted")

    monkeypatch.setattr(ledger, "_append_lines", broken)
    erasure.erase_member(member, "anonymise", None)
    with pytest.raises(OSError):
        db.session.commit()
    db.session.rollback()
    assert snapshot(db) == before


def test_erasing_twice_is_harmless(app, db, seeded_member):
    member = seeded_member()
    member_id = member.id
    erasure.erase_member(member, "anonymise", None)
    db.session.commit()
    again = db.session.get(Member, member_id)
    assert erasure.erase_member(again, "anonymise", None) == 0
    db.session.commit()
    assert len(ledger_lines(app)) == 1
    assert erasure.erase_members([member_id], "delete", None, source="wizard") == 1
    db.session.commit()
    assert erasure.erase_members([member_id], "delete", None, source="wizard") == 0
    db.session.commit()
    assert len(ledger_lines(app)) == 2
    assert ledger.verify_chain(ledger.read_file()) == []


def test_bulk_erasure_in_chunks(app, db, make_member):
    ids = []
    for n in range(1203):
        member = Member(member_number=200000 + n, first_name="Bulk", last_name=f"Member{n}",
                        joined_on=date(2010, 1, 1), status="ended", email=f"bulk{n}@example.nl")
        db.session.add(member)
    db.session.commit()
    ids = list(db.session.scalars(select(Member.id)))
    assert erasure.erase_members(ids, "anonymise", None, source="retention") == 1203
    db.session.commit()
    assert count(db, Member, Member.status == "anonymised", Member.email.is_(None)) == 1203
    assert count(db, ErasureRecord) == 1203
    entries = ledger.read_file()
    assert len(entries) == 1203 and ledger.verify_chain(entries) == []


def test_ledger_chain_detects_tampering(app, db, make_member, runner):
    members = [make_member() for _ in range(3)]
    erasure.erase_members([m.id for m in members], "delete", None, source="wizard")
    db.session.commit()
    result = runner.invoke(args=["privacy", "verify-ledger"])
    assert result.exit_code == 0 and "intact" in result.output
    from pathlib import Path

    path = Path(app.config["ERASURE_LEDGER_PATH"])
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], lines[2]]) + "\n")  # someone removed an entry
    result = runner.invoke(args=["privacy", "verify-ledger"])
    assert result.exit_code != 0 and "broken" in result.output + (result.stderr or "")


def test_new_member_numbers_skip_erased_ones_after_a_counter_rollback(db, make_member):
    from app.models import Counter

    member = make_member()
    number = member.member_number
    erasure.erase_member(member, "delete", None)
    db.session.commit()
    # a restore puts the counter back to before that number was handed out
    db.session.get(Counter, "member_number").value = number - 1
    db.session.execute(ErasureRecord.__table__.delete())  # and the ledger table with it
    db.session.commit()
    assert member_service.next_member_number() == number + 1


def test_preview_lists_what_happens_per_table(db, seeded_member, frozen_clock):
    member = seeded_member()
    rows = {row.table: row for row in erasure.preview(member, "anonymise")}
    assert rows["members"].anonymise == 1
    assert rows["visits"].keep == 2 and rows["subscriptions"].keep == 1
    assert rows["health_notes"].delete == 1 and rows["consents"].delete == 1
    assert rows["invoices"].delete == 1 and rows["invoices"].keep == 1
    assert rows["invoices"].until == date(date.today().year + 6, 12, 31)
    rows = {row.table: row for row in erasure.preview(member, "delete")}
    assert rows["members"].delete == 1 and rows["visits"].delete == 2


def test_exceptions_found(db, seeded_member, frozen_clock, make_plan):
    member = seeded_member()
    db.session.add(Subscription(member_id=member.id, plan=make_plan("Basic"), starts_on=date(2024, 1, 1),
                                monthly_fee=1, status="active"))
    db.session.add(Invoice(member_id=member.id, number="OPEN-1", issued_on=date.today(), due_on=date.today(),
                           amount=10, status="open", billing_name="x"))
    db.session.add(LegalHold(member_id=member.id, reason="claim"))
    db.session.commit()
    codes = {item["code"]: item for item in erasure.find_exceptions(member)}
    assert set(codes) == {"open_invoices", "fiscal_retention", "active_subscription", "legal_hold"}
    assert codes["fiscal_retention"]["until"] == date(date.today().year + 7, 12, 31)


def test_ledger_key_is_generated_once_into_the_instance_folder(app, monkeypatch, tmp_path):
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    monkeypatch.setitem(app.config, "ERASURE_LEDGER_KEY", None)
    first = ledger.member_key(1234)
    key_file = tmp_path / "erasure_ledger_key"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert ledger.member_key(1234) == first and ledger.member_key(1235) != first
    monkeypatch.setitem(app.config, "ERASURE_LEDGER_KEY", "another-key")
    assert ledger.member_key(1234) != first  # without the key, the hashes cannot be matched


def test_erasure_signals_see_the_members_first_and_can_refuse(db, make_member):
    first, second = make_member(), make_member()
    first_number = first.member_number
    seen = []

    def queue_partner_deletions(_sender, member_ids, method, source):
        # the rows still exist when the signal is sent, so a receiver can read what partners hold
        seen.append((sorted(db.session.scalars(select(Member.member_number).where(Member.id.in_(member_ids)))),
                     method, source))

    with signals.erasing.connected_to(queue_partner_deletions):
        erasure.erase_members([first.id], "delete", None, source="wizard")
    db.session.commit()
    assert seen == [([first_number], "delete", "wizard")]

    def partner_down(_sender, **_kw):
        raise RuntimeError("outbox unavailable")

    with signals.erasing.connected_to(partner_down), pytest.raises(RuntimeError):
        erasure.erase_members([second.id], "anonymise", None, source="retention")
    db.session.rollback()
    assert db.session.get(Member, second.id).status == "active"

    after = []

    def rebuild_search_index(_sender, member_ids, **_kw):
        # sent after the statements: the row is already anonymised
        after.append(db.session.scalar(select(Member.status).where(Member.id == member_ids[0])))

    with signals.erased.connected_to(rebuild_search_index):
        erasure.erase_members([second.id], "anonymise", None, source="retention")
    db.session.commit()
    assert after == ["anonymised"]


def test_an_abandoned_erasure_never_reaches_the_ledger_file(app, db, make_member):
    member, other = make_member(), make_member()
    member_id, other_id = member.id, other.id
    erasure.erase_members([member_id], "delete", None, source="wizard")
    db.session.close()  # e.g. the request ended with an error before the commit
    db.session.get(Member, other_id).city = "Zwolle"
    db.session.commit()
    assert ledger_lines(app) == []
    assert db.session.get(Member, member_id) is not None


@pytest.mark.parametrize("key", [b"short", b"k" * 64, b"a much longer key than one SHA-256 block " * 3])
def test_the_bulk_keyed_hash_is_the_same_hmac_as_member_key(key):
    import hmac

    numbers = [1, 9, 100001, 999999, 12345678]
    expected = [hmac.new(key, str(n).encode(), "sha256").hexdigest() for n in numbers]
    assert ledger.member_keys(numbers, key) == expected
    assert [ledger.member_key(n, key) for n in numbers] == expected


def test_a_mixed_batch_erases_only_the_members_not_yet_anonymised(app, db, seeded_member):
    done = seeded_member(member_number=61001)
    erasure.erase_member(done, "anonymise", None)
    db.session.commit()
    # A hold placed on the already anonymised member does not block the others.
    db.session.add(LegalHold(member_id=done.id, reason="Dispute about an old invoice"))
    fresh = [seeded_member(member_number=61002), seeded_member(member_number=61003)]
    db.session.commit()
    ids = [done.id] + [m.id for m in fresh]
    assert erasure.erase_members(ids, "anonymise", None, source="retention") == 2
    db.session.commit()
    entries = ledger.read_file()
    assert [e.member_key for e in entries] == [ledger.member_key(n) for n in (61001, 61002, 61003)]
    assert ledger.verify_chain(entries) == []
    rows = db.session.scalars(select(ErasureRecord).order_by(ErasureRecord.id)).all()
    assert [(r.member_key, r.prev_hash, r.entry_hash) for r in rows] == [
        (e.member_key, e.prev_hash, e.entry_hash) for e in entries]
    assert count(db, Member, Member.status == "anonymised") == 3


def test_identifiers_carry_the_date_of_birth_and_id_as_fields_and_show_no_values(db, seeded_member):
    member = seeded_member()
    identifiers = erasure.identifiers_of(member)
    assert identifiers.date_of_birth == member.date_of_birth and identifiers.member_id == member.id
    assert not any(kind.startswith("_") for kind in identifiers)  # no smuggled keys among the kinds
    assert "quastenbroek" in " ".join(identifiers["name"])
    assert "uastenbroek" not in repr(identifiers).lower()  # a repr can reach a log: kinds only
    # The date of birth still counts in the member's own row (and only there).
    assert any(hit["kind"] == "date_of_birth" and hit["table"] == "members"
               for hit in erasure.verify(identifiers)["hits"])
