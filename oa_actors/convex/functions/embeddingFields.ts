/**
 * The shape of an embedding row (the `embeddings` table, embeddings.ts):
 * one chunk of one message, as the Python writer sends it from the local
 * store's `message_vectors` (docs/semantic.md).
 */
import { v } from "convex/values";

/** all-MiniLM-L6-v2 sentence vectors. */
export const EMBEDDING_DIMENSIONS = 384;

export const embeddingFields = {
  /** The message's key (messages.key). */
  key: v.string(),
  /** Which window of the message's text (0 for a short text). */
  chunk: v.number(),
  threadId: v.string(),
  /** The model and precision that made the vector, e.g. `all-MiniLM-L6-v2/int8`. */
  model: v.string(),
  /** Unit-length vector of EMBEDDING_DIMENSIONS floats. */
  vector: v.array(v.float64()),
};

export const embeddingRow = v.object(embeddingFields);
