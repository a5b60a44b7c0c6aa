/**
 * Convex tables for oa-supervisor. They mirror the normalized rows of
 * docs/rows.md (threads, messages) and docs/convex.md (projects, skills, runs).
 * Every table has a validator; null sent by the Python writer is stored as an
 * absent field (see lib.ts `stripNulls`), so index lookups on optional fields
 * use `undefined` only.
 */
import { defineSchema, defineTable } from "convex/server";
import { embeddingFields, EMBEDDING_DIMENSIONS } from "./embeddingFields";
import {
  messageAppFields,
  messageRowFields,
  projectRowFields,
  runFields,
  skillRowFields,
  threadAppFields,
  threadRowFields,
} from "./validators";

export default defineSchema({
  /**
   * threads: written by the Python `convex_writer` (sync:applyBatch,
   * threads:upsertFromStream) and by the apps (threads:create, runs:enqueue);
   * read by the apps (threads:list/listWithCounts/byId) and by `codex_runner`
   * (runs). `messageCount` is maintained by every mutation that inserts or
   * deletes a message, so listing with counts never scans messages.
   */
  threads: defineTable({ ...threadRowFields, ...threadAppFields })
    .index("by_threadId", ["threadId"])
    .index("by_lastActivity", ["lastActivityAt"]),

  /**
   * messages: written by `convex_writer` (sync:applyBatch, inserted once by
   * `key`) and optimistically by the apps (runs:enqueue, messages:create);
   * read by the apps (messages:forThread, countForThread, search). Ordered by
   * `seq`. `search_text` is Convex full-text search over `text` (messages:search),
   * filterable by thread, agent (`source`, copied from the thread), role and kind.
   */
  messages: defineTable({ ...messageRowFields, ...messageAppFields })
    .index("by_key", ["key"])
    .index("by_thread_seq", ["threadId", "seq"])
    .index("by_thread_pending", ["threadId", "pending"])
    // usage:summary reads the token usage rows (kind "usage") without a scan.
    .index("by_kind_ts", ["kind", "ts"])
    .searchIndex("search_text", {
      searchField: "text",
      filterFields: ["threadId", "source", "role", "kind"],
    }),

  /**
   * projects: written by `fs_syncer` through the writer (projects:upsertFromFs,
   * projects:remove, sync:applyProjects) from ~/.openagents/projects, which is
   * canonical; read by the apps (projects:list/byId) and `codex_runner`.
   */
  projects: defineTable(projectRowFields).index("by_projectId", ["id", "machineId"]),

  /**
   * skills: written by `fs_syncer` through the writer (skills:upsertFromFs,
   * bulkUpsertFromFs, removeByScope, sync:applySkills); read by the apps
   * (skills:listAll/listByScope). Unique per (source, projectId, skillId).
   */
  skills: defineTable(skillRowFields)
    .index("by_scope", ["source", "projectId", "skillId"])
    .index("by_skillId", ["skillId"]),

  /**
   * runs: created by the apps (runs:enqueue), claimed and advanced by
   * `codex_runner` (runs:claim/update/finish), read by both
   * (runs:listPending/byId/forThread).
   */
  runs: defineTable(runFields)
    .index("by_status", ["status", "createdAt"])
    .index("by_machine_status", ["machineId", "status", "createdAt"])
    .index("by_thread", ["threadDocId", "createdAt"]),

  /**
   * embeddings: one per embedded chunk of a message (all-MiniLM-L6-v2, 384
   * floats, unit length; docs/semantic.md). Written by `convex_writer` from the
   * local store's outbox (embeddings:applyBatch, once per `key` + `chunk`);
   * read by the apps through the embeddings:search action (vector search, the
   * query vector made by the caller with the same model), optionally within
   * one thread.
   */
  embeddings: defineTable(embeddingFields)
    .index("by_key_chunk", ["key", "chunk"])
    .vectorIndex("by_vector", {
      vectorField: "vector",
      dimensions: EMBEDDING_DIMENSIONS,
      filterFields: ["threadId", "model"],
    }),
});
