"""Before a sweep: the counts per category, the typed total, and every member affected, a page at a time."""

import pytest

from app.models import Visit
from app.services import retention
from tests.retention.conftest import at


def _old_visits(db, members):
    db.session.add_all(Visit(member_id=m.id, checked_in_at=at(2019, 3, 1)) for m in members)
    db.session.commit()


def test_every_affected_member_is_listed_a_page_at_a_time(db, make_member, in_request):
    members = [make_member() for _ in range(5)]
    _old_visits(db, members)
    pages = [retention.affected_members(n, per_page=2, with_names=True) for n in (1, 2, 3)]
    assert [p.total for p in pages] == [5, 5, 5] and [p.pages for p in pages] == [3, 3, 3]
    listed = [m.member_number for p in pages for m in p.items]
    assert listed == sorted(m.member_number for m in members)  # each once, in order
    first = pages[0].items[0]
    assert first.full_name == members[0].full_name and first.categories == ["Visit history"]
    assert retention.affected_members(1, per_page=2).items[0].full_name is None  # no names unless asked
    assert retention.affected_members(99, per_page=2).page == 3  # a page past the end shows the last


def test_the_typed_total_must_match_the_counts(db, make_member, in_request):
    _old_visits(db, [make_member(), make_member()])
    forecasts = retention.forecast(sample_size=0)
    [row] = retention.sweep_plan(forecasts)
    assert (row.category, row.count, retention.plan_total(forecasts)) == ("visits", 2, 2)
    for wrong in ("", "3", "two", "-2"):
        with pytest.raises(retention.SweepConfirmationError) as refused:
            retention.check_confirmation(wrong, forecasts)
        assert refused.value.field == "confirm_total"
    retention.check_confirmation(" 2 ", forecasts)


def test_thousands_separators_are_accepted_and_nothing_due_needs_no_typing(db, make_member, in_request):
    forecasts = retention.forecast(sample_size=0)
    assert retention.plan_total(forecasts) == 0
    retention.check_confirmation("", forecasts)
    assert retention.affected_members().total == 0
    members = [make_member() for _ in range(3)]
    _old_visits(db, members * 400)  # 1,200 visits
    retention.check_confirmation("1.200", retention.forecast(sample_size=0))
    retention.check_confirmation("1,200", retention.forecast(sample_size=0))
