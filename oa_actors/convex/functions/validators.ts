/**
 * Shared validators for every table and every function argument.
 *
 * One module so that the schema, the function `args` and the Python writer's
 * contract (docs/rows.md, docs/convex.md) cannot drift apart: a field is
 * declared once here and reused everywhere.
 */
import { v, type PropertyValidators, type Validator } from "convex/values";

/**
 * The Python writer sends `null` for absent values (docs/rows.md) while
 * TypeScript callers usually omit them. Accept both.
 */
export function nullable<T extends Validator<any, "required", any>>(inner: T) {
  return v.optional(v.union(v.null(), inner));
}

/** Convex's per-document limit is 1 MiB; keep a margin for its own encoding. */
export const MAX_DOCUMENT_BYTES = 1_000_000;
/**
 * Rows per batch mutation. Bounded by Convex's 4,096 index reads per
 * mutation more than by its 16,000 writes: a message costs up to two reads
 * (its key, and for a user message the pending twin), a thread row two.
 */
export const MAX_BATCH_ROWS = 1_500;
/**
 * Row bytes per batch mutation: Convex writes at most 16 MiB per mutation;
 * keep room for the thread documents each message batch also patches.
 */
export const MAX_BATCH_BYTES = 12 * 1024 * 1024;

export const threadSource = v.union(
  v.literal("codex"),
  v.literal("claude"),
  v.literal("app"),
);

export const gitInfo = v.object({
  commit: nullable(v.string()),
  branch: nullable(v.string()),
  repo: nullable(v.string()),
});

export const usage = v.object({
  inputTokens: nullable(v.number()),
  cachedInputTokens: nullable(v.number()),
  outputTokens: nullable(v.number()),
  reasoningOutputTokens: nullable(v.number()),
  totalTokens: nullable(v.number()),
});

/**
 * The installation a row lives on (docs/convex.md, "Several desktops"): its
 * stable id and its name. Absent on rows written before machines existed.
 */
export const machineFields = {
  machineId: nullable(v.string()),
  machineName: nullable(v.string()),
};

/** A thread row exactly as docs/rows.md defines it (what the writer sends). */
export const threadRowFields = {
  ...machineFields,
  threadId: v.string(),
  source: threadSource,
  rolloutPath: nullable(v.string()),
  title: nullable(v.string()),
  cwd: nullable(v.string()),
  model: nullable(v.string()),
  cliVersion: nullable(v.string()),
  git: nullable(gitInfo),
  parentThreadId: nullable(v.string()),
  createdAt: nullable(v.number()),
  updatedAt: nullable(v.number()),
  usage: nullable(usage),
};
export const threadRow = v.object(threadRowFields);

/** Fields only the apps and the functions themselves write. */
export const threadAppFields = {
  /** App-created thread ("app") vs. one first seen in a rollout. */
  createdBy: v.optional(v.union(v.literal("app"), v.literal("rollout"))),
  projectId: nullable(v.string()),
  /** Maintained by every message insert/delete: listWithCounts is O(threads). */
  messageCount: v.number(),
  /** Highest `seq` stored, so optimistic app messages sort after it. */
  lastSeq: v.number(),
  /** max(updatedAt, createdAt, message ts, app activity): the list order. */
  lastActivityAt: v.number(),
};

export const messageRole = v.union(
  v.literal("user"),
  v.literal("assistant"),
  v.literal("system"),
  v.literal("tool"),
);

/** A message row exactly as docs/rows.md defines it. */
export const messageRowFields = {
  threadId: v.string(),
  key: v.string(),
  /** An integer, or a fraction for a Claude Code row placed between two others (docs/rows.md). */
  seq: v.number(),
  ts: nullable(v.number()),
  role: messageRole,
  kind: v.string(),
  text: nullable(v.string()),
  data: nullable(v.any()),
  turnId: nullable(v.string()),
};
export const messageRow = v.object(messageRowFields);

export const messageAppFields = {
  /** "app" for the optimistic copy written by runs:enqueue / messages:create. */
  origin: v.optional(v.union(v.literal("app"), v.literal("rollout"))),
  /** true while an app-written user message waits for its rollout twin. */
  pending: v.optional(v.boolean()),
  /**
   * The thread's `source`, copied onto each message when it is written (and
   * again if the thread's row later says otherwise), so the search index can
   * filter by agent: search filters only see the document's own fields.
   */
  source: v.optional(threadSource),
};

export const projectRepo = v.object({
  provider: nullable(v.string()),
  remote: nullable(v.string()),
  url: nullable(v.string()),
  branch: nullable(v.string()),
});

export const projectRowFields = {
  ...machineFields,
  id: v.string(),
  name: v.string(),
  workingDir: v.string(),
  description: nullable(v.string()),
  repo: nullable(projectRepo),
  agentFile: nullable(v.string()),
  instructions: nullable(v.string()),
  approvals: nullable(v.string()),
  model: nullable(v.string()),
  sandbox: nullable(v.string()),
  createdAt: v.number(),
  updatedAt: v.number(),
};
export const projectRow = v.object(projectRowFields);

export const skillSource = v.union(
  v.literal("user"),
  v.literal("registry"),
  v.literal("project"),
);

export const skillRowFields = {
  skillId: v.string(),
  name: v.string(),
  description: v.string(),
  license: nullable(v.string()),
  allowedTools: nullable(v.array(v.string())),
  metadata: nullable(v.any()),
  source: skillSource,
  projectId: nullable(v.string()),
  path: nullable(v.string()),
  createdAt: v.number(),
  updatedAt: v.number(),
};
export const skillRow = v.object(skillRowFields);

export const runStatus = v.union(
  v.literal("pending"),
  v.literal("claimed"),
  v.literal("running"),
  v.literal("done"),
  v.literal("failed"),
  v.literal("interrupted"),
);

export const runFields = {
  /** The machine that runs it (the project's or the thread's); only its runner claims it. */
  machineId: nullable(v.string()),
  /** Convex `_id` of the thread document the app shows. */
  threadDocId: v.id("threads"),
  text: v.string(),
  projectId: nullable(v.string()),
  /** Codex session to resume (`codex exec resume <id>`), if any. */
  resumeId: nullable(v.string()),
  status: runStatus,
  /** The user message written optimistically with the run. */
  messageId: nullable(v.id("messages")),
  workerId: nullable(v.string()),
  /** Codex session id once the runner has seen it. */
  codexThreadId: nullable(v.string()),
  pid: nullable(v.number()),
  exitCode: nullable(v.number()),
  error: nullable(v.string()),
  createdAt: v.number(),
  updatedAt: v.number(),
  claimedAt: nullable(v.number()),
  finishedAt: nullable(v.number()),
};

/**
 * Stored documents, as the functions return them: the table's fields plus
 * Convex's system fields. Used by every function's `returns`.
 */
function document<T extends string, F extends PropertyValidators>(table: T, fields: F) {
  return v.object({ ...fields, _id: v.id(table), _creationTime: v.number() });
}
export const threadDoc = document("threads", { ...threadRowFields, ...threadAppFields });
export const messageDoc = document("messages", { ...messageRowFields, ...messageAppFields });
export const projectDoc = document("projects", projectRowFields);
export const skillDoc = document("skills", skillRowFields);
export const runDoc = document("runs", runFields);

/** What an upsert of a filesystem row did. */
export const upsertOutcome = v.union(
  v.literal("inserted"),
  v.literal("updated"),
  v.literal("unchanged"),
);

/** Counts returned by the project and skill batch mutations. */
export const fsCounts = v.object({
  inserted: v.number(),
  updated: v.number(),
  unchanged: v.number(),
  removed: v.number(),
});
