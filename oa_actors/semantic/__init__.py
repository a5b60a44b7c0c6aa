"""Semantic search building blocks: offline embedder, chunking, vector index, vector store.

Everything here is optional: without the `semantic` extra, `model_status()` says why and the
product serves keyword search only. See docs/semantic.md.

Import the submodules (embedder, chunking, vectors, vector_store) only after `model_status()` says
the extra is installed: they need NumPy. This package's own import needs nothing optional.
"""

from .availability import EmbeddingsUnavailable, ModelStatus, model_status

__all__ = ["EmbeddingsUnavailable", "ModelStatus", "model_status"]
