/**
 * Write helpers shared by the public mutations and the writer's batch
 * mutations, so that a row takes the same path whether it arrives one at a
 * time (threads:upsertFromStream) or in a batch (sync:applyBatch).
 */
import type { Infer } from "convex/values";
import type { Doc, Id } from "./_generated/dataModel";
import type { MutationCtx, QueryCtx } from "./_generated/server";
import { fail } from "./errors";
import { restampSource } from "./search";
import { MAX_DOCUMENT_BYTES, messageRow, threadRow } from "./validators";

export type ThreadRow = Infer<typeof threadRow>;
export type MessageRow = Infer<typeof messageRow>;

/** Stored documents never hold null: an absent field means "unknown". */
export function stripNulls<T extends Record<string, unknown>>(row: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(row)) {
    if (val !== null && val !== undefined) out[k] = val;
  }
  return out as T;
}

/**
 * Reject a document over Convex's 1 MiB limit with `DocumentTooLarge` (a
 * message that tells the writer what to do), instead of the backend's generic
 * error. The JSON size is a close upper estimate of Convex's own encoding.
 */
export function assertDocumentSize(table: string, key: string, doc: unknown) {
  const bytes = new TextEncoder().encode(JSON.stringify(doc)).length;
  if (bytes > MAX_DOCUMENT_BYTES) {
    fail(
      "DocumentTooLarge",
      `${table} ${key} is ${bytes} bytes, over the ${MAX_DOCUMENT_BYTES}-byte limit ` +
        `(Convex allows 1 MiB per document); truncate text/data and mark it with data.truncated=true`,
      { table, key, bytes, limit: MAX_DOCUMENT_BYTES },
    );
  }
}

/**
 * Structural equality that ignores object key order: Convex may return an
 * object's fields in another order than the writer sent them, and a replay
 * must still compare equal (and so write nothing).
 */
export function sameValue(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonical).join(",")}]`;
  if (x !== null && typeof x === "object") {
    const keys = Object.keys(x).filter((k) => (x as any)[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((x as any)[k])}`).join(",")}}`;
  }
  return JSON.stringify(x) ?? "undefined";
}

/** Whitespace-insensitive text used to match an app message to its rollout twin. */
export function normalizeText(text: string | null | undefined): string {
  return (text ?? "").replace(/\s+/g, " ").trim();
}

export async function threadByThreadId(
  ctx: QueryCtx,
  threadId: string,
): Promise<Doc<"threads"> | null> {
  return await ctx.db
    .query("threads")
    .withIndex("by_threadId", (q) => q.eq("threadId", threadId))
    .first();
}

function maxDefined(...xs: (number | null | undefined)[]): number {
  let best = 0;
  for (const x of xs) if (typeof x === "number" && x > best) best = x;
  return best;
}

/**
 * Insert or merge a thread row. Null/absent fields never erase a known
 * value (a later row may simply not carry it); `updatedAt` only moves
 * forward. Returns the document and whether anything changed, so replays
 * write nothing.
 */
export async function upsertThread(
  ctx: MutationCtx,
  row: ThreadRow,
): Promise<{ doc: Doc<"threads">; inserted: boolean; changed: boolean }> {
  const clean = stripNulls(row);
  assertDocumentSize("threads", row.threadId, clean);
  const existing = await threadByThreadId(ctx, row.threadId);
  if (existing === null) {
    const fields = {
      ...clean,
      createdBy: "rollout" as const,
      messageCount: 0,
      lastSeq: -1,
      lastActivityAt: maxDefined(clean.updatedAt, clean.createdAt),
    };
    const id = await ctx.db.insert("threads", fields);
    // Built locally: a db.get would spend one of the 4,096 reads a mutation may make.
    const doc = { ...fields, _id: id, _creationTime: Date.now() } as Doc<"threads">;
    return { doc, inserted: true, changed: true };
  }
  const patch: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(clean)) {
    if (k === "updatedAt" && typeof existing.updatedAt === "number") {
      if ((val as number) > existing.updatedAt) patch[k] = val;
    } else if (!sameValue((existing as any)[k], val)) {
      patch[k] = val;
    }
  }
  const activity = maxDefined(
    existing.lastActivityAt,
    clean.updatedAt,
    clean.createdAt,
  );
  if (activity !== existing.lastActivityAt) patch.lastActivityAt = activity;
  if (Object.keys(patch).length === 0) {
    return { doc: existing, inserted: false, changed: false };
  }
  await ctx.db.patch(existing._id, patch);
  if (patch.source !== undefined) await restampSource(ctx, existing.threadId, clean.source);
  return { doc: { ...existing, ...patch } as Doc<"threads">, inserted: false, changed: true };
}

/**
 * Thread documents already read or written in this mutation, by threadId.
 * A batch touches few threads but many messages; caching keeps a batch far
 * below Convex's 4,096 index reads per mutation.
 */
export type ThreadCache = Map<string, Doc<"threads">>;

/** A thread for a message whose thread row has not arrived (yet). */
async function ensureThread(ctx: MutationCtx, threadId: string, cache: ThreadCache) {
  const cached = cache.get(threadId);
  if (cached !== undefined) return cached;
  const existing =
    (await threadByThreadId(ctx, threadId)) ??
    (await upsertThread(ctx, { threadId, source: "codex" })).doc;
  cache.set(threadId, existing);
  return existing;
}

export type MessageOutcome = "inserted" | "reconciled" | "unchanged";

/**
 * Insert a rollout message once by `key`. A user message first looks for the
 * app's optimistic copy (same thread, pending, same normalized text) and
 * adopts the rollout key and fields instead of inserting a second row.
 */
export async function applyMessage(
  ctx: MutationCtx,
  row: MessageRow,
  cache: ThreadCache = new Map(),
): Promise<MessageOutcome> {
  const clean = stripNulls(row);
  assertDocumentSize("messages", row.key, clean);
  const existing = await ctx.db
    .query("messages")
    .withIndex("by_key", (q) => q.eq("key", row.key))
    .first();
  if (existing !== null) return "unchanged";

  const thread = await ensureThread(ctx, row.threadId, cache);
  const threadPatch: Record<string, unknown> = {};
  if (row.seq > thread.lastSeq) threadPatch.lastSeq = row.seq;
  const activity = maxDefined(thread.lastActivityAt, row.ts);
  if (activity !== thread.lastActivityAt) threadPatch.lastActivityAt = activity;

  let outcome: MessageOutcome = "inserted";
  const twin =
    row.role === "user" && row.kind === "message"
      ? await findPendingTwin(ctx, row.threadId, row.text)
      : null;
  if (twin !== null) {
    // Replace keeps the app document's _id (the app may hold it) but drops
    // `pending`, so the twin can never be adopted twice.
    await ctx.db.replace(twin._id, { ...clean, origin: "app", source: thread.source });
    outcome = "reconciled";
  } else {
    await ctx.db.insert("messages", { ...clean, origin: "rollout", source: thread.source });
    threadPatch.messageCount = thread.messageCount + 1;
  }
  if (Object.keys(threadPatch).length > 0) {
    await ctx.db.patch(thread._id, threadPatch);
    cache.set(row.threadId, { ...thread, ...threadPatch } as Doc<"threads">);
  }
  return outcome;
}

async function findPendingTwin(
  ctx: MutationCtx,
  threadId: string,
  text: string | null | undefined,
): Promise<Doc<"messages"> | null> {
  const want = normalizeText(text);
  const pending = await ctx.db
    .query("messages")
    .withIndex("by_thread_pending", (q) =>
      q.eq("threadId", threadId).eq("pending", true),
    )
    .take(100);
  return pending.find((m) => normalizeText(m.text) === want) ?? null;
}

/**
 * Write the app's optimistic user message. It sorts after everything stored
 * so far (`lastSeq + 0.5`) until its rollout twin replaces seq and key.
 */
export async function insertAppMessage(
  ctx: MutationCtx,
  thread: Doc<"threads">,
  fields: { role: MessageRow["role"]; kind: string; text: string; data?: unknown },
): Promise<Id<"messages">> {
  const now = Date.now();
  const doc = {
    threadId: thread.threadId,
    key: `app:${thread._id}:${now}:${thread.messageCount}`,
    seq: thread.lastSeq + 0.5,
    ts: now,
    role: fields.role,
    kind: fields.kind,
    text: fields.text,
    ...(fields.data === undefined || fields.data === null ? {} : { data: fields.data }),
    origin: "app" as const,
    source: thread.source,
    ...(fields.role === "user" ? { pending: true } : {}),
  };
  assertDocumentSize("messages", doc.key, doc);
  const id = await ctx.db.insert("messages", doc);
  await ctx.db.patch(thread._id, {
    messageCount: thread.messageCount + 1,
    lastActivityAt: Math.max(thread.lastActivityAt, now),
  });
  return id;
}
