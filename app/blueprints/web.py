"""Small helpers shared by the views (request parsing only; rules live in app/services)."""

from flask import request
from werkzeug.routing import IntegerConverter, UnicodeConverter

from app.blueprints.security import client_ip  # noqa: F401 - the one client address, re-exported for the views

# The largest id a database integer column holds (PostgreSQL integer, and so SQLite's too here).
MAX_DATABASE_INT = 2**31 - 1


class DatabaseIntConverter(IntegerConverter):
    """<int:...> in URLs: a number beyond what the database can hold is no such page (404), not a crash."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's argument name
        kwargs.setdefault("max", MAX_DATABASE_INT)
        super().__init__(map, *args, **kwargs)


class TextConverter(UnicodeConverter):
    """<name> in URLs: a part with control characters (a NUL byte) is no such page, not a database error."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's argument name
        super().__init__(map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", r"[^/\x00-\x1f\x7f]")


def page_arg(name: str = "page") -> int:
    """A page number from the query string; nonsense becomes page 1."""
    value = request.args.get(name, "1")
    # isdecimal, not isdigit: "²" is a digit that int() refuses
    return int(value) if value.isdecimal() and len(value) < 7 and int(value) > 0 else 1
