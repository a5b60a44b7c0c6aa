"""Applying row batches straight to a Store (no actors): `oa-supervisor backfill` and tests."""

from __future__ import annotations

from oa_actors.messages import RowBatch
from oa_actors.store import Store


class StoreSink:
    """`send` for TailerService/TailerCore that commits each batch to the store directly."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.committed = 0

    async def __call__(self, batch: RowBatch) -> None:
        applied = self.store.apply_batch(
            batch.threads, batch.messages, checkpoints=batch.all_checkpoints(), fts=batch.fts
        )
        self.committed += len(applied.messages)

    async def forget(self, path: str) -> None:
        self.store.delete_checkpoint(path)
