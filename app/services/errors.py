"""The one base for refusals by a rule, so the web pages, the CLI and the API map them alike.

A ``DomainError`` carries a message meant for the person who tried (translated lazily where
it is a lazy string), a stable ``code`` a program can branch on, and the form ``field`` the
refusal is about, if any. Pages flash the message (or put it next to the field); the API
answers 422 with ``{"code", "message", "field"}``.
"""


class DomainError(Exception):
    """A change refused by a rule; str() is a sentence for the person who tried it."""

    code = "refused"

    def __init__(self, message="", code: str | None = None, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        if code is not None:
            self.code = code
        self.field = field
