"""VectorIndex: exact search is exact, HNSW finds the same neighbours, ids are added once, fusion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from oa_actors.semantic.vectors import VectorIndex, normalize, reciprocal_rank_fusion


def clustered(n: int, dim: int = 64, clusters: int = 50, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = normalize(rng.standard_normal((clusters, dim)))
    x = centers[rng.integers(0, clusters, n)] + rng.standard_normal((n, dim)) / np.sqrt(dim)
    return normalize(x)


def brute_force(x: np.ndarray, q: np.ndarray, k: int) -> list[int]:
    return [int(i) for i in np.argsort(-(x @ q), kind="stable")[:k]]


def test_exact_search_equals_brute_force() -> None:
    x = clustered(3000)
    index = VectorIndex(64)
    assert index.add(np.arange(1, 3001), x) == 3000
    q = clustered(5, seed=1)
    for v in q:
        ids, scores = index.search(v, 10)
        assert [i - 1 for i in ids.tolist()] == brute_force(x, v, 10)
        assert np.allclose(scores, np.sort(x @ v)[::-1][:10], atol=1e-5)


def test_adding_an_id_twice_is_a_no_op_and_bad_shapes_fail() -> None:
    index = VectorIndex(8)
    v = normalize(np.eye(8)[:3])
    assert index.add([1, 2, 3], v) == 3
    assert index.add([2, 3, 4], normalize(np.eye(8)[3:6])) == 1
    assert len(index) == 4 and 4 in index and index.max_id == 4
    ids, _ = index.search(np.eye(8)[1], 1)
    assert ids.tolist() == [2]  # the first vector under id 2 was kept
    with pytest.raises(ValueError):
        index.add([9], np.ones((2, 8)))
    with pytest.raises(ValueError):
        index.add([7, 7], np.ones((2, 8)))


def test_filter_widens_until_k_accepted() -> None:
    x = clustered(2000)
    index = VectorIndex(64)
    index.add(np.arange(1, 2001), x)
    ids, _ = index.search(x[0], 10, where=lambda i: i % 97 == 0)
    assert len(ids) == 10 and all(i % 97 == 0 for i in ids.tolist())
    expected = [i for i in (np.argsort(-(x @ x[0])) + 1).tolist() if i % 97 == 0][:10]
    assert ids.tolist() == expected
    assert index.search(x[0], 0)[0].size == 0
    assert VectorIndex(64).search(x[0], 5)[0].size == 0


@pytest.mark.parametrize("kind", ["exact", "hnsw"])
def test_recall_at_10_against_exact(kind: str) -> None:
    x = clustered(5000, dim=96, clusters=200)
    index = VectorIndex(96, kind)  # type: ignore[arg-type]
    index.add(np.arange(1, 5001), x)
    queries = clustered(50, dim=96, clusters=200, seed=3)
    hits = 0
    for q in queries:
        got = {i - 1 for i in index.search(q, 10)[0].tolist()}
        hits += len(got & set(brute_force(x, q, 10)))
    assert hits / 500 >= 0.95


def test_hnsw_save_load_and_top_up(tmp_path: Path) -> None:
    x = clustered(1000)
    index = VectorIndex(64, "hnsw")
    index.add(np.arange(1, 801), x[:800])
    path = tmp_path / "messages.usearch"
    index.save(path)
    loaded = VectorIndex.load(path, 64)
    assert len(loaded) == 800 and loaded.max_id == 800
    assert loaded.add(np.arange(700, 1001), x[699:]) == 200  # only the ids after the save are new
    assert loaded.search(x[900], 1)[0].tolist() == [901]
    path.write_bytes(b"not an index")
    with pytest.raises(ValueError, match="cannot load"):
        VectorIndex.load(path, 64)
    with pytest.raises(ValueError):
        VectorIndex(64).save(path)


def test_reciprocal_rank_fusion() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "a", "d"]], k=60)
    assert [item for item, _ in fused] == ["a", "c", "b", "d"]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[3][1] == pytest.approx(1 / 63)
    assert reciprocal_rank_fusion([["x"], []], limit=1) == [("x", pytest.approx(1 / 61))]
    assert reciprocal_rank_fusion([]) == []
