/**
 * Message functions. Reads are ordered by `seq` within a thread and always
 * bounded (pagination); counts come from the thread document.
 */
import { paginationOptsValidator, paginationResultValidator } from "convex/server";
import { v } from "convex/values";
import { mutation, query } from "./_generated/server";
import { fail } from "./errors";
import { insertAppMessage, threadByThreadId } from "./lib";
import { checkSearchText, MAX_SEARCH_PAGE } from "./search";
import { messageDoc, messageRole, nullable, threadSource } from "./validators";

const DEFAULT_LIMIT = 200;
const MAX_LIMIT = 1000;

/**
 * Messages of one thread in `seq` order. Two ways to page:
 * `{afterSeq, limit}` (returns an array; pass the last `seq` back), or
 * `{paginationOpts}` (returns Convex's `{page, isDone, continueCursor}`).
 */
export const forThread = query({
  args: {
    threadId: v.string(),
    afterSeq: nullable(v.number()),
    limit: nullable(v.number()),
    paginationOpts: v.optional(paginationOptsValidator),
  },
  returns: v.union(v.array(messageDoc), paginationResultValidator(messageDoc)),
  handler: async (ctx, { threadId, afterSeq, limit, paginationOpts }) => {
    const q = ctx.db
      .query("messages")
      .withIndex("by_thread_seq", (ix) =>
        afterSeq === null || afterSeq === undefined
          ? ix.eq("threadId", threadId)
          : ix.eq("threadId", threadId).gt("seq", afterSeq),
      )
      .order("asc");
    if (paginationOpts !== undefined) {
      return await q.paginate({
        ...paginationOpts,
        numItems: Math.min(paginationOpts.numItems, MAX_LIMIT),
      });
    }
    const n = Math.max(1, Math.min(MAX_LIMIT, Math.floor(limit ?? DEFAULT_LIMIT)));
    return await q.take(n);
  },
});

/**
 * An app-written message (the OpenAgents desktop app's optimistic user message).
 * User messages stay `pending` until the rollout copy is reconciled.
 */
export const create = mutation({
  args: {
    threadId: v.string(),
    role: messageRole,
    kind: v.optional(v.string()),
    text: v.string(),
    data: nullable(v.any()),
  },
  returns: v.id("messages"),
  handler: async (ctx, args) => {
    const thread = await threadByThreadId(ctx, args.threadId);
    if (thread === null) {
      fail("UnknownThread", `Unknown thread ${args.threadId}`, { threadId: args.threadId });
    }
    return await insertAppMessage(ctx, thread, {
      role: args.role,
      kind: args.kind ?? "message",
      text: args.text,
      data: args.data,
    });
  },
});

export const byId = query({
  args: { id: v.id("messages") },
  returns: v.union(messageDoc, v.null()),
  handler: async (ctx, { id }) => await ctx.db.get(id),
});

/** O(1): the count maintained on the thread document. */
export const countForThread = query({
  args: { threadId: v.string() },
  returns: v.number(),
  handler: async (ctx, { threadId }) => {
    const thread = await threadByThreadId(ctx, threadId);
    return thread?.messageCount ?? 0;
  },
});

/**
 * Full-text search over message text, best match first (Convex's relevance
 * ranking), with optional filters and Convex paging (`paginationOpts`, at
 * most MAX_SEARCH_PAGE per page). Bad input is a ConvexError with a `code`:
 * `EmptyQuery`, `QueryTooLong`.
 */
export const search = query({
  args: {
    query: v.string(),
    threadId: v.optional(v.string()),
    source: v.optional(threadSource),
    role: v.optional(messageRole),
    kind: v.optional(v.string()),
    paginationOpts: paginationOptsValidator,
  },
  returns: paginationResultValidator(messageDoc),
  handler: async (ctx, { query: text, threadId, source, role, kind, paginationOpts }) => {
    const checked = checkSearchText(text);
    return await ctx.db
      .query("messages")
      .withSearchIndex("search_text", (q) => {
        let f = q.search("text", checked);
        if (threadId !== undefined) f = f.eq("threadId", threadId);
        if (source !== undefined) f = f.eq("source", source);
        if (role !== undefined) f = f.eq("role", role);
        if (kind !== undefined) f = f.eq("kind", kind);
        return f;
      })
      .paginate({ ...paginationOpts, numItems: Math.min(paginationOpts.numItems, MAX_SEARCH_PAGE) });
  },
});
