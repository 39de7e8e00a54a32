"""After a restore: the ledger applied again (lost ledger rows back, returned members erased again)."""

from dataclasses import dataclass, field

from sqlalchemy import (
    select,
)

from app.extensions import db
from app.models import (
    Member,
)
from app.services import audit, ledger
from app.services.erasure.engine import _chunks, erase_members
from app.services.erasure.scan import identifiers_of

# --- the ledger applied again after a restore ---------------------------------------------

@dataclass
class ReapplyResult:
    file_entries: int = 0
    table_rows_restored: int = 0
    chain_problems: list = field(default_factory=list)
    found: list = field(default_factory=list)  # (member id, member number, method, reference)
    erased: int = 0
    identifiers: dict = field(default_factory=dict)  # kind -> values of the members erased again (in memory only)


def identifiers_of_many(member_ids) -> dict[str, list[str]]:
    """The identifiers of many members merged per kind (for one file scan after a reapply or restore)."""
    merged: dict[str, set[str]] = {}
    for chunk in _chunks(member_ids):
        for member in db.session.scalars(select(Member).where(Member.id.in_(chunk))):
            for kind, values in identifiers_of(member).items():
                if not kind.startswith("_"):
                    merged.setdefault(kind, set()).update(values)
    return {kind: sorted(values) for kind, values in merged.items()}


def reapply(actor, *, dry_run: bool = False) -> ReapplyResult:
    """After a restore: put lost ledger rows back and erase the members that came back, the same way."""
    if not dry_run:
        ledger.lock()  # two hosts re-applying at once would only queue behind each other
    health = ledger.check(ledger.read_file())
    missing = health.missing
    result = ReapplyResult(file_entries=len(health.entries), chain_problems=health.chain_problems,
                           table_rows_restored=len(missing), found=health.back)
    if dry_run:
        return result
    if missing:
        ledger.restore_table_rows(missing)
    groups: dict[tuple[str, str | None], list[int]] = {}
    for member_id, _number, method, reference in result.found:
        groups.setdefault((method, reference), []).append(member_id)
    result.identifiers = identifiers_of_many([member_id for member_id, *_rest in result.found])
    for (method, reference), ids in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1] or "")):
        result.erased += erase_members(ids, method, actor, source="reapply", request_reference=reference,
                                       _ignore_holds=True)
    audit.record("privacy.reapply_erasures", actor, details={
        "restored_ledger_rows": result.table_rows_restored, "erased": result.erased,
    })
    return result
