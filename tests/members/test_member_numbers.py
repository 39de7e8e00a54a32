"""Member numbers typed by people or read from URLs: one parser for every place that needs one."""

import pytest

from app.services.members import MAX_MEMBER_NUMBER, parse_member_number


@pytest.mark.parametrize(("typed", "number"), [
    ("1042", 1042), ("#1042", 1042), (" 1042 ", 1042), (1042, 1042),
    ("", None), (None, None), ("abc", None), ("-5", None), ("0", None), ("1_000", None), ("²", None),
    (str(MAX_MEMBER_NUMBER + 1), None), ("9" * 40, None), (True, None),
])
def test_parse_member_number(typed, number):
    assert parse_member_number(typed) == number
