"""What `search --mode semantic|hybrid` and `similar` share: whether semantic search can run here
and a `SemanticSearcher` over the read-only store (the model loaded in the CLI's own process).

Without the `semantic` extra, with `OPENAGENTS_EMBEDDINGS=0` or before the indexer has embedded
anything, `default_mode` is keyword and an explicit semantic request is refused with the reason.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from oa_actors.config import Config
from oa_actors.semantic import EmbeddingsUnavailable, model_status
from oa_actors.semantic.schema import GRAPH_FILE
from oa_actors.store import Store
from oa_actors.store.search import SearchError, SearchPage, SearchQuery

if TYPE_CHECKING:
    from oa_actors.semantic.query import SemanticSearcher, Similar


class Refused(RuntimeError):
    """Semantic search cannot run here; the message says why and what to do."""


def has_vectors(store: Store) -> bool:
    """Whether the indexer has stored any vector (False on a store older than the vector tables)."""
    try:
        return store.conn.execute("SELECT 1 FROM message_vectors LIMIT 1").fetchone() is not None
    except sqlite3.OperationalError:
        return False


def default_mode(cfg: Config, store: Store) -> str:
    """hybrid when embeddings exist and can be used, else keyword."""
    if cfg.embeddings and model_status().available and has_vectors(store):
        return "hybrid"
    return "keyword"


def searcher(cfg: Config, store: Store) -> SemanticSearcher:
    """A searcher over `store`; raises `Refused` with the reason when semantic search cannot run."""
    if not cfg.embeddings:
        raise Refused("embeddings are off (OPENAGENTS_EMBEDDINGS=0): use --mode keyword")
    status = model_status()
    if not status.available:
        raise Refused(f"semantic search is unavailable: {status.reason}; use --mode keyword")
    if not has_vectors(store):
        raise Refused(
            "the store has no embeddings yet: the indexer embeds messages while the supervisor runs "
            "(`oa-supervisor status` shows its backlog); use --mode keyword meanwhile"
        )
    from oa_actors.semantic.embedder import Embedder
    from oa_actors.semantic.query import SemanticError, SemanticSearcher

    try:
        embedder = Embedder.open(threads=1, cache_dir=cfg.home / "models")
        # A large store's HNSW graph, saved by the indexer, is read (and topped up in memory).
        return SemanticSearcher(store, embedder, graph=cfg.home / GRAPH_FILE)
    except EmbeddingsUnavailable as exc:
        raise Refused(f"semantic search is unavailable: {exc.reason}; use --mode keyword") from None
    except SemanticError as exc:
        raise Refused(exc.message) from None


def semantic_page(cfg: Config, store: Store, query: SearchQuery, mode: str) -> SearchPage:
    """One page of semantic or hybrid hits; bad input raises `SearchError` like keyword search."""
    from oa_actors.semantic.query import SemanticError

    found = searcher(cfg, store)
    try:
        return found.search(query, mode)
    except SemanticError as exc:
        raise SearchError(exc.code, exc.message) from None


def similar(cfg: Config, store: Store, ref: str, limit: int) -> Similar:
    """Threads like `ref`; bad input raises `SearchError`."""
    from oa_actors.semantic.query import SemanticError

    found = searcher(cfg, store)
    try:
        return found.similar(ref, limit)
    except SemanticError as exc:
        raise SearchError(exc.code, exc.message) from None
