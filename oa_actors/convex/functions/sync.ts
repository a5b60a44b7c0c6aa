/**
 * Idempotent batch mutations for the Python `convex_writer` draining its
 * outbox. Each call is one transaction: all rows commit or none do, and a
 * replayed batch (the writer retries after a lost reply) changes nothing.
 */
import { v } from "convex/values";
import { mutation } from "./_generated/server";
import { fail } from "./errors";
import { pruneScope, removeProject, upsertProject, upsertSkill } from "./fsrows";
import { applyMessage, upsertThread, type ThreadCache } from "./lib";
import {
  fsCounts,
  MAX_BATCH_BYTES,
  MAX_BATCH_ROWS,
  messageRow,
  nullable,
  projectRow,
  skillRow,
  skillSource,
  threadRow,
} from "./validators";

/** Fail before writing anything when a batch cannot fit in one mutation. */
function checkBatch(rows: unknown[]) {
  if (rows.length > MAX_BATCH_ROWS) {
    fail("BatchTooLarge", `${rows.length} rows > ${MAX_BATCH_ROWS} per mutation; split the batch`, {
      rows: rows.length,
      limit: MAX_BATCH_ROWS,
    });
  }
  const bytes = new TextEncoder().encode(JSON.stringify(rows)).length;
  if (bytes > MAX_BATCH_BYTES) {
    fail("BatchTooLarge", `${bytes} bytes > ${MAX_BATCH_BYTES} per mutation; split the batch`, {
      bytes,
      limit: MAX_BATCH_BYTES,
    });
  }
}

/**
 * Thread rows are upserted by `threadId` first, then message rows inserted
 * once by `key` (user messages reconcile with the app's optimistic copy).
 */
export const applyBatch = mutation({
  args: {
    threads: v.optional(v.array(threadRow)),
    messages: v.optional(v.array(messageRow)),
  },
  returns: v.object({
    threadsInserted: v.number(),
    threadsUpdated: v.number(),
    threadsUnchanged: v.number(),
    messagesInserted: v.number(),
    messagesReconciled: v.number(),
    messagesUnchanged: v.number(),
  }),
  handler: async (ctx, { threads = [], messages = [] }) => {
    checkBatch([...threads, ...messages]);
    const result = {
      threadsInserted: 0,
      threadsUpdated: 0,
      threadsUnchanged: 0,
      messagesInserted: 0,
      messagesReconciled: 0,
      messagesUnchanged: 0,
    };
    const cache: ThreadCache = new Map();
    for (const t of threads) {
      const { doc, inserted, changed } = await upsertThread(ctx, t);
      cache.set(doc.threadId, doc);
      if (inserted) result.threadsInserted += 1;
      else if (changed) result.threadsUpdated += 1;
      else result.threadsUnchanged += 1;
    }
    for (const m of messages) {
      const outcome = await applyMessage(ctx, m, cache);
      if (outcome === "inserted") result.messagesInserted += 1;
      else if (outcome === "reconciled") result.messagesReconciled += 1;
      else result.messagesUnchanged += 1;
    }
    return result;
  },
});

/** Projects from ~/.openagents/projects: upserts by `id`, removals by `id`. */
export const applyProjects = mutation({
  args: {
    upserts: v.optional(v.array(projectRow)),
    removeIds: v.optional(v.array(v.string())),
    /** The machine whose projects `removeIds` name (omitted: rows without a machine). */
    machineId: v.optional(v.string()),
  },
  returns: fsCounts,
  handler: async (ctx, { upserts = [], removeIds = [], machineId }) => {
    checkBatch([...upserts, ...removeIds]);
    const result = { inserted: 0, updated: 0, unchanged: 0, removed: 0 };
    for (const p of upserts) result[await upsertProject(ctx, p)] += 1;
    for (const id of removeIds) {
      if (await removeProject(ctx, id, machineId ?? null)) result.removed += 1;
    }
    return result;
  },
});

/**
 * Skills: upserts keyed by (source, projectId, skillId); `scopes` lists the
 * scopes whose full contents are known, each with the skillIds still on
 * disk: everything else in that scope is removed.
 */
export const applySkills = mutation({
  args: {
    upserts: v.optional(v.array(skillRow)),
    scopes: v.optional(
      v.array(
        v.object({
          source: skillSource,
          projectId: nullable(v.string()),
          keepSkillIds: v.array(v.string()),
        }),
      ),
    ),
  },
  returns: fsCounts,
  handler: async (ctx, { upserts = [], scopes = [] }) => {
    checkBatch([...upserts, ...scopes]);
    const result = { inserted: 0, updated: 0, unchanged: 0, removed: 0 };
    for (const s of upserts) result[await upsertSkill(ctx, s)] += 1;
    for (const sc of scopes) {
      result.removed += await pruneScope(ctx, sc.source, sc.projectId, sc.keepSkillIds);
    }
    return result;
  },
});
