"""The fiscal obligation to keep invoices: 7 years from the end of the book year.

Dutch tax law (art. 52 of the Algemene wet inzake rijksbelastingen) sets it; the book year is
the calendar year. The erasure engine keeps such invoices, the retention sweep never deletes
them earlier, and both read the rule from here.
"""

from datetime import date

from app.services import clock

RETENTION_MONTHS = 84


def kept_until(issued_on: date, months: int = RETENTION_MONTHS) -> date:
    """The last day an invoice is kept: N months (never fewer than the legal 84) after its book year ends."""
    return clock.add_months(date(issued_on.year, 12, 31), max(months, RETENTION_MONTHS))


def oldest_kept_issue_date(today: date) -> date:
    """Invoices issued on or after this date are still under the legal retention."""
    return date(today.year - RETENTION_MONTHS // 12, 1, 1)
