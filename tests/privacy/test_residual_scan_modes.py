"""The row scan reads small tables row by row and big ones by distinct values: both report the same hits."""

import pytest

from app.models import Visit
from app.services import erasure, members
from app.services.erasure import scan


def _hits(report):
    return sorted((h["table"], h["column"], h["row_id"], h["kind"], h["status"]) for h in report["hits"])


def test_both_ways_of_reading_a_table_find_the_same_rows(db, seeded_member, monkeypatch):
    member = seeded_member()
    # A partner's check-in location that names the member: free text in the big visits table.
    db.session.add(Visit(member_id=member.id, checked_in_at=member.created_at, location=f"Baan 3 ({member.full_name})"))
    db.session.add(Visit(member_id=member.id, checked_in_at=member.created_at, location="Zwembad"))
    db.session.commit()
    identifiers = erasure.identifiers_of(member)

    row_by_row = erasure.verify(identifiers)
    monkeypatch.setattr(scan, "ROW_PASS_LIMIT", 0)  # every table counts as big
    by_distinct_values = erasure.verify(identifiers)

    assert _hits(row_by_row) == _hits(by_distinct_values)
    assert ("visits", "location") in {(h["table"], h["column"]) for h in row_by_row["hits"]}
    assert {"members", "invoices", "staff_notes"} <= {h["table"] for h in row_by_row["hits"]}


def test_fixed_value_columns_are_not_scanned_and_stay_fixed(db, make_member):
    text_columns, _ = scan._scannable_columns(Visit.__table__)
    assert "source" not in {c.name for c in text_columns} and "location" in {c.name for c in text_columns}
    member = make_member()
    with pytest.raises(ValueError):
        members.check_in(member.member_number, actor=None, source="Anna van der Berg")


def test_a_control_character_typed_into_a_text_does_not_hide_a_row(db, seeded_member):
    from app.models import StaffNote

    member = seeded_member()
    # The scan joins a range of rows with control characters as separators; a text holding one
    # of them makes that range be read row by row, and the note is still found.
    note = StaffNote(member_id=member.id, body=f"\x03 12\x02 pasted from a terminal: {member.full_name}")
    db.session.add(note)
    db.session.commit()
    report = erasure.verify(erasure.identifiers_of(member))
    assert ("staff_notes", str(note.id)) in {(h["table"], h["row_id"]) for h in report["hits"]}
