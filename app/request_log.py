"""No query string in a request log line: the development server's log is filtered here.

Query strings carry search terms (`/members?q=<a name>`), so neither access log may record
them: gunicorn's format in gunicorn.conf.py leaves them out, and werkzeug's request lines
(`flask run`, `make run`) lose everything from the `?` on before any handler sees them.
"""

import logging
import re

# "GET /members?q=Anna HTTP/1.1" (possibly wrapped in colour codes) -> "GET /members HTTP/1.1"
_REQUEST_LINE = re.compile(r"([A-Z]{3,10} [^\s?]*)\?[^\s]*(?=\s+HTTP/)")


def strip_query(text: str) -> str:
    return _REQUEST_LINE.sub(r"\1", text)


class NoQueryStringFilter(logging.Filter):
    """Removes query strings from request lines in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "HTTP/" in record.msg:
            record.msg = strip_query(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(strip_query(arg) if isinstance(arg, str) and "HTTP/" in arg else arg
                                for arg in record.args)
        return True


def install() -> None:
    """Attach the filter to werkzeug's logger once (create_app may run several times in one process)."""
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(existing, NoQueryStringFilter) for existing in logger.filters):
        logger.addFilter(NoQueryStringFilter())
