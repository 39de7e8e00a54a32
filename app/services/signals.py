"""Signals that other areas subscribe to, so a service does not need to know who listens.

- ``erasing``: sent inside an erasure's transaction, before any row changes, with
  ``member_ids``, ``method`` and ``source``; the same ids are staged in the engine's batch
  table, which a receiver reads with ``erasure._batch_ids()`` (one statement for a sweep's
  25,000 members, instead of an IN list of them). The rows can still be read (the integrations
  outbox queues partner deletions, the changes feed writes its entries). A receiver that
  raises refuses the erasure: the transaction is rolled back and nothing changes.
- ``erased``: sent after the statements, still inside the transaction, with the same
  arguments: for derived copies of member data the engine does not know (a search index).
- ``members_changed``: members' data changed without the ORM seeing it (a plan's merge or partner
  mapping, sender: the plan; an import's bulk insert, sender: the import), with ``member_ids`` and
  ``kind`` ("changed", or "created" for new members); the integrations outbox tells the partners.
- ``account_changed``: a security setting of an account changed (sender: the user), with
  ``change`` (password, password_reset, two_factor_on, two_factor_off, two_factor_reset); the
  mail service queues a notice to the account's address.

Receivers run in the order they connected; blinker (a Flask dependency) delivers them.
"""
from blinker import Namespace

_signals = Namespace()

erasing = _signals.signal("erasure.erasing")
erased = _signals.signal("erasure.erased")
members_changed = _signals.signal("plans.members_changed")
account_changed = _signals.signal("accounts.account_changed")
