/**
 * Run lifecycle: pending -> claimed -> running -> done | failed | interrupted
 * (pending/claimed may also go straight to failed or interrupted). The app
 * enqueues; `codex_runner` claims, updates and finishes. Repeating the same
 * transition is a no-op, so a runner retrying after a lost reply is safe.
 */
import { v } from "convex/values";
import type { Doc, Id } from "./_generated/dataModel";
import { mutation, query, type MutationCtx, type QueryCtx } from "./_generated/server";
import { fail } from "./errors";
import { projectById } from "./fsrows";
import { insertAppMessage, normalizeText, threadByThreadId } from "./lib";
import { nullable, runDoc, runStatus } from "./validators";

type Status = Doc<"runs">["status"];
const NEXT: Record<Status, Status[]> = {
  pending: ["claimed", "failed", "interrupted"],
  claimed: ["running", "failed", "interrupted"],
  running: ["done", "failed", "interrupted"],
  done: [],
  failed: [],
  interrupted: [],
};
const TERMINAL = new Set<Status>(["done", "failed", "interrupted"]);

function checkTransition(run: Doc<"runs">, to: Status) {
  if (run.status === to) return false; // idempotent repeat
  if (!NEXT[run.status].includes(to)) {
    fail("InvalidRunTransition", `run ${run._id} is ${run.status}, cannot become ${to}`, {
      runId: run._id,
      from: run.status,
      to,
    });
  }
  return true;
}

async function getRun(ctx: MutationCtx, id: Id<"runs">) {
  const run = await ctx.db.get(id);
  if (run === null) fail("UnknownRun", `Unknown run ${id}`, { runId: id });
  return run;
}

/**
 * The app's send: writes the user message at once (optimistic, `pending`
 * until the rollout copy is reconciled) and a pending run. The run targets a
 * machine: `machineId` if given, else the project's, else the thread's; only
 * that machine's runner lists and claims it (a run with no machine: any one).
 */
export const enqueue = mutation({
  args: {
    threadDocId: v.id("threads"),
    text: v.string(),
    projectId: nullable(v.string()),
    resumeId: nullable(v.string()),
    machineId: nullable(v.string()),
  },
  returns: v.object({
    runId: v.id("runs"),
    messageId: v.id("messages"),
    machineId: v.union(v.string(), v.null()),
  }),
  handler: async (ctx, args) => {
    const thread = await ctx.db.get(args.threadDocId);
    if (thread === null) {
      fail("UnknownThread", `Unknown thread ${args.threadDocId}`, { threadId: args.threadDocId });
    }
    const messageId =
      (await recentUnsentCopy(ctx, thread, args.text)) ??
      (await insertAppMessage(ctx, thread, { role: "user", kind: "message", text: args.text }));
    if (args.projectId && !thread.projectId) {
      await ctx.db.patch(thread._id, { projectId: args.projectId });
    }
    // A linked thread resumes its own Codex session unless told otherwise.
    const linked = thread.threadId !== thread._id ? thread.threadId : undefined;
    const resumeId = args.resumeId ?? linked;
    const projectId = args.projectId ?? thread.projectId;
    const project = projectId ? await projectById(ctx, projectId, thread.machineId) : null;
    const machineId = args.machineId ?? project?.machineId ?? thread.machineId ?? null;
    const now = Date.now();
    const runId = await ctx.db.insert("runs", {
      ...(machineId ? { machineId } : {}),
      threadDocId: args.threadDocId,
      text: args.text,
      ...(args.projectId ? { projectId: args.projectId } : {}),
      ...(resumeId ? { resumeId } : {}),
      status: "pending",
      messageId,
      createdAt: now,
      updatedAt: now,
    });
    return { runId, messageId, machineId };
  },
});

/** Pending runs `machineId` may take, oldest first: its own, then those with no machine. */
async function pendingFor(ctx: QueryCtx, machineId: string | null | undefined, limit: number) {
  if (!machineId) {
    return await ctx.db
      .query("runs")
      .withIndex("by_status", (q) => q.eq("status", "pending"))
      .take(limit);
  }
  const own = await ctx.db
    .query("runs")
    .withIndex("by_machine_status", (q) => q.eq("machineId", machineId).eq("status", "pending"))
    .take(limit);
  const anyone = await ctx.db
    .query("runs")
    .withIndex("by_machine_status", (q) => q.eq("machineId", undefined).eq("status", "pending"))
    .take(limit);
  return [...own, ...anyone].sort((a, b) => a.createdAt - b.createdAt).slice(0, limit);
}

/**
 * Claim a given pending run, or the oldest one `machineId` may take. Null
 * when none is pending, or when the run belongs to another machine.
 */
export const claim = mutation({
  args: { workerId: v.string(), runId: v.optional(v.id("runs")), machineId: nullable(v.string()) },
  returns: v.union(runDoc, v.null()),
  handler: async (ctx, { workerId, runId, machineId }) => {
    const run = runId ? await ctx.db.get(runId) : ((await pendingFor(ctx, machineId, 1))[0] ?? null);
    if (run !== null && run.machineId && machineId && run.machineId !== machineId) {
      return null; // another desktop's run: its disk has the project, this one may not
    }
    if (run === null || run.status !== "pending") {
      // Idempotent retry by the same worker returns its claim.
      return run !== null && run.status === "claimed" && run.workerId === workerId ? run : null;
    }
    const now = Date.now();
    await ctx.db.patch(run._id, { status: "claimed", workerId, claimedAt: now, updatedAt: now });
    return await ctx.db.get(run._id);
  },
});

/**
 * Progress: `status: "running"`, the child's pid, and the Codex session id
 * once seen. The session id links a new app thread to its rollout thread.
 */
export const update = mutation({
  args: {
    runId: v.id("runs"),
    status: v.optional(runStatus),
    pid: nullable(v.number()),
    codexThreadId: nullable(v.string()),
  },
  returns: v.union(runDoc, v.null()),
  handler: async (ctx, { runId, status, pid, codexThreadId }) => {
    const run = await getRun(ctx, runId);
    const patch: Partial<Doc<"runs">> = {};
    if (status !== undefined && checkTransition(run, status)) patch.status = status;
    if (pid !== null && pid !== undefined && pid !== run.pid) patch.pid = pid;
    if (codexThreadId && codexThreadId !== run.codexThreadId) {
      patch.codexThreadId = codexThreadId;
      await linkThread(ctx, run.threadDocId, codexThreadId);
    }
    if (Object.keys(patch).length > 0) {
      await ctx.db.patch(runId, { ...patch, updatedAt: Date.now() });
    }
    return await ctx.db.get(runId);
  },
});

export const finish = mutation({
  args: {
    runId: v.id("runs"),
    status: v.union(v.literal("done"), v.literal("failed"), v.literal("interrupted")),
    exitCode: nullable(v.number()),
    error: nullable(v.string()),
  },
  returns: v.union(runDoc, v.null()),
  handler: async (ctx, { runId, status, exitCode, error }) => {
    const run = await getRun(ctx, runId);
    if (checkTransition(run, status)) {
      const now = Date.now();
      await ctx.db.patch(runId, {
        status,
        ...(exitCode !== null && exitCode !== undefined ? { exitCode } : {}),
        ...(error ? { error } : {}),
        finishedAt: now,
        updatedAt: now,
      });
    }
    return await ctx.db.get(runId);
  },
});

/** Pending runs, oldest first; with `machineId` only the ones that machine may run. */
export const listPending = query({
  args: { limit: nullable(v.number()), machineId: nullable(v.string()) },
  returns: v.array(runDoc),
  handler: async (ctx, { limit, machineId }) =>
    await pendingFor(ctx, machineId, Math.max(1, Math.min(500, limit ?? 50))),
});

export const byId = query({
  args: { id: v.id("runs") },
  returns: v.union(runDoc, v.null()),
  handler: async (ctx, { id }) => await ctx.db.get(id),
});

export const forThread = query({
  args: { threadDocId: v.id("threads"), limit: nullable(v.number()) },
  returns: v.array(runDoc),
  handler: async (ctx, { threadDocId, limit }) =>
    await ctx.db
      .query("runs")
      .withIndex("by_thread", (q) => q.eq("threadDocId", threadDocId))
      .order("desc")
      .take(Math.max(1, Math.min(500, limit ?? 50))),
});

export { TERMINAL as TERMINAL_RUN_STATUSES };

/**
 * The OpenAgents desktop app writes the user message with messages:create and then
 * calls runs:enqueue: reuse that copy (pending, same text, under a minute
 * old, no run yet) instead of showing the message twice.
 */
async function recentUnsentCopy(ctx: MutationCtx, thread: Doc<"threads">, text: string) {
  const pending = await ctx.db
    .query("messages")
    .withIndex("by_thread_pending", (q) => q.eq("threadId", thread.threadId).eq("pending", true))
    .order("desc")
    .take(20);
  const runs = await ctx.db
    .query("runs")
    .withIndex("by_thread", (q) => q.eq("threadDocId", thread._id))
    .order("desc")
    .take(20);
  const taken = new Set(runs.map((r) => r.messageId));
  const copy = pending.find(
    (m) =>
      m.role === "user" &&
      !taken.has(m._id) &&
      Date.now() - m._creationTime < 60_000 &&
      normalizeText(m.text) === normalizeText(text),
  );
  return copy?._id ?? null;
}

/**
 * Give a new app thread (threadId == its own _id) the Codex session id. If the
 * rollout won the race and a thread with that id exists, merge it into the
 * app's document (the app holds its _id) and drop app copies of user
 * messages the rollout already stored.
 */
async function linkThread(ctx: MutationCtx, threadDocId: Id<"threads">, codexThreadId: string) {
  const app = await ctx.db.get(threadDocId);
  if (app === null || app.threadId === codexThreadId || app.threadId !== app._id) return;
  const mine = await ctx.db
    .query("messages")
    .withIndex("by_thread_seq", (q) => q.eq("threadId", app.threadId))
    .take(1000);
  const other = await threadByThreadId(ctx, codexThreadId);
  if (other === null) {
    for (const m of mine) await ctx.db.patch(m._id, { threadId: codexThreadId });
    await ctx.db.patch(app._id, { threadId: codexThreadId });
    return;
  }
  const rolloutUsers = (
    await ctx.db
      .query("messages")
      .withIndex("by_thread_seq", (q) => q.eq("threadId", codexThreadId))
      .take(4000)
  ).filter((m) => m.role === "user" && m.kind === "message");
  const used = new Set<string>();
  let dropped = 0;
  for (const m of mine) {
    const twin = m.pending
      ? rolloutUsers.find((r) => !used.has(r._id) && normalizeText(r.text) === normalizeText(m.text))
      : undefined;
    if (twin !== undefined) {
      used.add(twin._id);
      await ctx.db.delete(m._id);
      dropped += 1;
    } else {
      await ctx.db.patch(m._id, { threadId: codexThreadId });
    }
  }
  const { _id, _creationTime, createdBy, projectId, messageCount, ...rollout } = other;
  await ctx.db.patch(app._id, {
    ...rollout,
    threadId: codexThreadId,
    projectId: app.projectId ?? projectId,
    messageCount: app.messageCount - dropped + messageCount,
    lastSeq: Math.max(app.lastSeq, other.lastSeq),
    lastActivityAt: Math.max(app.lastActivityAt, other.lastActivityAt),
  });
  await ctx.db.delete(other._id);
}
