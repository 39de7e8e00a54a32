"""The fiscal obligation to keep invoices: the one home of "what the law keeps on invoices".

Dutch tax law (art. 52 of the Algemene wet inzake rijksbelastingen) obliges the club to keep
its books, invoices included, for ``RETENTION_YEARS`` years after the end of the book year
(the calendar year). An invoice that is still open is kept whatever its age: the club still
has a claim. The rule exists twice, in the two forms its callers need, and both are defined
here so they cannot drift:

- ``is_kept(issued_on, status, today)``: the Python predicate (the erasure preview, the
  residual scan after an erasure);
- ``kept_clause(today)`` / ``expired_clause(today)``: the same rule as SQL conditions on
  ``invoices`` (the erasure engine keeps what ``kept_clause`` selects, the retention sweep
  deletes what ``expired_clause`` selects).

A club may keep invoices longer than the law (the retention policy's period); every function
takes that period in months and never goes below the legal minimum.
"""

from datetime import date

from sqlalchemy import and_, exists, or_

from app.models import Invoice
from app.models.member import INVOICE_STATUSES
from app.services import clock

RETENTION_MONTHS = 84
RETENTION_YEARS = RETENTION_MONTHS // 12
OPEN = INVOICE_STATUSES[0]  # "open": the invoice status that means "the club still has a claim"


def _months(months: int) -> int:
    return max(months, RETENTION_MONTHS)


def kept_until(issued_on: date, months: int = RETENTION_MONTHS) -> date:
    """The last day an invoice is kept: N months (never fewer than the legal 84) after its book year ends."""
    return clock.add_months(date(issued_on.year, 12, 31), _months(months))


def last_expired_book_year_end(today: date, months: int = RETENTION_MONTHS) -> date:
    """The latest book-year end (31 December) whose retention period ended before today."""
    months = _months(months)
    year = today.year
    while clock.add_months(date(year, 12, 31), months) >= today:
        year -= 1
    return date(year, 12, 31)


def oldest_kept_issue_date(today: date, months: int = RETENTION_MONTHS) -> date:
    """Invoices issued on or after this date are still under the retention period."""
    last = last_expired_book_year_end(today, months)
    return date(last.year + 1, 1, 1)


def is_open(status: str | None) -> bool:
    return status == OPEN


def is_kept(issued_on: date | None, status: str | None, today: date, months: int = RETENTION_MONTHS) -> bool:
    """Whether the law keeps this invoice today: still open, or under the retention period."""
    if is_open(status):
        return True
    return issued_on is not None and kept_until(issued_on, months) >= today


def open_clause():
    """SQL: the invoice is open (a claim)."""
    return Invoice.status == OPEN


def kept_clause(today: date, months: int = RETENTION_MONTHS):
    """SQL twin of is_kept: the invoices the law keeps today."""
    return or_(Invoice.issued_on >= oldest_kept_issue_date(today, months), open_clause())


def expired_clause(today: date, months: int = RETENTION_MONTHS):
    """SQL: the invoices the law no longer keeps (paid or cancelled, retention period over)."""
    return and_(Invoice.issued_on < oldest_kept_issue_date(today, months), Invoice.status != OPEN)


def has_open_invoice(member_id_column):
    """SQL: the member (a correlated id column) has an open invoice."""
    return exists().where(Invoice.member_id == member_id_column, open_clause())
