"""A BERT encoder (MiniLM family) forward pass in NumPy: the independent reference for the embedder.

Sentence-transformers models such as all-MiniLM-L6-v2 are a plain BERT encoder followed by mean
pooling and L2 normalization. This module computes that forward pass from the weights alone, written
from the BERT definition (not from the ONNX graph), so tests/semantic can check that onnxruntime
running the packaged graph gives the same vectors. It was also measured as a runtime candidate
(float32 BLAS): about half the throughput of onnxruntime fp32 on this machine (docs/semantic.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

# HF BERT masks padded keys with the smallest float; any large negative number gives exp() == 0.
_MASKED = np.float32(-1e9)


def _erf(x: F32) -> F32:
    """erf with |error| < 1.5e-7 (Abramowitz and Stegun 7.1.26): NumPy has none, and BERT's GELU
    is the exact erf form, not the tanh approximation."""
    sign = np.sign(x)
    a = np.abs(x)
    t = np.float32(1.0) / (np.float32(1.0) + np.float32(0.3275911) * a)
    poly = t * (
        np.float32(0.254829592)
        + t
        * (
            np.float32(-0.284496736)
            + t * (np.float32(1.421413741) + t * (np.float32(-1.453152027) + t * np.float32(1.061405429)))
        )
    )
    out: F32 = sign * (np.float32(1.0) - poly * np.exp(-a * a))
    return out


def _gelu(x: F32) -> F32:
    out: F32 = np.float32(0.5) * x * (np.float32(1.0) + _erf(x * np.float32(0.7071067811865476)))
    return out


def _layer_norm(x: F32, weight: F32, bias: F32, eps: float) -> F32:
    mean = x.mean(axis=-1, keepdims=True)
    centered = x - mean
    var = np.mean(centered * centered, axis=-1, keepdims=True)
    out: F32 = centered / np.sqrt(var + np.float32(eps)) * weight + bias
    return out


@dataclass(frozen=True)
class _Layer:
    qkv_w: F32  # (hidden, 3 * hidden): query, key and value projections fused into one product
    qkv_b: F32
    out_w: F32
    out_b: F32
    ln1_w: F32
    ln1_b: F32
    up_w: F32
    up_b: F32
    down_w: F32
    down_b: F32
    ln2_w: F32
    ln2_b: F32


class BertEncoder:
    """BERT encoder weights plus `forward`.

    `raw` maps HF `BertModel` names (with or without a `bert.` prefix) to float32 arrays, linear
    weights as (out, in) like PyTorch; they are kept transposed to (in, out) so each product is `x @ W`.
    """

    @classmethod
    def from_safetensors(cls, model_dir: Path) -> BertEncoder:
        """From a sentence-transformers folder: config.json and model.safetensors."""
        from safetensors.numpy import load_file

        config = json.loads((model_dir / "config.json").read_text())
        return cls(config, load_file(str(model_dir / "model.safetensors")))

    def __init__(self, config: dict[str, object], raw: dict[str, npt.NDArray[np.float32]]) -> None:
        self.hidden = int(str(config["hidden_size"]))
        self.heads = int(str(config["num_attention_heads"]))
        self.max_positions = int(str(config["max_position_embeddings"]))
        self.eps = float(str(config.get("layer_norm_eps", 1e-12)))
        if config.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"unsupported activation {config.get('hidden_act')!r}")
        w = {k.removeprefix("bert."): v.astype(np.float32, copy=False) for k, v in raw.items()}

        def t(name: str) -> F32:
            return np.ascontiguousarray(w[name].T)

        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"]
        self.emb_ln_w = w["embeddings.LayerNorm.weight"]
        self.emb_ln_b = w["embeddings.LayerNorm.bias"]
        self.layers: list[_Layer] = []
        for i in range(int(str(config["num_hidden_layers"]))):
            p = f"encoder.layer.{i}."
            att = p + "attention.self."
            self.layers.append(
                _Layer(
                    qkv_w=np.ascontiguousarray(
                        np.concatenate(
                            [t(att + "query.weight"), t(att + "key.weight"), t(att + "value.weight")], 1
                        )
                    ),
                    qkv_b=np.concatenate([w[att + "query.bias"], w[att + "key.bias"], w[att + "value.bias"]]),
                    out_w=t(p + "attention.output.dense.weight"),
                    out_b=w[p + "attention.output.dense.bias"],
                    ln1_w=w[p + "attention.output.LayerNorm.weight"],
                    ln1_b=w[p + "attention.output.LayerNorm.bias"],
                    up_w=t(p + "intermediate.dense.weight"),
                    up_b=w[p + "intermediate.dense.bias"],
                    down_w=t(p + "output.dense.weight"),
                    down_b=w[p + "output.dense.bias"],
                    ln2_w=w[p + "output.LayerNorm.weight"],
                    ln2_b=w[p + "output.LayerNorm.bias"],
                )
            )

    def forward(self, ids: I64, mask: I64) -> F32:
        """Last hidden states, shape (batch, seq, hidden), for token ids and attention mask (batch, seq)."""
        batch, seq = ids.shape
        if seq > self.max_positions:
            raise ValueError(f"sequence of {seq} tokens is longer than the model's {self.max_positions}")
        h = self.hidden
        heads = self.heads
        dh = h // heads
        x = self.word[ids] + self.position[:seq][None, :, :] + self.token_type[0][None, None, :]
        x = _layer_norm(x, self.emb_ln_w, self.emb_ln_b, self.eps).reshape(batch * seq, h)
        key_bias = np.where(mask[:, None, None, :] > 0, np.float32(0.0), _MASKED).astype(np.float32)
        scale = np.float32(1.0 / np.sqrt(dh))
        for layer in self.layers:
            qkv = (x @ layer.qkv_w + layer.qkv_b).reshape(batch, seq, 3, heads, dh)
            q = qkv[:, :, 0].transpose(0, 2, 1, 3)  # (batch, heads, seq, dh)
            k = qkv[:, :, 1].transpose(0, 2, 3, 1)  # (batch, heads, dh, seq)
            v = qkv[:, :, 2].transpose(0, 2, 1, 3)
            scores = np.matmul(q, k) * scale + key_bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = np.matmul(scores, v).transpose(0, 2, 1, 3).reshape(batch * seq, h)
            x = _layer_norm(ctx @ layer.out_w + layer.out_b + x, layer.ln1_w, layer.ln1_b, self.eps)
            up = _gelu(x @ layer.up_w + layer.up_b)
            x = _layer_norm(up @ layer.down_w + layer.down_b + x, layer.ln2_w, layer.ln2_b, self.eps)
        return x.reshape(batch, seq, h)


def mean_pool_normalize(hidden: F32, mask: I64) -> F32:
    """Sentence vectors: the mean of the unmasked token states, scaled to unit length."""
    m = mask[:, :, None].astype(np.float32)
    summed = (hidden * m).sum(axis=1)
    counts = np.maximum(m.sum(axis=1), np.float32(1e-9))
    pooled = summed / counts
    norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), np.float32(1e-12))
    out: F32 = (pooled / norms).astype(np.float32)
    return out
