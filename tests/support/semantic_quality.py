"""The labelled set through the product's own search paths: keyword (store/search.py, BM25 over the
FTS index), semantic and hybrid (oa_actors/semantic/query.py) on a real store the indexer filled.

Two query sets per session: `paraphrased` (the set's query: no content word in common with the
session, so it measures meaning) and `literal` (the two longest words of the session's first
prompt: what a user who remembers the words types). A method's ranking of threads is the order in
which their messages first appear among its hits (50 per query).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from oa_actors.semantic.indexing import Indexing, connect
from oa_actors.semantic.query import SemanticSearcher
from oa_actors.store import Store
from oa_actors.store.search import SearchError, SearchQuery, search
from tests.semantic.test_indexing import fill
from tests.support.semantic_eval import Scores, _metrics, _rank
from tests.support.semantic_sessions import STOP_WORDS, LabelledSession, load_sessions, write_rollouts

MODES = ("keyword", "semantic", "hybrid")
QUERY_SETS = ("paraphrased", "literal")
HITS = 50


def literal_query(session: LabelledSession) -> str:
    """The two longest non-stop words of the session's first prompt (ties: first seen)."""
    words = [w for w in re.findall(r"[A-Za-z]+", session.turns[0][0]) if w.lower() not in STOP_WORDS]
    longest = sorted(dict.fromkeys(words), key=lambda w: -len(w))[:2]
    return " ".join(longest)


def _threads(hits: list[Any]) -> list[str]:
    return list(dict.fromkeys(h.thread_id for h in hits))


def evaluate_product(
    embedder: Any, sessions: list[LabelledSession] | None = None
) -> dict[str, dict[str, dict[str, Scores]]]:
    """{query set: {mode: {"all" | "tune" | "holdout": Scores}}}."""
    sessions = sessions or load_sessions()
    ranks: dict[str, dict[str, list[tuple[str, int | None]]]] = {
        qs: {m: [] for m in MODES} for qs in QUERY_SETS
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.sqlite3"
        with Store.open(path) as store:
            fill(store, write_rollouts(Path(tmp) / "sessions", sessions))
            conn = connect(path)
            indexing = Indexing(conn, embedder)
            while indexing.step() is not None:
                pass
            conn.close()
        searcher = SemanticSearcher.open(path, embedder)
        try:
            for s in sessions:
                for qs, text in (("paraphrased", s.query), ("literal", literal_query(s))):
                    query = SearchQuery(text, limit=HITS)
                    try:
                        keyword = _threads(search(searcher.store, query).hits)
                    except SearchError:
                        keyword = []
                    ranked = {
                        "keyword": keyword,
                        "semantic": _threads(searcher.search(query, "semantic").hits),
                        "hybrid": _threads(searcher.search(query, "hybrid").hits),
                    }
                    for mode, threads in ranked.items():
                        ranks[qs][mode].append((s.split, _rank(threads, s.thread_id)))
        finally:
            searcher.close()
    out: dict[str, dict[str, dict[str, Scores]]] = {}
    for qs, by_mode in ranks.items():
        out[qs] = {}
        for mode, rs in by_mode.items():
            out[qs][mode] = {"all": _metrics([r for _, r in rs])}
            for split in ("tune", "holdout"):
                out[qs][mode][split] = _metrics([r for sp, r in rs if sp == split])
    return out


def product_table(results: dict[str, dict[str, dict[str, Scores]]]) -> str:
    """Keyword, semantic and hybrid side by side: MRR / top-3 per query set and split."""
    lines = [f"{'queries':12} {'split':8} " + " ".join(f"{m + ' MRR/top-3':>20}" for m in MODES)]
    for qs, by_mode in results.items():
        for split in ("all", "tune", "holdout"):
            cells = " ".join(f"{by_mode[m][split].mrr:>12.3f} / {by_mode[m][split].top3:.3f}" for m in MODES)
            lines.append(f"{qs:12} {split:8} {cells}  (n={by_mode['keyword'][split].n})")
    return "\n".join(lines)
