"""The one clock of the application, so tests can move time (deadlines, retention).

All stored times are naive UTC; dates a person sees (due dates, book years) are
local dates in the club's time zone.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL_ZONE = ZoneInfo("Europe/Amsterdam")

_frozen: datetime | None = None


def utcnow() -> datetime:
    """Now, as a naive UTC datetime."""
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC).replace(tzinfo=None)


def today() -> date:
    """Today's date in the club's time zone."""
    return utcnow().replace(tzinfo=UTC).astimezone(LOCAL_ZONE).date()


def freeze(moment: datetime | date | None) -> None:
    """Stop the clock at a moment (naive UTC); None lets it run again. For tests and tools."""
    global _frozen
    if isinstance(moment, date) and not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, 12, 0)
    _frozen = moment


def advance(delta: timedelta) -> None:
    """Move a frozen clock forward."""
    global _frozen
    if _frozen is None:
        raise RuntimeError("advance() needs a frozen clock")
    _frozen = _frozen + delta


def add_months(day: date, months: int) -> date:
    """The same day N months later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    for candidate in (31, 30, 29, 28):
        if day.day <= candidate:
            try:
                return date(year, month, min(day.day, candidate))
            except ValueError:
                continue
    return date(year, month, 28)


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The naive-UTC start of the club's local calendar day and the start of the next one."""
    start = datetime.combine(day, time.min, tzinfo=LOCAL_ZONE).astimezone(UTC).replace(tzinfo=None)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=LOCAL_ZONE).astimezone(UTC).replace(tzinfo=None)
    return start, end
