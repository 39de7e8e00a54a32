"""Member rules called directly: search, create/update, restriction, check-in, memberships, consents."""

import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import AuditEvent, Member, StaffNote, Visit
from app.services import members as service
from app.services.members import MemberError, SearchParams


def _search(db, actor, query="", **params):
    stmt = service.search_statement(SearchParams(query=query, **params), actor=actor)
    return [m.member_number for m in db.session.scalars(stmt)]


def _events(db, action):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


@pytest.fixture
def people(make_member):
    return {
        "jorg": make_member(first_name="Jörg", infix=None, last_name="Müller", email="j.muller@example.de",
                            postcode="3511 AB", city="Utrecht"),
        "anna": make_member(first_name="Anna", infix="van der", last_name="Berg", email="anna@example.nl",
                            postcode="1012 JS", city="Amsterdam"),
        "zoe": make_member(first_name="Zoë", infix="de", last_name="Vries", email="zoe.devries@example.com",
                           postcode="9711 LM", city="Groningen"),
    }


@pytest.mark.parametrize(
    "query, expected",
    [
        ("jorg", ["jorg"]),            # accent-insensitive
        ("JÖRG", ["jorg"]),            # case-insensitive
        ("muller", ["jorg"]),
        ("van der", ["anna"]),         # infix
        ("anna berg", ["anna"]),       # several words: all must match
        ("Berg, Anna", ["anna"]),      # as the list shows the name
        ("zoe", ["zoe"]),
        ("example.com", ["zoe"]),      # email
        ("1012 JS", ["anna"]),         # postcode with space
        ("1012js", ["anna"]),          # postcode without space
        ("groningen", ["zoe"]),        # city
        ("nobody", []),
    ],
)
def test_search_finds_members_by_each_field(db, make_user, people, query, expected):
    desk = make_user("front_desk")
    assert _search(db, desk, query) == [people[key].member_number for key in expected]


def test_search_by_member_number_is_exact(db, make_user, people):
    desk = make_user("front_desk")
    number = people["zoe"].member_number
    assert _search(db, desk, str(number)) == [number]
    assert _search(db, desk, f"#{number}") == [number]


def test_search_treats_like_wildcards_literally(db, make_user, people):
    desk = make_user("front_desk")
    assert _search(db, desk, "%") == []
    assert _search(db, desk, "_") == []


def test_without_contact_permission_email_postcode_and_city_reveal_nothing(db, make_user, people):
    trainer = make_user("trainer")  # members.view but no members.contact
    assert _search(db, trainer, "example.com") == []
    assert _search(db, trainer, "1012js") == []
    assert _search(db, trainer, "1012 JS") == []
    assert _search(db, trainer, "groningen") == []
    # names and numbers still work
    assert _search(db, trainer, "jorg") == [people["jorg"].member_number]
    assert _search(db, trainer, str(people["anna"].member_number)) == [people["anna"].member_number]


def test_search_filters_status_and_sorts(db, make_user, make_member):
    desk = make_user("front_desk")
    a = make_member(first_name="Bram", infix=None, last_name="Aalders")
    c = make_member(first_name="Cor", infix=None, last_name="Claassen")
    b = make_member(first_name="Bep", infix=None, last_name="Bakker", status="ended", ended_on=date(2024, 1, 1))
    x = make_member(first_name="X", infix=None, last_name="X", status="anonymised")
    assert _search(db, desk, sort="name") == [a.member_number, c.member_number]
    assert _search(db, desk, sort="name", descending=True) == [c.member_number, a.member_number]
    assert _search(db, desk, status="ended") == [b.member_number]
    assert _search(db, desk, status="anonymised") == [x.member_number]
    assert _search(db, desk, status="all", sort="number") == sorted(m.member_number for m in (a, b, c, x))
    assert _search(db, desk, status="all", sort="number", descending=True) == sorted(
        (m.member_number for m in (a, b, c, x)), reverse=True)


def test_create_member_takes_a_new_number_and_audits_field_names_only(db, make_user):
    desk = make_user("front_desk")
    first = service.create_member({"first_name": "Jörg", "last_name": "Müller", "email": "jorg@example.de",
                                   "joined_on": date(2025, 1, 1)}, actor=desk)
    second = service.create_member({"first_name": "Eva", "last_name": "Smit", "joined_on": date(2025, 1, 1)}, actor=desk)
    db.session.commit()
    assert second.member_number == first.member_number + 1
    assert "jorg" in first.search_text and "jorg@example.de" in first.search_text
    event = _events(db, "member.create")[0]
    assert event.member_number == first.member_number
    assert json.loads(event.details) == {"fields": ["country", "email", "first_name", "joined_on", "last_name"]}
    assert "Jörg" not in event.details and "example" not in event.details


def test_update_member_refreshes_search_and_audits_changed_field_names(db, make_user, make_member):
    desk = make_user("front_desk")
    member = make_member(first_name="Anna", city="Utrecht")
    changed = service.update_member(member, {"first_name": "Anna", "city": "Zwolle", "last_name": "Jansen"}, actor=desk)
    db.session.commit()
    assert changed == ["last_name", "city"]
    assert "zwolle" in member.search_text and "utrecht" not in member.search_text
    details = json.loads(_events(db, "member.update")[0].details)
    assert details == {"fields": ["last_name", "city"]}
    assert service.update_member(member, {"city": "Zwolle"}, actor=desk) == []


def test_restricted_member_needs_an_override_with_a_reason(db, make_user, make_member):
    desk = make_user("front_desk")
    member = make_member(processing_restricted=True, city="Utrecht")
    with pytest.raises(MemberError) as refused:
        service.update_member(member, {"city": "Zwolle"}, actor=desk)
    assert refused.value.code == "restricted"
    with pytest.raises(MemberError):
        service.update_member(member, {"city": "Zwolle"}, actor=desk, override_reason="   ")
    assert _events(db, "member.update") == []

    service.update_member(member, {"city": "Zwolle"}, actor=desk, override_reason="Member disputed the old address")
    db.session.commit()
    assert member.city == "Zwolle"
    override = _events(db, "member.restriction_override")[0]
    details = json.loads(override.details)
    assert details["fields"] == ["city"]
    note = db.session.get(StaffNote, details["staff_note_id"])
    assert "Member disputed the old address" in note.body
    assert "disputed" not in override.details and "Zwolle" not in override.details
    assert json.loads(_events(db, "member.update")[0].details)["restriction_override"] is True


def test_check_in_registers_a_visit_and_refuses_what_it_should(db, make_user, make_member, frozen_clock):
    frozen_clock(datetime(2026, 3, 2, 9, 0))
    desk = make_user("front_desk")
    active = make_member()
    ended = make_member(status="ended", ended_on=date(2025, 12, 31))
    gone = make_member(status="anonymised")
    visit = service.check_in(active.member_number, actor=desk)
    db.session.commit()
    assert visit.member_id == active.id and visit.checked_in_at == datetime(2026, 3, 2, 9, 0)
    assert _events(db, "member.checkin")[0].member_number == active.member_number

    for number, code in ((ended.member_number, "ended"), (gone.member_number, "anonymised"), (999999, "unknown"),
                         ("abc", "unknown"), (active.member_number, "duplicate")):
        with pytest.raises(MemberError) as refused:
            service.check_in(number, actor=desk)
        assert refused.value.code == code
    frozen_clock(datetime(2026, 3, 2, 9, 6))
    service.check_in(active.member_number, actor=desk)
    assert db.session.query(Visit).count() == 2


def test_dashboard_counts_today_in_local_time(db, make_user, make_member, frozen_clock):
    frozen_clock(datetime(2026, 6, 15, 10, 0))
    member = make_member()
    make_member(status="ended", ended_on=date(2026, 1, 1))
    # 22:30 UTC on 14 June is 00:30 on 15 June in Amsterdam (summer time): today.
    db.session.add_all([Visit(member_id=member.id, checked_in_at=datetime(2026, 6, 14, 22, 30)),
                        Visit(member_id=member.id, checked_in_at=datetime(2026, 6, 14, 21, 30))])
    db.session.commit()
    assert service.dashboard_counts() == {"active_members": 1, "visits_today": 1}


def test_end_membership_ends_active_subscriptions(db, make_user, make_member, make_plan):
    desk = make_user("front_desk")
    member = make_member(joined_on=date(2024, 1, 1))
    running = service.add_subscription(member, plan=make_plan("Basis"), starts_on=date(2024, 1, 1), monthly_fee=Decimal("24.95"),
                                       actor=desk)
    later = service.add_subscription(member, plan=make_plan("Zomer"), starts_on=date(2026, 7, 1), ends_on=date(2026, 9, 1),
                                     monthly_fee=Decimal("10"), actor=desk)
    with pytest.raises(MemberError):
        service.end_membership(member, date(2023, 12, 1), actor=desk)
    assert service.end_membership(member, date(2026, 4, 30), actor=desk) == 2
    db.session.commit()
    assert member.status == "ended" and member.ended_on == date(2026, 4, 30)
    assert running.status == "ended" and running.ends_on == date(2026, 4, 30)
    assert later.status == "ended" and later.ends_on == date(2026, 7, 1)
    with pytest.raises(MemberError):
        service.end_membership(member, date(2026, 5, 1), actor=desk)
    with pytest.raises(MemberError):
        service.add_subscription(member, plan=make_plan("Basis"), starts_on=date(2026, 5, 1), monthly_fee=Decimal(1), actor=desk)


def test_consent_and_its_withdrawal(db, make_user, make_member, frozen_clock):
    frozen_clock(datetime(2026, 2, 1, 12, 0))
    desk = make_user("front_desk")
    member = make_member()
    consent = service.record_consent(member, "newsletter", via="form", actor=desk)
    with pytest.raises(MemberError):
        service.record_consent(member, "newsletter", actor=desk)
    with pytest.raises(MemberError):
        service.record_consent(member, "selling_data", actor=desk)
    frozen_clock(datetime(2026, 3, 1, 12, 0))
    service.withdraw_consent(consent, via="email", actor=desk)
    db.session.commit()
    assert consent.withdrawn_at == datetime(2026, 3, 1, 12, 0) and consent.withdrawn_via == "email"
    with pytest.raises(MemberError):
        service.withdraw_consent(consent, actor=desk)
    again = service.record_consent(member, "newsletter", actor=desk)  # may be given again later
    assert again.is_active
    assert [json.loads(e.details)["purpose"] for e in _events(db, "consent.withdraw")] == ["newsletter"]


def test_member_numbers_are_never_handed_out_twice(db, make_member):
    first = make_member()
    db.session.delete(first)
    db.session.commit()
    block = service.member_numbers_block(3)
    assert list(block) == [first.member_number + 1, first.member_number + 2, first.member_number + 3]
    assert service.next_member_number() == first.member_number + 4
    assert db.session.scalar(select(Member).where(Member.member_number == first.member_number)) is None


def test_search_text_keeps_names_apart_from_contact_details(make_member):
    member = make_member(first_name="Jörg", infix=None, last_name="Müller", email="x@example.nl", postcode="1234 AB",
                         city="Ede")
    names, contact = member.search_text.split(service.SEPARATOR)
    assert "jorg" in names and "muller" in names and str(member.member_number) in names
    assert "ede" not in names and "1234" not in names
    assert "x@example.nl" in contact and "1234 ab" in contact and "1234ab" in contact and "ede" in contact
    assert "0612345678" in contact  # make_member's phone, +31 6 12345678, as the digits staff type


@pytest.mark.parametrize("typed", ["06 18401421", "06-18401421", "+31 6 18401421", "0618401421", "0031 6 1840 1421",
                                   "+31 (0)6 18401421", "1840 1421"])
def test_search_finds_a_phone_number_typed_the_way_staff_type_it(db, make_user, make_member, typed):
    """On SQLite through the FTS5 contact column, on PostgreSQL through the trigram index on search_text."""
    member = make_member(last_name="Bellen", phone="06-184 014 21")
    make_member(last_name="Anders", phone="+31 6 55501234")
    assert _search(db, make_user("front_desk"), typed) == [member.member_number]


def test_a_phone_number_finds_nobody_for_users_without_contact_data(db, make_user, make_member):
    member = make_member(last_name="Bellen", phone="+31 6 18401421")
    trainer = make_user("trainer")  # members.view without members.contact
    for typed in ("06 18401421", "0618401421", "+31 6 18401421", "18401421"):
        assert _search(db, trainer, typed) == []
    assert _search(db, trainer, "bellen") == [member.member_number]


def test_a_foreign_phone_number_is_found_with_its_country_code(db, make_user, make_member):
    member = make_member(last_name="Schmidt", phone="+49 30 1234567")
    desk = make_user("front_desk")
    assert _search(db, desk, "0049 30 1234567") == [member.member_number]
    assert _search(db, desk, "+49 (30) 123-4567") == [member.member_number]


def test_a_changed_phone_number_is_found_by_its_new_digits_only(db, make_user, make_member):
    member = make_member(last_name="Bellen", phone="0612121212")
    desk = make_user("front_desk")
    service.update_member(member, {"phone": "0634343434"}, actor=desk)
    db.session.commit()
    assert _search(db, desk, "06 34343434") == [member.member_number]
    assert _search(db, desk, "06 12121212") == []


@pytest.mark.parametrize("value, digits", [("06 18401421", "0618401421"), ("+31 6 18401421", "0618401421"),
                                           ("0031-6-18401421", "0618401421"), ("+32 470 12 34 56", "0032470123456"),
                                           ("", ""), (None, "")])
def test_phone_digits(value, digits):
    assert service.phone_digits(value) == digits


def test_short_numbers_and_words_are_not_phone_searches():
    assert service.phone_query("1042") is None           # a member number
    assert service.phone_query("06 anna") is None
    assert service.phone_query("06 1840") == "061840"


def test_visit_statement_is_newest_first(db, make_member):
    member = make_member()
    now = datetime(2026, 1, 1, 10)
    db.session.add_all(Visit(member_id=member.id, checked_in_at=now + timedelta(days=d)) for d in (3, 1, 2))
    db.session.commit()
    visits = db.session.scalars(service.visits_statement(member)).all()
    assert [v.checked_in_at.day for v in visits] == [4, 3, 2]


def test_every_consent_purpose_has_a_human_label():
    from app.models.member import CONSENT_PURPOSES

    assert set(service.CONSENT_LABELS) == set(CONSENT_PURPOSES)


def test_the_migration_adds_the_phone_digits_to_members_already_stored(db, make_user, make_member):
    """0102_h17b_a on rows written before it (their search_text without the digits), and back."""
    import importlib.util
    from pathlib import Path

    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    from sqlalchemy import update

    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0102_h17b_a.py"
    spec = importlib.util.spec_from_file_location("migration_0102_h17b_a", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)

    member = make_member(last_name="Bellen", phone="+31 6 18401421")
    current = member.search_text
    before = current.removesuffix(" 0618401421")
    assert before != current
    db.session.execute(update(Member).where(Member.id == member.id).values(search_text=before))
    db.session.commit()
    desk = make_user("front_desk")
    assert _search(db, desk, "06 18401421") == []

    def run(step):
        with db.engine.begin() as connection, Operations.context(MigrationContext.configure(connection)):
            step()
        db.session.expire_all()

    run(migration.upgrade)
    assert db.session.get(Member, member.id).search_text == current  # what search_text_for writes now
    assert _search(db, desk, "06 18401421") == [member.member_number]
    run(migration.upgrade)  # twice is once
    assert db.session.get(Member, member.id).search_text == current
    run(migration.downgrade)
    assert db.session.get(Member, member.id).search_text == before
