import { describe, expect, test } from "vitest";
import { api } from "./_generated/api";
import { expectError, messageRow, newTest, threadRow } from "./test.setup";

describe("runs", () => {
  test("lifecycle: enqueue, claim, running, done; repeats are no-ops", async () => {
    const t = newTest();
    const threadDocId = await t.mutation(api.threads.create, { title: "x" });
    const { runId, messageId } = await t.mutation(api.runs.enqueue, { threadDocId, text: "go", projectId: "p" });
    expect(await t.query(api.runs.byId, { id: runId })).toMatchObject({ status: "pending", messageId, projectId: "p" });
    expect(await t.query(api.runs.listPending, {})).toHaveLength(1);
    expect(await t.query(api.messages.byId, { id: messageId })).toMatchObject({ pending: true, text: "go" });

    const claimed = await t.mutation(api.runs.claim, { workerId: "w1" });
    expect(claimed).toMatchObject({ _id: runId, status: "claimed", workerId: "w1" });
    expect(await t.mutation(api.runs.claim, { workerId: "w2" })).toBeNull();
    expect(await t.mutation(api.runs.claim, { workerId: "w1", runId })).toMatchObject({ _id: runId });
    expect(await t.query(api.runs.listPending, {})).toHaveLength(0);

    await t.mutation(api.runs.update, { runId, status: "running", pid: 1234 });
    await t.mutation(api.runs.update, { runId, status: "running" });
    const done = await t.mutation(api.runs.finish, { runId, status: "done", exitCode: 0 });
    expect(done).toMatchObject({ status: "done", pid: 1234, exitCode: 0 });
    expect(done.finishedAt).toBeTypeOf("number");
    expect(await t.mutation(api.runs.finish, { runId, status: "done" })).toMatchObject({ status: "done" });
    const bad = await expectError(t.mutation(api.runs.update, { runId, status: "running" }), "InvalidRunTransition");
    expect(bad).toMatchObject({ runId, from: "done", to: "running" });
    expect(await t.query(api.runs.forThread, { threadDocId })).toHaveLength(1);
  });

  test("failed and interrupted are terminal", async () => {
    const t = newTest();
    const threadDocId = await t.mutation(api.threads.create, {});
    const a = (await t.mutation(api.runs.enqueue, { threadDocId, text: "a" })).runId;
    const b = (await t.mutation(api.runs.enqueue, { threadDocId, text: "b" })).runId;
    await t.mutation(api.runs.finish, { runId: a, status: "interrupted" });
    await t.mutation(api.runs.claim, { workerId: "w", runId: b });
    expect(await t.mutation(api.runs.finish, { runId: b, status: "failed", error: "spawn ENOENT" })).toMatchObject({
      status: "failed",
      error: "spawn ENOENT",
    });
    await expectError(t.mutation(api.runs.finish, { runId: b, status: "done" }), "InvalidRunTransition");
  });

  test("unknown runs and threads are typed errors", async () => {
    const t = newTest();
    const threadDocId = await t.mutation(api.threads.create, {});
    const { runId } = await t.mutation(api.runs.enqueue, { threadDocId, text: "a" });
    await t.run(async (ctx) => {
      await ctx.db.delete(runId);
      await ctx.db.delete(threadDocId);
    });
    expect(await t.query(api.runs.byId, { id: runId })).toBeNull();
    expect(await expectError(t.mutation(api.runs.update, { runId, pid: 1 }), "UnknownRun")).toMatchObject({ runId });
    await expectError(t.mutation(api.runs.finish, { runId, status: "failed" }), "UnknownRun");
    const thread = await expectError(t.mutation(api.runs.enqueue, { threadDocId, text: "b" }), "UnknownThread");
    expect(thread.threadId).toBe(threadDocId);
    expect(await t.mutation(api.runs.claim, { workerId: "w" })).toBeNull();
  });

  test("the session id links a new app thread; its user message reconciles", async () => {
    const t = newTest();
    const threadDocId = await t.mutation(api.threads.create, {});
    const { runId, messageId } = await t.mutation(api.runs.enqueue, { threadDocId, text: "hello" });
    await t.mutation(api.runs.claim, { workerId: "w", runId });
    await t.mutation(api.runs.update, { runId, status: "running", codexThreadId: "sess-1" });
    expect(await t.query(api.threads.byId, { id: threadDocId })).toMatchObject({ threadId: "sess-1", messageCount: 1 });
    await t.mutation(api.sync.applyBatch, {
      threads: [threadRow("sess-1")],
      messages: [messageRow("sess-1", 0, { role: "user", text: "hello" }), messageRow("sess-1", 1)],
    });
    const msgs = await t.query(api.messages.forThread, { threadId: "sess-1" });
    expect(msgs.map((m: any) => m.role)).toEqual(["user", "assistant"]);
    expect(msgs[0]._id).toBe(messageId);
    expect(await t.query(api.threads.listWithCounts, {})).toMatchObject([{ _id: threadDocId, count: 2 }]);
    // The next run resumes the linked session.
    const next = await t.mutation(api.runs.enqueue, { threadDocId, text: "more" });
    expect(await t.query(api.runs.byId, { id: next.runId })).toMatchObject({ resumeId: "sess-1" });
  });

  test("rollout first, link later: threads merge and the message shows once", async () => {
    const t = newTest();
    const threadDocId = await t.mutation(api.threads.create, {});
    const { runId } = await t.mutation(api.runs.enqueue, { threadDocId, text: "hello" });
    await t.mutation(api.sync.applyBatch, {
      threads: [threadRow("sess-2", { title: "hello" })],
      messages: [messageRow("sess-2", 0, { role: "user", text: "hello" }), messageRow("sess-2", 1)],
    });
    await t.mutation(api.runs.update, { runId, codexThreadId: "sess-2" });
    const threads = await t.query(api.threads.listWithCounts, {});
    expect(threads).toHaveLength(1);
    expect(threads[0]).toMatchObject({ _id: threadDocId, threadId: "sess-2", title: "hello", count: 2 });
    const msgs = await t.query(api.messages.forThread, { threadId: "sess-2" });
    expect(msgs.map((m: any) => m.seq)).toEqual([0, 1]);
  });

  test("enqueue after messages:create (the desktop app's flow) shows the message once", async () => {
    const t = newTest();
    const threadDocId = await t.mutation(api.threads.create, {});
    const created = await t.mutation(api.messages.create, { threadId: threadDocId, role: "user", text: "ship it" });
    const { messageId } = await t.mutation(api.runs.enqueue, { threadDocId, text: "ship it" });
    expect(messageId).toBe(created);
    expect(await t.query(api.messages.countForThread, { threadId: threadDocId })).toBe(1);
    // A second send of the same text is a new message.
    const again = await t.mutation(api.runs.enqueue, { threadDocId, text: "ship it" });
    expect(again.messageId).not.toBe(created);
  });
});
