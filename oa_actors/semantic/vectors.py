"""In-memory vector search over unit vectors, and reciprocal rank fusion for hybrid search.

`VectorIndex` answers "the k vectors most similar to this one" (cosine = inner product of unit
vectors) over int64 ids. It is derived data: the vectors live in the store (vector_store.py) and an
index is rebuilt or topped up from there, so a crash can lose an index file but never a vector.

Two index kinds behind one API, chosen by size (measured in benches/test_bench_semantic.py):
- `exact`: a float32 matrix and one matrix-vector product per query. Exact, no build cost; about
  1 ms per 10,000 vectors on one core, so it serves up to a few hundred thousand vectors.
- `hnsw`: usearch's HNSW graph with float16 vectors (pip `usearch`), for the million-vector scale:
  sub-millisecond to a few ms per query at recall@10 >= 0.95, but inserting costs ~1-2 ms a vector.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
IndexKind = Literal["exact", "hnsw"]
H = TypeVar("H", bound=Hashable)

# HNSW parameters: connectivity 16 / expansion 128 on insert; search expansion tuned for recall@10.
HNSW_CONNECTIVITY = 16
HNSW_EXPANSION_ADD = 128
HNSW_EXPANSION_SEARCH = 128


def hnsw_available() -> bool:
    """Whether the `usearch` package (the HNSW index) is installed."""
    return importlib.util.find_spec("usearch") is not None


def normalize(vectors: npt.ArrayLike) -> F32:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    v = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    out: F32 = np.divide(v, norms, out=np.zeros_like(v), where=norms > 0)
    return out


class VectorIndex:
    """Nearest-neighbour search by cosine over (id, unit vector) pairs; adding an id twice is a no-op."""

    def __init__(self, dim: int, kind: IndexKind = "exact") -> None:
        self.dim = dim
        self.kind: IndexKind = kind
        self._hnsw: Any = None
        self._ids: I64 = np.zeros(0, dtype=np.int64)
        self._matrix: F32 = np.zeros((0, dim), dtype=np.float32)
        self._count = 0
        self._known: set[int] = set()
        if kind == "hnsw":
            from usearch.index import Index

            self._hnsw = Index(
                ndim=dim,
                metric="ip",
                dtype="f16",
                connectivity=HNSW_CONNECTIVITY,
                expansion_add=HNSW_EXPANSION_ADD,
                expansion_search=HNSW_EXPANSION_SEARCH,
            )

    def __len__(self) -> int:
        return self._count

    def __contains__(self, vector_id: object) -> bool:
        return vector_id in self._known

    @property
    def max_id(self) -> int:
        """The largest id added (0 when empty): where a top-up from the store resumes."""
        return max(self._known, default=0)

    def add(self, ids: Sequence[int] | I64, vectors: npt.ArrayLike, *, threads: int = 1) -> int:
        """Adds vectors (normalized here) under their ids, skipping ids already present; returns the
        number added. Raises ValueError on a shape mismatch."""
        id_arr = np.asarray(ids, dtype=np.int64).reshape(-1)
        vecs = normalize(vectors)
        if vecs.shape != (len(id_arr), self.dim):
            raise ValueError(f"expected {len(id_arr)} vectors of {self.dim} floats, got {vecs.shape}")
        fresh = np.array([i not in self._known for i in id_arr.tolist()], dtype=bool)
        fresh_ids = id_arr[fresh]
        if len(np.unique(fresh_ids)) != len(fresh_ids):
            raise ValueError("duplicate ids in one add() call")
        if not len(fresh_ids):
            return 0
        fresh_vecs = vecs[fresh]
        if self._hnsw is not None:
            self._hnsw.add(fresh_ids.astype(np.uint64), fresh_vecs, threads=threads)
        else:
            self._append(fresh_ids, fresh_vecs)
        self._known.update(fresh_ids.tolist())
        self._count += len(fresh_ids)
        return len(fresh_ids)

    def _append(self, ids: I64, vecs: F32) -> None:
        need = self._count + len(ids)
        if need > len(self._ids):
            cap = max(need, 2 * len(self._ids), 1024)
            matrix = np.zeros((cap, self.dim), dtype=np.float32)
            matrix[: self._count] = self._matrix[: self._count]
            grown = np.zeros(cap, dtype=np.int64)
            grown[: self._count] = self._ids[: self._count]
            self._matrix, self._ids = matrix, grown
        self._matrix[self._count : need] = vecs
        self._ids[self._count : need] = ids

    def search(
        self, vector: npt.ArrayLike, k: int = 10, where: Callable[[int], bool] | None = None
    ) -> tuple[I64, F32]:
        """The ids and cosine scores of the `k` most similar vectors, best first.

        `where(id)` keeps only the ids it accepts (e.g. one project's threads); the search widens
        until it has `k` of them or has seen everything.
        """
        if k <= 0 or self._count == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        q = normalize(vector)[0]
        want = k if where is None else min(self._count, 4 * k)
        while True:
            ids, scores = self._top(q, min(want, self._count))
            if where is not None:
                keep = np.array([where(int(i)) for i in ids], dtype=bool)
                ids, scores = ids[keep], scores[keep]
            if len(ids) >= k or want >= self._count:
                return ids[:k], scores[:k]
            want *= 4

    def _top(self, q: F32, k: int) -> tuple[I64, F32]:
        if self._hnsw is not None:
            self._hnsw.expansion_search = max(HNSW_EXPANSION_SEARCH, k)
            matches = self._hnsw.search(q, k, threads=1)
            ids = np.asarray(matches.keys, dtype=np.int64)
            # usearch's "ip" distance is 1 - dot product.
            scores = (1.0 - np.asarray(matches.distances, dtype=np.float32)).astype(np.float32)
            return ids, scores
        scores_all = self._matrix[: self._count] @ q
        top = np.argpartition(-scores_all, k - 1)[:k] if k < self._count else np.arange(self._count)
        top = top[np.argsort(-scores_all[top], kind="stable")]
        return self._ids[top], scores_all[top].astype(np.float32)

    def save(self, path: Path) -> None:
        """Writes the HNSW graph to `path` atomically (temporary name, then rename). Exact indexes are
        rebuilt from the store in seconds and are not saved."""
        if self._hnsw is None:
            raise ValueError("only the hnsw index is saved; rebuild exact indexes from the store")
        tmp = path.with_name(path.name + ".tmp")
        self._hnsw.save(str(tmp))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, dim: int) -> VectorIndex:
        """An HNSW index saved by `save`. Raises ValueError when the file is unreadable or another
        dimension: the caller then rebuilds from the store."""
        index = cls(dim, "hnsw")
        try:
            index._hnsw.load(str(path))
        except Exception as e:  # usearch raises plain RuntimeErrors for a damaged file
            raise ValueError(f"cannot load vector index {path}: {e}") from e
        if index._hnsw.ndim != dim:
            raise ValueError(f"vector index {path} has {index._hnsw.ndim} dimensions, expected {dim}")
        keys = np.asarray(index._hnsw.keys, dtype=np.int64)
        index._known = set(keys.tolist())
        index._count = len(keys)
        return index


def reciprocal_rank_fusion(
    rankings: Iterable[Sequence[H]], k: int = 60, limit: int | None = None
) -> list[tuple[H, float]]:
    """Fuses ranked lists (e.g. keyword hits and vector hits) by reciprocal rank fusion.

    Each item scores the sum over the lists containing it of 1 / (k + rank), rank starting at 1
    (Cormack et al., 2009; k = 60 is their constant). Returns (item, score), best first; ties keep
    the order of first appearance.
    """
    scores: dict[H, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    fused = sorted(scores.items(), key=lambda kv: -kv[1])
    return fused if limit is None else fused[:limit]
