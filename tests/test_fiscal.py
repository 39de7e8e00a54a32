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
