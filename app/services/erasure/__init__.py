"""The erasure engine: delete or anonymise members, set-based, in the caller's transaction.

Used by the erasure wizard (one member), the retention sweep (thousands at once) and
`privacy reapply-erasures`. Every statement works on chunks of member ids, so erasing
100,000 members costs a few hundred SQL statements, not a loop over ORM objects. Nothing
is committed here: the caller commits once, so a failure anywhere leaves every row as it was.

What happens per table (the preview shows the same rules to staff before anything runs):
- consents, health notes, staff notes, lifted legal holds: deleted (both methods);
- visits and subscriptions: deleted, or kept as statistics on the anonymised row;
- invoices: what services/fiscal.py says the law keeps (the retention period after the end of
  the book year, and open ones) is detached from the member with its billing copy; the rest goes;
- data requests: the register row stays (reference, kind, dates), requester details removed;
- the member row: deleted, or every personal field cleared and search_text emptied.

The package (every public name stays importable from ``app.services.erasure``):
- ``engine``: erase_members / erase_member, the batch table, the per-table statements;
- ``assessment``: find_exceptions and the preview (what is deleted, anonymised, kept and why);
- ``scan``: identifiers_of, verify (every text column) and verify_files (the raw SQLite files);
- ``reapply``: after a restore, the ledger applied again (``ledger.health`` says when it is needed).
"""

from app.services.erasure.assessment import (
    EXCEPTION_LABELS,
    TABLE_WORDS,
    PreviewRow,
    find_exceptions,
    preview,
    table_words,
)
from app.services.erasure.engine import (
    ANONYMISED_VALUES,
    BATCH,
    BATCH_MEMBERS,
    BATCH_TO_ANONYMISE,
    CHUNK,
    HANDLED,
    METHODS,
    ErasureError,
    LegalHoldError,
    _batch_ids,
    erase_member,
    erase_members,
)
from app.services.erasure.reapply import (
    ReapplyResult,
    identifiers_of_many,
    reapply,
)
from app.services.erasure.scan import (
    FILE_SHARED_KINDS,
    IDENTIFIER_KINDS,
    MIN_LENGTH,
    SKIP_COLUMNS,
    Identifiers,
    identifiers_of,
    report_json,
    verify,
    verify_files,
)
from app.services.ledger import members_back  # its home is the ledger; importable here as before

__all__ = [
    "TABLE_WORDS",
    "table_words",
    "ANONYMISED_VALUES",
    "BATCH",
    "BATCH_MEMBERS",
    "BATCH_TO_ANONYMISE",
    "CHUNK",
    "EXCEPTION_LABELS",
    "ErasureError",
    "FILE_SHARED_KINDS",
    "HANDLED",
    "IDENTIFIER_KINDS",
    "Identifiers",
    "LegalHoldError",
    "METHODS",
    "MIN_LENGTH",
    "PreviewRow",
    "ReapplyResult",
    "SKIP_COLUMNS",
    "_batch_ids",
    "erase_member",
    "erase_members",
    "find_exceptions",
    "identifiers_of",
    "identifiers_of_many",
    "members_back",
    "preview",
    "reapply",
    "report_json",
    "verify",
    "verify_files",
]
