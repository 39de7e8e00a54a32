"""The lock registry: every kind of writer has its own advisory key."""

from sqlalchemy import select

from app.models import Counter
from app.services import locks


def test_each_lock_has_its_own_key():
    keys = [lock.key for lock in locks.REGISTRY.values()]
    assert len(keys) == len(set(keys))
    assert locks.REGISTRY["erasure_ledger"].key != locks.REGISTRY["admin_changes"].key


def test_the_counter_upsert_creates_then_counts(db):
    locks.bump_counter("test_counter")
    locks.bump_counter("test_counter")
    assert db.session.scalar(select(Counter.value).where(Counter.name == "test_counter")) == 2
