"""The row scan reads small tables row by row and big ones by distinct values: both report the same hits."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    # Every column under a vocabulary's CHECK constraint is left out; the invoices' typed texts stay in.
    from sqlalchemy import CheckConstraint

    for table in db.metadata.sorted_tables:
        vocabulary = {c.info["vocabulary_of"] for c in table.constraints if isinstance(c, CheckConstraint)
                      and "vocabulary_of" in c.info}
        scanned = {c.name for c in scan._scannable_columns(table)[0]}
        assert not vocabulary & scanned, table.name
    assert {"description", "billing_name", "billing_address"} <= {c.name for c in scan._scannable_columns(
        db.metadata.tables["invoices"])[0]}
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


def test_stepping_through_the_location_index_reads_every_distinct_location_once(db, make_member):
    """The big-table path reads visits.location through its index (one seek per distinct value):
    the values it returns are exactly those of a plain DISTINCT, whatever their case, accents or
    length, and an empty location is one of them."""
    from sqlalchemy import select

    member = make_member()
    locations = ["", "Baan 3", "baan 3", "BAAN 3", "Zwembad", "Ölzaal", "zaal é", "Poort 0", "Poort 10",
                 "x" * 100, "Baan 3 (Jörg van Riet)"]
    db.session.add_all(Visit(member_id=member.id, checked_in_at=member.created_at, location=location)
                       for location in locations * 3)
    db.session.commit()
    plan = scan._plan(Visit.__table__)
    stepped = plan.distinct[[c.name for c in plan.text_columns].index("location")]
    assert "WITH RECURSIVE" in str(stepped.compile(dialect=db.engine.dialect))  # the index is there and used

    read = [row[0] for rows in scan._driver_chunks(stepped) for row in rows]
    plain = set(db.session.scalars(select(Visit.location).distinct()))
    assert sorted(read) == sorted(plain) == sorted(set(locations))


def test_the_byte_table_lower_cases_every_latin1_character_as_python_does():
    """The key-range scan lower-cases Latin-1 text through a byte table: it must be str.lower exactly."""
    every = "".join(chr(code) for code in range(256))
    haystack, spell = scan._lowered("Ä" + every)  # not ASCII, all Latin-1: the byte table
    assert isinstance(haystack, bytes)
    assert haystack == ("Ä" + every).lower().encode("latin-1")
    assert spell("jörg") == "jörg".encode("latin-1") and spell("łukasz") is None  # no Latin-1 text holds ł
    assert scan._lowered("ŁUKASZ Jörg") == ("łukasz jörg", scan._as_str)  # beyond Latin-1: str.lower
    assert scan._lowered("JAN") == ("jan", scan._as_str)


LETTERS = "abdo4 -,+ëøł"


@given(spellings=st.lists(st.lists(st.text(LETTERS, min_size=4, max_size=12), min_size=1, max_size=4,
                                   unique=True), min_size=1, max_size=4),
       haystack=st.text(LETTERS + "ABDÖŁ", max_size=200))
@settings(max_examples=300, deadline=None)
def test_searching_a_kinds_shared_part_first_finds_exactly_what_searching_each_spelling_finds(spellings, haystack):
    """An absent anchor skips its kind's spellings: the values found are those a search of each finds."""
    groups = [(scan._anchor(values), tuple(values)) for values in spellings]
    for anchor, values in groups:
        assert anchor is None or (len(anchor) >= scan.ANCHOR_LENGTH and all(anchor in value for value in values))
    lowered, spell = scan._lowered(haystack)
    expected = {value for values in spellings for value in values if value in haystack.lower()}
    assert scan._occurring(groups, lowered, spell) == expected
