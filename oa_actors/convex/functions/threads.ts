/**
 * Thread functions. The apps call list/listWithCounts/byId/create; the
 * writer calls upsertFromStream for single live rows (batches go through
 * sync:applyBatch). No list hides imported threads: every thread document is
 * listed, whatever wrote it.
 */
import { v } from "convex/values";
import { mutation, query } from "./_generated/server";
import { threadByThreadId, upsertThread } from "./lib";
import { nullable, threadDoc, threadRowFields } from "./validators";

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 500;

function clampLimit(limit: number | undefined | null) {
  return Math.max(1, Math.min(MAX_LIMIT, Math.floor(limit ?? DEFAULT_LIMIT)));
}

/** Newest activity first (index scan, O(limit)). */
export const list = query({
  args: { limit: nullable(v.number()) },
  returns: v.array(threadDoc),
  handler: async (ctx, { limit }) => {
    return await ctx.db
      .query("threads")
      .withIndex("by_lastActivity")
      .order("desc")
      .take(clampLimit(limit));
  },
});

/**
 * Same order as `list`, each with `count` read from the thread's maintained
 * `messageCount`: O(threads), never O(threads x messages).
 */
export const listWithCounts = query({
  args: { limit: nullable(v.number()) },
  returns: v.array(v.object({ ...threadDoc.fields, count: v.number() })),
  handler: async (ctx, { limit }) => {
    const threads = await ctx.db
      .query("threads")
      .withIndex("by_lastActivity")
      .order("desc")
      .take(clampLimit(limit));
    return threads.map((t) => ({ ...t, count: t.messageCount }));
  },
});

/** By Convex document id (what the apps hold). */
export const byId = query({
  args: { id: v.id("threads") },
  returns: v.union(threadDoc, v.null()),
  handler: async (ctx, { id }) => await ctx.db.get(id),
});

/** By the external thread id (Codex session id, or the doc id for new app threads). */
export const byThreadId = query({
  args: { threadId: v.string() },
  returns: v.union(threadDoc, v.null()),
  handler: async (ctx, { threadId }) => await threadByThreadId(ctx, threadId),
});

/**
 * An app-created thread. Its `threadId` is its own document id until the
 * runner learns the Codex session id (runs:update links them).
 */
export const create = mutation({
  args: {
    title: nullable(v.string()),
    projectId: nullable(v.string()),
    cwd: nullable(v.string()),
  },
  returns: v.id("threads"),
  handler: async (ctx, args) => {
    const now = Date.now();
    const id = await ctx.db.insert("threads", {
      threadId: "pending",
      source: "app",
      createdBy: "app",
      ...(args.title ? { title: args.title } : {}),
      ...(args.projectId ? { projectId: args.projectId } : {}),
      ...(args.cwd ? { cwd: args.cwd } : {}),
      createdAt: now,
      updatedAt: now,
      messageCount: 0,
      lastSeq: -1,
      lastActivityAt: now,
    });
    await ctx.db.patch(id, { threadId: id });
    return id;
  },
});

/** Upsert one thread row (docs/rows.md); idempotent, like the batch path. */
export const upsertFromStream = mutation({
  args: threadRowFields,
  returns: v.object({ id: v.id("threads"), inserted: v.boolean(), changed: v.boolean() }),
  handler: async (ctx, row) => {
    const { doc, inserted, changed } = await upsertThread(ctx, row);
    return { id: doc._id, inserted, changed };
  },
});
