"""Search quality through the product's paths (keyword, semantic, hybrid) on the labelled set:
semantic finds the paraphrased thread in the top 3 for the large majority of queries on every split
(held-out included), and hybrid is never worse than keyword, on paraphrased and on literal queries."""

from __future__ import annotations

from typing import Any

from tests.support.semantic_quality import evaluate_product, literal_query, product_table
from tests.support.semantic_sessions import load_sessions


def test_literal_queries_are_words_of_the_session() -> None:
    for s in load_sessions():
        words = literal_query(s).split()
        assert len(words) == 2 and all(w in s.turns[0][0] for w in words), s.name


def test_keyword_semantic_hybrid_side_by_side(embedder_int8: Any) -> None:
    results = evaluate_product(embedder_int8)
    report = product_table(results)
    print("\n" + report)
    for split in ("all", "tune", "holdout"):
        assert results["paraphrased"]["semantic"][split].top3 >= 0.75, report
        assert results["paraphrased"]["hybrid"][split].top3 >= 0.75, report
        for qs in ("paraphrased", "literal"):
            hybrid, keyword = results[qs]["hybrid"][split], results[qs]["keyword"][split]
            assert hybrid.mrr >= keyword.mrr and hybrid.top3 >= keyword.top3, report
    assert results["literal"]["keyword"]["all"].top3 >= 0.75, report  # the words are there to find
