/**
 * Semantic search through Convex: the local store's message vectors are
 * mirrored here (applyBatch, from the Python `convex_writer`'s outbox), and the
 * `search` action finds the chunks nearest a query vector with Convex's vector
 * index, so another device can search by meaning. The caller embeds its query
 * with the same model (all-MiniLM-L6-v2, docs/semantic.md): Convex runs no model.
 */
import { v } from "convex/values";
import { internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { action, internalQuery, mutation } from "./_generated/server";
import { EMBEDDING_DIMENSIONS, embeddingRow } from "./embeddingFields";
import { fail } from "./errors";

/** Embeddings per applyBatch: 384 floats are ~8 KB of JSON each. */
export const MAX_EMBEDDINGS_PER_BATCH = 256;
/** Convex's vector search returns at most 256 results. */
export const MAX_SEARCH_LIMIT = 256;
const SNIPPET_CHARS = 300;

function checkVector(vector: number[], what: string) {
  if (vector.length !== EMBEDDING_DIMENSIONS) {
    fail("BadVector", `${what} has ${vector.length} numbers, expected ${EMBEDDING_DIMENSIONS}`, {
      expected: EMBEDDING_DIMENSIONS,
      got: vector.length,
    });
  }
  if (!vector.every(Number.isFinite)) {
    fail("BadVector", `${what} holds a number that is not finite`, {
      expected: EMBEDDING_DIMENSIONS,
      got: vector.length,
    });
  }
}

/**
 * Inserts each embedding once by (key, chunk); a replayed batch changes
 * nothing, a vector made by another model replaces the stored one.
 */
export const applyBatch = mutation({
  args: { embeddings: v.array(embeddingRow) },
  returns: v.object({ inserted: v.number(), replaced: v.number(), unchanged: v.number() }),
  handler: async (ctx, { embeddings }) => {
    if (embeddings.length > MAX_EMBEDDINGS_PER_BATCH) {
      fail("BatchTooLarge", `${embeddings.length} embeddings > ${MAX_EMBEDDINGS_PER_BATCH} per mutation`, {
        rows: embeddings.length,
        limit: MAX_EMBEDDINGS_PER_BATCH,
      });
    }
    for (const e of embeddings) checkVector(e.vector, `the vector of ${e.key}/${e.chunk}`);
    const result = { inserted: 0, replaced: 0, unchanged: 0 };
    for (const e of embeddings) {
      const old = await ctx.db
        .query("embeddings")
        .withIndex("by_key_chunk", (q) => q.eq("key", e.key).eq("chunk", e.chunk))
        .unique();
      if (old === null) {
        await ctx.db.insert("embeddings", e);
        result.inserted += 1;
      } else if (old.model !== e.model) {
        await ctx.db.replace(old._id, e);
        result.replaced += 1;
      } else {
        result.unchanged += 1;
      }
    }
    return result;
  },
});

const hit = v.object({
  key: v.string(),
  chunk: v.number(),
  threadId: v.string(),
  score: v.number(),
  role: v.union(v.string(), v.null()),
  kind: v.union(v.string(), v.null()),
  seq: v.union(v.number(), v.null()),
  snippet: v.union(v.string(), v.null()),
});

/** The stored rows behind vector search results (embedding, and its message when mirrored). */
export const rows = internalQuery({
  args: { ids: v.array(v.id("embeddings")) },
  returns: v.array(v.union(hit, v.null())),
  handler: async (ctx, { ids }) => {
    const out = [];
    for (const id of ids) {
      const e = await ctx.db.get(id);
      if (e === null) {
        out.push(null);
        continue;
      }
      const m = await ctx.db
        .query("messages")
        .withIndex("by_key", (q) => q.eq("key", e.key))
        .first();
      const text = m?.text ?? null;
      out.push({
        key: e.key,
        chunk: e.chunk,
        threadId: e.threadId,
        score: 0,
        role: m?.role ?? null,
        kind: m?.kind ?? null,
        seq: m?.seq ?? null,
        snippet: text === null ? null : text.slice(0, SNIPPET_CHARS),
      });
    }
    return out;
  },
});

/**
 * The message chunks nearest `vector` (cosine), best first, optionally within
 * one thread; each with its message's role, kind, seq and the start of its text.
 */
export const search = action({
  args: {
    vector: v.array(v.float64()),
    limit: v.optional(v.number()),
    threadId: v.optional(v.string()),
  },
  returns: v.array(hit),
  handler: async (ctx, { vector, limit = 20, threadId }) => {
    checkVector(vector, "the query vector");
    const n = Math.max(1, Math.min(MAX_SEARCH_LIMIT, Math.floor(limit)));
    const found = await ctx.vectorSearch("embeddings", "by_vector", {
      vector,
      limit: n,
      ...(threadId === undefined ? {} : { filter: (q) => q.eq("threadId", threadId) }),
    });
    const docs: ({ score: number } | null)[] = await ctx.runQuery(internal.embeddings.rows, {
      ids: found.map((r: { _id: Id<"embeddings"> }) => r._id),
    });
    const out = [];
    for (let i = 0; i < found.length; i++) {
      const d = docs[i];
      if (d !== null) out.push({ ...d, score: found[i]._score });
    }
    return out as (typeof hit.type)[];
  },
});
