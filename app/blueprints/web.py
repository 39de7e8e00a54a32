"""Small helpers shared by the views (request parsing only; rules live in app/services)."""

from dataclasses import dataclass

from flask import abort, flash, request
from werkzeug.routing import IntegerConverter, UnicodeConverter
from wtforms import Field

from app.blueprints.security import client_ip  # noqa: F401 - the one client address, re-exported for the views
from app.extensions import db
from app.services.errors import DomainError

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


def choice_arg(name: str, allowed, default: str) -> str:
    """A query-string value that must be one of `allowed` (a filter, a sort); anything else is the default."""
    value = request.args.get(name, default)
    return value if value in allowed else default


@dataclass
class Outcome:
    """What attempt() did: whether the service call went through, its return value, or the refusal."""

    ok: bool
    value: object = None
    error: DomainError | None = None


def field_error(form, error: DomainError) -> None:
    """A refusal beside the form's field it is about (its `field`), or flashed when it names none of them."""
    target = getattr(form, error.field, None) if error.field else None
    if isinstance(target, Field):
        target.errors = [*target.errors, str(error)]
    else:
        flash(str(error), "error")


def attempt(action, success=None, *, category: str = "success", on_error=None, form=None) -> Outcome:
    """Run one service call as the request's transaction, the way every form post does.

    It went through: commit, then flash `success` (a message, or a function of the call's
    return value giving one). A rule refused it (a DomainError): roll back, then hand the
    error to `on_error`, or put it beside its field of `form` (field_error), or flash it.
    """
    if on_error is None and form is not None:
        def on_error(error):
            field_error(form, error)
    try:
        value = action()
    except DomainError as error:
        db.session.rollback()
        if on_error is None:
            flash(str(error), "error")
        else:
            on_error(error)
        return Outcome(False, error=error)
    db.session.commit()
    message = success(value) if callable(success) else success
    if message:
        flash(message, category)
    return Outcome(True, value)


def member_or_404(member_number):
    """The member with this number, or the 404 page (a number out of range is no such member too)."""
    from app.services.members import find_by_number

    member = find_by_number(member_number)
    if member is None:
        abort(404)
    return member


def request_or_404(reference: str):
    """The data request with this reference, or the 404 page."""
    from app.services.privacy_requests import get_by_reference

    data_request = get_by_reference(reference)
    if data_request is None:
        abort(404)
    return data_request
