"""The local store: one SQLite file (WAL) under OPENAGENTS_HOME, written only by `convex_writer`.

Other actors open it read-only (`Store.open(path, readonly=True)`).
"""

from oa_actors.store.store import AppliedBatch, Store, StoreError

__all__ = ["AppliedBatch", "Store", "StoreError"]
