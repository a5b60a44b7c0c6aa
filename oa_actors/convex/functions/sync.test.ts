import { describe, expect, test } from "vitest";
import { api } from "./_generated/api";
import { expectError, messageRow, newTest, threadRow } from "./test.setup";

describe("sync:applyBatch", () => {
  test("a replayed batch changes nothing", async () => {
    const t = newTest();
    const batch = {
      threads: [threadRow("s1")],
      messages: [messageRow("s1", 0, { role: "user", text: "do it" }), messageRow("s1", 1)],
    };
    expect(await t.mutation(api.sync.applyBatch, batch)).toMatchObject({
      threadsInserted: 1,
      messagesInserted: 2,
    });
    const before = await t.run(async (ctx) => ({
      threads: await ctx.db.query("threads").collect(),
      messages: await ctx.db.query("messages").collect(),
    }));
    expect(await t.mutation(api.sync.applyBatch, batch)).toEqual({
      threadsInserted: 0,
      threadsUpdated: 0,
      threadsUnchanged: 1,
      messagesInserted: 0,
      messagesReconciled: 0,
      messagesUnchanged: 2,
    });
    const after = await t.run(async (ctx) => ({
      threads: await ctx.db.query("threads").collect(),
      messages: await ctx.db.query("messages").collect(),
    }));
    expect(after).toEqual(before);
    expect(await t.query(api.messages.countForThread, { threadId: "s1" })).toBe(2);
  });

  test("messages before their thread row create a stub thread", async () => {
    const t = newTest();
    await t.mutation(api.sync.applyBatch, { messages: [messageRow("s2", 0)] });
    expect(await t.query(api.threads.byThreadId, { threadId: "s2" })).toMatchObject({
      messageCount: 1,
      source: "codex",
    });
    await t.mutation(api.sync.applyBatch, { threads: [threadRow("s2", { title: "T" })] });
    expect((await t.query(api.threads.byThreadId, { threadId: "s2" })).title).toBe("T");
  });

  test("reconciliation: the app's optimistic user message and its rollout twin show once", async () => {
    const t = newTest();
    await t.mutation(api.sync.applyBatch, { threads: [threadRow("s1")], messages: [messageRow("s1", 0)] });
    const thread = await t.query(api.threads.byThreadId, { threadId: "s1" });
    const { messageId } = await t.mutation(api.runs.enqueue, { threadDocId: thread._id, text: "  fix   the bug " });
    const rollout = messageRow("s1", 1, { role: "user", text: "fix the bug", turnId: "t1" });
    const res = await t.mutation(api.sync.applyBatch, { messages: [rollout, messageRow("s1", 2)] });
    expect(res).toMatchObject({ messagesReconciled: 1, messagesInserted: 1 });
    const msgs = await t.query(api.messages.forThread, { threadId: "s1" });
    expect(msgs.map((m: any) => [m.seq, m.role])).toEqual([[0, "assistant"], [1, "user"], [2, "assistant"]]);
    const adopted = await t.query(api.messages.byId, { id: messageId });
    expect(adopted).toMatchObject({ key: rollout.key, seq: 1, turnId: "t1", origin: "app" });
    expect(adopted.pending).toBeUndefined();
    expect(await t.query(api.messages.countForThread, { threadId: "s1" })).toBe(3);
    // Replaying the batch neither re-adopts nor inserts.
    expect(await t.mutation(api.sync.applyBatch, { messages: [rollout] })).toMatchObject({ messagesUnchanged: 1 });
    // The same text typed again later is a new message, not the adopted one.
    await t.mutation(api.sync.applyBatch, { messages: [messageRow("s1", 3, { role: "user", text: "fix the bug" })] });
    expect(await t.query(api.messages.countForThread, { threadId: "s1" })).toBe(4);
  });

  test("an oversized row is rejected and nothing in its batch is written", async () => {
    const t = newTest();
    const huge = messageRow("s1", 1, { text: "x".repeat(1_100_000) });
    const data = await expectError(
      t.mutation(api.sync.applyBatch, { threads: [threadRow("s1")], messages: [messageRow("s1", 0), huge] }),
      "DocumentTooLarge",
    );
    expect(data).toMatchObject({ table: "messages", key: huge.key, limit: 1_000_000 });
    expect(data.bytes).toBeGreaterThan(1_100_000);
    expect(data.message).toMatch(/truncate/);
    expect(await t.query(api.threads.byThreadId, { threadId: "s1" })).toBeNull();
    // The writer's truncated form fits.
    const cut = messageRow("s1", 1, { text: "x".repeat(100_000), data: { truncated: true } });
    await t.mutation(api.sync.applyBatch, { messages: [cut] });
    expect(await t.query(api.messages.countForThread, { threadId: "s1" })).toBe(1);
  });

  test("a batch over the per-mutation row limit is refused before writing", async () => {
    const t = newTest();
    const messages = Array.from({ length: 1501 }, (_, i) => messageRow("s1", i, { text: "" }));
    const rows = await expectError(t.mutation(api.sync.applyBatch, { messages }), "BatchTooLarge");
    expect(rows).toMatchObject({ rows: 1501, limit: 1500 });
    // 12 MiB of rows in fewer than 1,500 documents: refused by size, before writing.
    const fat = Array.from({ length: 14 }, (_, i) => messageRow("s1", i, { text: "y".repeat(950_000) }));
    const bytes = await expectError(t.mutation(api.sync.applyBatch, { messages: fat }), "BatchTooLarge");
    expect(bytes.bytes).toBeGreaterThan(12 * 1024 * 1024);
    expect(await t.query(api.threads.byThreadId, { threadId: "s1" })).toBeNull();
  });

  test("a full batch of user messages stays within Convex's read/write limits", async () => {
    // newTest() enforces Convex's transaction limits (4,096 index reads, 16,000 writes).
    const t = newTest();
    const messages = Array.from({ length: 1499 }, (_, i) => messageRow("big", i, { role: "user" }));
    expect(await t.mutation(api.sync.applyBatch, { threads: [threadRow("big")], messages })).toMatchObject({
      messagesInserted: 1499,
    });
    expect(await t.query(api.threads.listWithCounts, {})).toMatchObject([{ count: 1499 }]);
  });
});

describe("sync:applyProjects / applySkills", () => {
  const project = (id: string, over = {}) => ({
    id, name: id.toUpperCase(), workingDir: `/w/${id}`, description: null, repo: null,
    agentFile: null, instructions: null, approvals: null, model: null, sandbox: null,
    createdAt: 1, updatedAt: 2, ...over,
  });
  const skill = (skillId: string, source: "user" | "project", projectId: string | null = null) => ({
    skillId, name: skillId, description: "d", license: null, allowedTools: null, metadata: null,
    source, projectId, path: null, createdAt: 1, updatedAt: 1,
  });

  test("projects: upserts and removals, replay-safe", async () => {
    const t = newTest();
    const batch = { upserts: [project("a"), project("b")], removeIds: ["zzz"] };
    expect(await t.mutation(api.sync.applyProjects, batch)).toEqual({ inserted: 2, updated: 0, unchanged: 0, removed: 0 });
    expect(await t.mutation(api.sync.applyProjects, batch)).toEqual({ inserted: 0, updated: 0, unchanged: 2, removed: 0 });
    expect(await t.mutation(api.sync.applyProjects, { removeIds: ["a"] })).toMatchObject({ removed: 1 });
    expect((await t.query(api.projects.list, {})).map((p: any) => p.id)).toEqual(["b"]);
    const tooMany = Array.from({ length: 1501 }, (_, i) => `p${i}`);
    await expectError(t.mutation(api.sync.applyProjects, { removeIds: tooMany }), "BatchTooLarge");
  });

  test("skills: scopes prune what left the disk", async () => {
    const t = newTest();
    await t.mutation(api.sync.applySkills, {
      upserts: [skill("s1", "user"), skill("s2", "user"), skill("p1", "project", "proj")],
    });
    const res = await t.mutation(api.sync.applySkills, {
      upserts: [skill("s1", "user")],
      scopes: [{ source: "user", projectId: null, keepSkillIds: ["s1"] }],
    });
    expect(res).toEqual({ inserted: 0, updated: 0, unchanged: 1, removed: 1 });
    expect((await t.query(api.skills.listAll, {})).map((s: any) => s.skillId).sort()).toEqual(["p1", "s1"]);
    const big = skill("big", "user");
    const huge = { ...big, metadata: { blob: "z".repeat(1_100_000) } };
    const data = await expectError(t.mutation(api.sync.applySkills, { upserts: [huge] }), "DocumentTooLarge");
    expect(data).toMatchObject({ table: "skills", key: "big" });
  });
});

describe("replays compare values, not key order", () => {
  test("a thread row with nested objects in another key order is unchanged", async () => {
    const t = newTest();
    await t.mutation(api.sync.applyBatch, { threads: [threadRow("s1", { git: { repo: "r", branch: "b", commit: "c" } })] });
    const res = await t.mutation(api.sync.applyBatch, {
      threads: [threadRow("s1", { git: { commit: "c", branch: "b", repo: "r" } })],
    });
    expect(res).toMatchObject({ threadsUnchanged: 1, threadsUpdated: 0 });
  });
});
