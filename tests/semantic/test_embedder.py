"""The embedder gives the model's real vectors: checked against published similarities and against an
independent NumPy implementation of the same network, and it fails clearly when it cannot run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from oa_actors.semantic import availability
from oa_actors.semantic.embedder import DIM, Embedder, EmbeddingsUnavailable
from tests.support.bert_numpy import BertEncoder, mean_pool_normalize

# The sentence-transformers documentation's example scores for all-MiniLM-L6-v2 (fp32 PyTorch).
PUBLISHED = [
    ("The cat sits outside", "The cat plays in the garden", 0.6788),
    ("The new movie is awesome", "The new movie is so great", 0.8939),
]
TEXTS = [
    "The container was killed because it ran out of memory",
    "kubectl describe pod api-worker | grep OOMKilled",
    "Die Übersetzung der Anmeldeseite ist fertig ✓ — 日本語も追加しました",
    "refactor: " + "move the retry loop into the client and add jitter " * 12,
    "",
]


def test_published_similarities_are_reproduced(embedder_fp32: Embedder) -> None:
    for a, b, expected in PUBLISHED:
        va, vb = embedder_fp32.embed([a, b])
        # The shipped graph stores its weights as int8 (cosine 0.9996 to the float originals).
        assert abs(float(va @ vb) - expected) < 0.01, (a, b, float(va @ vb))


def _reference_weights(model: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The packaged graph's weights, dequantized, under HF BertModel names (linear: (out, in))."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(model)).graph
    init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    weights: dict[str, np.ndarray] = {}
    for name, arr in init.items():
        if name.startswith("inner.") and not name.endswith(("_q", "_scale")) and arr.dtype == np.float32:
            weights[name.removeprefix("inner.")] = arr
        elif name.startswith("inner.") and name.endswith("_q"):
            base = name.removesuffix("_q")
            weights[base.removeprefix("inner.")] = arr.astype(np.float32) * init[base + "_scale"]
    # The exporter named the layers' matrices by position: query, key, value, attention output,
    # intermediate, output for each layer in turn, stored (in, out).
    anonymous = [n for n in init if n.startswith("val_") and n.endswith("_q")]
    names = [
        "attention.self.query",
        "attention.self.key",
        "attention.self.value",
        "attention.output.dense",
        "intermediate.dense",
        "output.dense",
    ]
    assert len(anonymous) == 6 * len(names)
    for i, n in enumerate(anonymous):
        base = n.removesuffix("_q")
        weights[f"encoder.layer.{i // 6}.{names[i % 6]}.weight"] = (
            init[n].astype(np.float32) * init[base + "_scale"]
        ).T
    config = {
        "hidden_size": 384,
        "num_attention_heads": 12,
        "num_hidden_layers": 6,
        "max_position_embeddings": 512,
        "layer_norm_eps": 1e-12,
        "hidden_act": "gelu",
    }
    return config, weights


def test_onnxruntime_matches_an_independent_numpy_forward_pass(embedder_fp32: Embedder) -> None:
    from oa_actors.semantic.embedder import _model_file

    config, weights = _reference_weights(_model_file())
    encoder = BertEncoder(config, weights)
    got = embedder_fp32.embed(TEXTS)
    tok = embedder_fp32.tokenizer
    for text, vec in zip(TEXTS, got, strict=True):
        ids = tok.encode(text, add_special_tokens=False).ids[:254]
        row = np.array([[101, *ids, 102]], dtype=np.int64)
        mask = np.ones_like(row)
        ref = mean_pool_normalize(encoder.forward(row, mask), mask)[0]
        assert float(ref @ vec) > 0.9999, text


def test_int8_stays_close_to_fp32_and_keeps_rankings(
    embedder_fp32: Embedder, embedder_int8: Embedder
) -> None:
    a = embedder_fp32.embed(TEXTS[:4])
    b = embedder_int8.embed(TEXTS[:4])
    assert (a * b).sum(axis=1).min() > 0.98
    paraphrase, unrelated = embedder_int8.embed(
        ["the pods were OOM killed", "we translated the signup screens into German"]
    )
    query = embedder_int8.embed(["the containers ran out of memory"])[0]
    assert float(query @ paraphrase) > float(query @ unrelated) + 0.2


def test_vectors_are_unit_length_and_in_input_order(embedder_fp32: Embedder) -> None:
    batch = embedder_fp32.embed(TEXTS)
    assert batch.shape == (len(TEXTS), DIM) and batch.dtype == np.float32
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    # Batches are sorted by length inside embed(); results come back in the caller's order.
    one_by_one = np.stack([embedder_fp32.embed([t])[0] for t in TEXTS])
    assert np.allclose(batch, one_by_one, atol=1e-4)
    assert embedder_fp32.embed([]).shape == (0, DIM)


def test_texts_past_the_window_are_truncated_not_rejected(embedder_fp32: Embedder) -> None:
    long = "memory " * 2000
    v = embedder_fp32.embed([long, "memory " * 300])
    assert float(v[0] @ v[1]) > 0.999  # both are the first 256 tokens


def test_a_tampered_model_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from oa_actors.semantic import embedder as mod

    monkeypatch.setattr(mod, "MODEL_SHA256", "0" * 64)
    with pytest.raises(EmbeddingsUnavailable, match="sha256"):
        Embedder.open(precision="fp32")


def test_missing_packages_are_reported_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(availability, "REQUIRED_PACKAGES", ("numpy", "no_such_model_package_x"))
    status = availability.model_status()
    assert not status.available
    assert status.reason is not None and "no_such_model_package_x" in status.reason
    assert "[semantic]" in status.reason
    with pytest.raises(EmbeddingsUnavailable, match="no_such_model_package_x"):
        Embedder.open(precision="fp32")


def test_the_package_imports_and_reports_without_numpy() -> None:
    """A store without the model still runs: `oa_actors.semantic` needs no optional package."""
    code = (
        "import sys; sys.modules['numpy'] = None; sys.modules['onnxruntime'] = None\n"
        "from oa_actors.semantic import model_status\n"
        "import oa_actors.semantic.availability as a\n"
        "a.REQUIRED_PACKAGES = ('numpy_missing_for_test',)\n"
        "s = model_status(); print(s.available, s.reason)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("False missing Python packages numpy_missing_for_test")


def test_the_int8_graph_is_cached_and_a_damaged_one_remade(tmp_path: Path, embedder_fp32: Embedder) -> None:
    first = Embedder.open(precision="int8", cache_dir=tmp_path)
    (cached,) = list(tmp_path.glob("*.onnx"))
    assert cached.stat().st_mode & 0o777 == 0o600
    made = cached.stat().st_mtime_ns
    Embedder.open(precision="int8", cache_dir=tmp_path)
    assert cached.stat().st_mtime_ns == made  # reused, not remade
    cached.write_bytes(b"garbage")
    again = Embedder.open(precision="int8", cache_dir=tmp_path)
    v1, v2 = first.embed(["disk full"]), again.embed(["disk full"])
    assert np.allclose(v1, v2, atol=1e-6)
    assert float((v1 * embedder_fp32.embed(["disk full"])).sum()) > 0.98
