"""The fiscal retention rule that erasure and the retention sweep share."""

from datetime import date, timedelta

import pytest

from app.services import fiscal


@pytest.mark.parametrize("today", [date(2026, 11, 25), date(2026, 12, 31), date(2027, 1, 1), date(2028, 2, 29)])
def test_the_oldest_kept_invoice_is_exactly_the_first_not_yet_expired(today):
    oldest = fiscal.oldest_kept_issue_date(today)
    assert fiscal.kept_until(oldest) >= today
    assert fiscal.kept_until(oldest - timedelta(days=1)) < today


def test_seven_years_after_the_book_year_and_never_less():
    assert fiscal.kept_until(date(2019, 1, 1)) == date(2026, 12, 31)
    assert fiscal.kept_until(date(2019, 12, 31)) == date(2026, 12, 31)
    assert fiscal.kept_until(date(2019, 6, 1), months=12) == date(2026, 12, 31)  # a shorter policy is ignored
    assert fiscal.kept_until(date(2019, 6, 1), months=120) == date(2029, 12, 31)


@pytest.mark.parametrize("months", [84, 90, 120])
def test_the_sql_clauses_select_exactly_what_the_predicate_keeps(db, make_member, months):
    from decimal import Decimal

    from sqlalchemy import select

    from app.models import Invoice

    member = make_member()
    today = date(2026, 11, 25)
    cases = []
    for year in range(2014, 2027):
        for status in ("open", "paid", "cancelled"):
            number = f"F-{year}-{status}"
            db.session.add(Invoice(member_id=member.id, number=number, issued_on=date(year, 6, 1),
                                   due_on=date(year, 7, 1), amount=Decimal("10.00"), status=status,
                                   billing_name="X"))
            cases.append((number, date(year, 6, 1), status))
    db.session.flush()
    kept = set(db.session.scalars(select(Invoice.number).where(fiscal.kept_clause(today, months))))
    expired = set(db.session.scalars(select(Invoice.number).where(fiscal.expired_clause(today, months))))
    expected = {number for number, issued_on, status in cases if fiscal.is_kept(issued_on, status, today, months)}
    assert kept == expected
    assert expired == {number for number, *_rest in cases} - expected
    assert "F-2014-open" in kept and "F-2014-paid" in expired  # an open claim is kept at any age


def test_an_old_open_invoice_kept_after_erasure_is_reported_as_kept_by_law(db, make_member):
    from decimal import Decimal

    from app.models import Invoice
    from app.services import erasure

    member = make_member(last_name="Quastenbroek")
    old_year = date.today().year - 10
    db.session.add(Invoice(member_id=member.id, number="OPEN-OLD", issued_on=date(old_year, 3, 1),
                           due_on=date(old_year, 4, 1), amount=Decimal("12.50"), status="open",
                           billing_name=member.full_name))
    db.session.flush()
    identifiers = erasure.identifiers_of(member)
    assert erasure.erase_member(member, "delete", None) == 1
    report = erasure.verify(identifiers)
    assert report["failures"] == 0, report["hits"]
    assert [hit["table"] for hit in report["hits"] if hit["status"] == "kept_by_law"] == ["invoices"]


def test_the_prose_names_the_constant():
    from app.services import erasure

    assert f"({fiscal.RETENTION_YEARS} years after" in str(erasure.EXCEPTION_LABELS["fiscal_retention"])
